// The redis: and nats: sinks' config (errors name file:line and key) and the stream/subject templates.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <fstream>

#include "daemon/config.h"
#include "daemon/sink_bus.h"
#include "daemon/sink_template.h"
#include "daemon/temp_dir.h"

namespace alipaymsg::daemon {
namespace {

namespace fs = std::filesystem;

// ---- templates --------------------------------------------------------------------------------

TEST(SinkTemplateTest, ExpandsAppIdAndMsgApiAnywhereAndLeavesTheRest) {
  EXPECT_EQ(ExpandTemplate("alipay:{msg_api}", "2021", "alipay.open.mini.version.audit.passed"),
            "alipay:alipay.open.mini.version.audit.passed");
  EXPECT_EQ(ExpandTemplate("alipay.{app_id}.{msg_api}", "2021000000000001", "alipay.trade.refund"),
            "alipay.2021000000000001.alipay.trade.refund");
  EXPECT_EQ(ExpandTemplate("{app_id}{app_id}-x-{msg_api}", "1", "a.b"), "11-x-a.b");
  EXPECT_EQ(ExpandTemplate("fixed", "1", "a.b"), "fixed");
  EXPECT_EQ(ExpandTemplate("{app_i", "1", "a"), "{app_i");
}

TEST(SinkTemplateTest, RejectsUnknownUnclosedAndStrayBraces) {
  EXPECT_EQ(TemplateProblem("alipay:{msg_api}"), std::nullopt);
  EXPECT_EQ(TemplateProblem(""), "is empty");
  EXPECT_EQ(TemplateProblem("a:{msgApi}"), "unknown placeholder {msgApi} (known: {app_id}, {msg_api})");
  EXPECT_EQ(TemplateProblem("a:{app_id"), "has an unclosed {");
  EXPECT_EQ(TemplateProblem("a}:{app_id}"), "has a } that closes no placeholder");
}

TEST(SinkTemplateTest, NatsSubjectsPlaceholdersAreWholeTokensAndTheFilterCoversEveryExpansion) {
  EXPECT_EQ(NatsSubjectTemplateProblem("alipay.{app_id}.{msg_api}"), std::nullopt);
  EXPECT_EQ(NatsSubjectTemplateProblem("alipay.{msg_api}.events"), std::nullopt);
  EXPECT_EQ(NatsSubjectTemplateProblem("{app_id}.x"),
            "must start with a literal token (\"alipay.{msg_api}\"), which names the stream's subjects");
  EXPECT_TRUE(NatsSubjectTemplateProblem("alipay.app-{app_id}").has_value());
  EXPECT_TRUE(NatsSubjectTemplateProblem("alipay..{msg_api}").has_value());
  EXPECT_TRUE(NatsSubjectTemplateProblem("alipay.*").has_value());
  EXPECT_TRUE(NatsSubjectTemplateProblem("alipay.>").has_value());
  EXPECT_TRUE(NatsSubjectTemplateProblem("ali pay.{msg_api}").has_value());

  EXPECT_EQ(NatsSubjectFilter("alipay.{app_id}.{msg_api}"), "alipay.>");
  EXPECT_EQ(NatsSubjectFilter("corp.alipay.{msg_api}.events"), "corp.alipay.>");
  EXPECT_EQ(NatsSubjectFilter("alipay.all"), "alipay.all");

  // {msg_api} brings its dots: several tokens, a valid subject.
  EXPECT_EQ(NatsSubjectProblem(ExpandTemplate("alipay.{app_id}.{msg_api}", "2021", "alipay.trade.refund")), std::nullopt);
  // A msgApi is input: one that would make a wildcard or an empty token is refused at publish time.
  EXPECT_TRUE(NatsSubjectProblem("alipay.1.a..b").has_value());
  EXPECT_TRUE(NatsSubjectProblem("alipay.1.a.*").has_value());
  EXPECT_TRUE(NatsSubjectProblem("alipay.1.a b").has_value());
  EXPECT_TRUE(NatsSubjectProblem("alipay.1.a.").has_value());
}

TEST(SinkTemplateTest, BusUrls) {
  std::string why;
  auto redis = ParseBusUrl("redis://127.0.0.1:6380/2", "redis", why);
  ASSERT_TRUE(redis) << why;
  EXPECT_EQ(redis->host, "127.0.0.1");
  EXPECT_EQ(redis->port, 6380);
  EXPECT_EQ(redis->db, 2);
  redis = ParseBusUrl("redis://cache", "redis", why);
  ASSERT_TRUE(redis) << why;
  EXPECT_EQ(redis->ToString(), "redis://cache:6379/0");
  auto nats = ParseBusUrl("tls://[::1]:4223", "nats", why);
  ASSERT_TRUE(nats) << why;
  EXPECT_EQ(nats->ToString(), "tls://[::1]:4223");
  EXPECT_FALSE(ParseBusUrl("rediss://h:6379", "redis", why));
  EXPECT_NE(why.find("hiredis 0.14 has no TLS"), std::string::npos) << why;
  EXPECT_FALSE(ParseBusUrl("redis://:secret@h:6379", "redis", why));
  EXPECT_NE(why.find("no user or password in the URL"), std::string::npos) << why;
  EXPECT_EQ(why.find("secret"), std::string::npos) << why;
  EXPECT_FALSE(ParseBusUrl("redis://h:0", "redis", why));
  EXPECT_FALSE(ParseBusUrl("redis://h/x", "redis", why));
  EXPECT_FALSE(ParseBusUrl("nats://h:4222/x", "nats", why));
  EXPECT_FALSE(ParseBusUrl("http://h:4222", "nats", why));
  EXPECT_FALSE(ParseBusUrl("nats://a:1,nats://b:2", "nats", why));
}

// ---- reconnect gate ---------------------------------------------------------------------------

TEST(ReconnectGateTest, FreeWhileHealthyOneAttemptPerBackoffAfterAFailure) {
  ReconnectGate gate;
  // Healthy: every caller may open a connection (a pool fills at once).
  EXPECT_EQ(gate.Blocked(), std::nullopt);
  EXPECT_EQ(gate.Blocked(), std::nullopt);
  gate.Failed("redis://h:1/0: Connection refused");
  // Failing: fail fast with the last error until the backoff has passed ...
  auto blocked = gate.Blocked();
  ASSERT_TRUE(blocked.has_value());
  EXPECT_TRUE(blocked->starts_with("redis://h:1/0: Connection refused (next connection attempt in ")) << *blocked;
  // ... then exactly one caller gets the attempt, the others still fail fast.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::optional<std::string> opened = blocked;
  while (opened && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    opened = gate.Blocked();
  }
  EXPECT_EQ(opened, std::nullopt) << "the gate never opened after a failure";
  EXPECT_TRUE(gate.Blocked().has_value());
  gate.Succeeded();
  EXPECT_EQ(gate.Blocked(), std::nullopt);
  EXPECT_EQ(gate.Blocked(), std::nullopt);
}

// ---- config -----------------------------------------------------------------------------------

class BusSinkConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_.path();
    ASSERT_FALSE(dir_.empty());
    for (const char* f : {"keys/app_private.pem", "keys/alipay_public.pem", "secrets/redis.pw", "secrets/app.creds"}) {
      fs::create_directories(fs::path(dir_ + "/" + f).parent_path());
      std::ofstream(dir_ + "/" + f) << "x\n";
    }
    path_ = dir_ + "/config.yaml";
  }
  // The app block (4 lines), then "sinks:" on line 5 and `sinks` from line 6.
  Result<DaemonConfig> Parse(const std::string& sinks, const Environment& env = {}) {
    return ParseDaemonConfig(
        "alipay:\n  app-id: \"1\"\n  app-private-key-path: keys/app_private.pem\n"
        "  alipay-public-key-path: keys/alipay_public.pem\nsinks:\n" + sinks,
        path_, env);
  }
  std::string ErrorOf(const std::string& sinks) {
    auto config = Parse(sinks);
    EXPECT_FALSE(config.ok()) << "parsed, but should not have:\n" << sinks;
    return config.ok() ? "" : config.status().message();
  }
  std::string At(int line) const { return path_ + ":" + std::to_string(line) + ": "; }

  daemon_test::TempDir temp_{"daemon-bus-config"};
  std::string dir_, path_;
};

TEST_F(BusSinkConfigTest, RedisAndNatsSinksParseWithTheirDefaults) {
  auto config = Parse(
      "  - match: \"alipay.open.*\"\n"
      "    redis: {url: \"redis://127.0.0.1:6379/1\", stream: \"alipay:{msg_api}\", maxlen: \"~100000\",\n"
      "            password-file: secrets/redis.pw}\n"
      "    concurrency: 2\n"
      "  - match: \"*\"\n"
      "    nats:\n"
      "      url: nats://127.0.0.1:4222\n"
      "      subject: \"alipay.{app_id}.{msg_api}\"\n"
      "      stream: ALIPAY\n"
      "      creds-file: secrets/app.creds\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->sinks.size(), 2u);
  const SinkConfig& redis = config->sinks[0];
  EXPECT_EQ(redis.kind, SinkConfig::Kind::kRedis);
  EXPECT_EQ(redis.bus.url, "redis://127.0.0.1:6379/1");
  EXPECT_EQ(redis.bus.target, "alipay:{msg_api}");
  EXPECT_EQ(redis.bus.maxlen, 100000);
  EXPECT_TRUE(redis.bus.maxlen_approximate);
  EXPECT_EQ(redis.bus.dedup_ttl_s, 7 * 24 * 3600);
  EXPECT_EQ(redis.bus.password_file, (fs::path(dir_) / "secrets/redis.pw").string());
  EXPECT_EQ(redis.concurrency, 2);
  EXPECT_EQ(redis.sources.at("url").ToString(), At(7) + "sinks[0].redis.url");
  const SinkConfig& nats = config->sinks[1];
  EXPECT_EQ(nats.kind, SinkConfig::Kind::kNats);
  EXPECT_EQ(nats.bus.target, "alipay.{app_id}.{msg_api}");
  EXPECT_EQ(nats.bus.nats_stream, "ALIPAY");
  EXPECT_EQ(nats.bus.duplicate_window_s, 120);
  EXPECT_FALSE(nats.bus.tls);
  EXPECT_EQ(nats.bus.creds_file, (fs::path(dir_) / "secrets/app.creds").string());
  EXPECT_EQ(nats.sources.at("stream").ToString(), At(14) + "sinks[1].nats.stream");
}

TEST_F(BusSinkConfigTest, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    redis: redis://h\n"),
            At(7) + "sinks[0].redis: expected a map (url: redis://host:6379/0, stream: ...)");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    redis: {url: \"redis://h\"}\n"),
            At(7) + "sinks[0].redis: missing stream (\"alipay:{msg_api}\")");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    redis:\n      url: rediss://h:6380\n      stream: s\n"),
            At(8) + "sinks[0].redis.url: TLS (rediss://) is not supported: Debian 12's hiredis 0.14 has no TLS; "
                    "reach Redis on a local or private address, or through a TLS tunnel (stunnel, spiped)");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    redis:\n      url: redis://h\n      stream: s\n      tls: true\n"),
            At(10) + "sinks[0].redis.tls: TLS is not supported: Debian 12's hiredis 0.14 has no TLS; reach Redis "
                     "on a local or private address, or through a TLS tunnel (stunnel, spiped)");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    redis:\n      url: redis://h\n      stream: \"a:{msgApi}\"\n"),
            At(9) + "sinks[0].redis.stream: \"a:{msgApi}\" unknown placeholder {msgApi} (known: {app_id}, {msg_api})");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    redis:\n      url: redis://h\n      stream: s\n      maxlen: \"~lots\"\n"),
            At(10) + "sinks[0].redis.maxlen: \"lots\" is not a whole number");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    redis:\n      url: redis://h\n      stream: s\n      dedup-ttl-s: 60\n"),
            At(10) + "sinks[0].redis.dedup-ttl-s: 60 is out of range (3600 to 31622400)");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    redis:\n      url: redis://h\n      stream: s\n"
                    "      password-file: secrets/none\n"),
            At(10) + "sinks[0].redis.password-file: " + (fs::path(dir_) / "secrets/none").string() + ": no such file");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    redis:\n      url: redis://h\n      stream: s\n      user: app\n"),
            At(10) + "sinks[0].redis.user: needs password-file or password-env");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    nats:\n      url: nats://h\n      subject: \"alipay.{msg_api}\"\n"),
            At(7) + "sinks[0].nats: missing stream (ALIPAY)");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    nats:\n      url: nats://h\n      subject: \"{msg_api}\"\n      stream: S\n"),
            At(9) + "sinks[0].nats.subject: \"{msg_api}\" must start with a literal token (\"alipay.{msg_api}\"), "
                     "which names the stream's subjects");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    nats:\n      url: nats://h\n      subject: a.{msg_api}\n      stream: A.B\n"),
            At(10) + "sinks[0].nats.stream: \"A.B\" is not a JetStream stream name (no spaces, dots, *, >, slashes)");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    nats:\n      url: nats://h\n      subject: a.{msg_api}\n      stream: S\n"
                    "      duplicate-window-s: 30\n"),
            At(11) + "sinks[0].nats.duplicate-window-s: 30 is out of range (120 to 604800)");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    nats:\n      url: \"nats://u:pw@h\"\n      subject: a.{msg_api}\n      stream: S\n"),
            At(8) + "sinks[0].nats.url: no user or password in the URL (URLs are logged): use user: and "
                    "password-file: (or password-env:)");
  EXPECT_EQ(ErrorOf("  - match: \"*\"\n    nats: {url: \"nats://h\", subject: a.b, stream: S}\n"
                    "    redis: {url: \"redis://h\", stream: s}\n"),
            At(6) + "sinks[0]: has sinks[0].nats and sinks[0].redis; one sink does one thing (add another list item "
                    "for the second)");
}

}  // namespace
}  // namespace alipaymsg::daemon
