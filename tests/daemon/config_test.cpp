#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "daemon/config.h"
#include "daemon/temp_dir.h"

namespace alipaymsg {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_.path();
    ASSERT_FALSE(dir_.empty());
    for (const char* f : {"keys/app_private.pem", "keys/alipay_public.pem", "certs/appCertPublicKey.crt",
                          "certs/alipayCertPublicKey_RSA2.crt", "certs/alipayRootCert.crt", "certs/sim-ca.pem"}) {
      Write(f, "x");
    }
    Write("bin/hook.sh", "#!/bin/sh\nexit 0\n");
    chmod((dir_ + "/bin/hook.sh").c_str(), 0755);
    Write("bin/not-exec.sh", "#!/bin/sh\n");
    path_ = dir_ + "/config.yaml";
  }
  void Write(const std::string& rel, const std::string& text) {
    fs::create_directories(fs::path(dir_ + "/" + rel).parent_path());
    std::ofstream(dir_ + "/" + rel) << text;
  }
  Result<DaemonConfig> Parse(const std::string& yaml, const Environment& env = {}) {
    return ParseDaemonConfig(yaml, path_, env);
  }
  // The full error text of a failing parse ("" and a test failure when it parses).
  std::string ErrorOf(const std::string& yaml, const Environment& env = {}) {
    auto config = Parse(yaml, env);
    EXPECT_FALSE(config.ok()) << "parsed, but should not have:\n" << yaml;
    return config.ok() ? "" : config.status().message();
  }
  std::string At(int line) const { return path_ + ":" + std::to_string(line) + ": "; }
  std::string Abs(const std::string& rel) const { return (fs::path(dir_) / rel).lexically_normal().string(); }

  daemon_test::TempDir temp_{"daemon-config"};
  std::string dir_, path_;
};

const char* kIssueExample = R"(alipay:
  app-id: "2021000000000001"
  server-host: 127.0.0.1:18080
  ssl: true
  ca-file: certs/sim-ca.pem
  sign-type: RSA2
  charset: UTF-8
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
inbox:
  path: var/alipay-msg.db
ack: after-store
sinks:
  - match: "alipay.open.mini.*"
    exec: ["bin/hook.sh", "--flag"]
  - match: "*"
    jsonl: var/messages.jsonl
admin:
  listen: 127.0.0.1:9464
)";

TEST_F(ConfigTest, IssueExampleKeyMode) {
  auto config = Parse(kIssueExample);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->apps.size(), 1u);
  const AppConfig& app = config->apps[0];
  EXPECT_EQ(app.credentials.app_id, "2021000000000001");
  EXPECT_EQ(app.server_host, "127.0.0.1:18080");
  EXPECT_TRUE(app.ssl);
  EXPECT_EQ(app.ca_file, Abs("certs/sim-ca.pem"));
  EXPECT_EQ(app.credentials.sign_type, "RSA2");
  EXPECT_EQ(app.credentials.charset, "UTF-8");
  EXPECT_EQ(app.credentials.app_private_key_path, Abs("keys/app_private.pem"));
  EXPECT_EQ(app.credentials.alipay_public_key_path, Abs("keys/alipay_public.pem"));
  EXPECT_TRUE(app.credentials.app_cert_path.empty());
  EXPECT_FALSE(app.cert_mode());
  EXPECT_EQ(config->inbox_path, Abs("var/alipay-msg.db"));
  EXPECT_EQ(config->ack, AckMode::kAfterStore);
  ASSERT_EQ(config->sinks.size(), 2u);
  EXPECT_EQ(config->sinks[0].kind, SinkConfig::Kind::kExec);
  EXPECT_EQ(config->sinks[0].match, std::vector<std::string>{"alipay.open.mini.*"});
  EXPECT_EQ(config->sinks[0].exec_argv, (std::vector<std::string>{Abs("bin/hook.sh"), "--flag"}));
  EXPECT_EQ(config->sinks[0].line, 14);
  EXPECT_EQ(config->sinks[1].kind, SinkConfig::Kind::kJsonl);
  EXPECT_EQ(config->sinks[1].jsonl_path, Abs("var/messages.jsonl"));
  EXPECT_EQ(config->admin_host, "127.0.0.1");
  EXPECT_EQ(config->admin_port, 9464);
  EXPECT_TRUE(config->warnings.empty()) << config->warnings[0];
}

TEST_F(ConfigTest, DefaultsWhenOmitted) {
  auto config = Parse(R"(alipay:
  app-id: "2021000000000001"
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
sinks:
  - match: "*"
    jsonl: out.jsonl
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const AppConfig& app = config->apps[0];
  EXPECT_EQ(app.server_host, "openchannel.alipay.com");
  EXPECT_TRUE(app.ssl);
  EXPECT_EQ(app.credentials.sign_type, "RSA2");
  EXPECT_EQ(app.credentials.charset, "UTF-8");
  EXPECT_EQ(config->inbox_path, Abs("alipay-msg.db"));
  EXPECT_EQ(config->ack, AckMode::kAfterStore);
  EXPECT_TRUE(config->admin_host.empty());
  EXPECT_EQ(config->log.level, "info");
  EXPECT_EQ(config->retry.max_attempts, 10);
  EXPECT_EQ(config->heartbeat.ping_interval_ms, 2000);
  EXPECT_EQ(config->heartbeat.pong_timeout_ms, 10000);
}


// The article's AliPayProperties, pasted as an application.yml block (kebab-case as Spring writes it).
TEST_F(ConfigTest, SpringKebabNamesCertMode) {
  auto config = Parse(R"(alipay:
  sign-type: RSA2
  app-id: "2021000000000001"
  chart-set: utf-8
  app-cert-private-key-path: keys/app_private.pem
  app-cert-public-key-path: certs/appCertPublicKey.crt
  ali-pay-cert-public-key-path: certs/alipayCertPublicKey_RSA2.crt
  ali-pay-root-cert-path: certs/alipayRootCert.crt
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const CredentialsConfig& c = config->apps[0].credentials;
  EXPECT_EQ(c.charset, "UTF-8");
  EXPECT_EQ(c.app_private_key_path, Abs("keys/app_private.pem"));
  EXPECT_EQ(c.app_cert_path, Abs("certs/appCertPublicKey.crt"));
  EXPECT_EQ(c.alipay_cert_path, Abs("certs/alipayCertPublicKey_RSA2.crt"));
  EXPECT_EQ(c.root_cert_path, Abs("certs/alipayRootCert.crt"));
  EXPECT_TRUE(c.alipay_public_key_path.empty());
  EXPECT_TRUE(config->apps[0].cert_mode());
}

TEST_F(ConfigTest, SpringCamelCaseNames) {
  auto config = Parse(R"(alipay:
  signType: SM2
  appId: "2021000000000002"
  chartSet: GBK
  appCertPrivateKeyPath: keys/app_private.pem
  appCertPublicKeyPath: certs/appCertPublicKey.crt
  aliPayCertPublicKeyPath: certs/alipayCertPublicKey_RSA2.crt
  aliPayRootCertPath: certs/alipayRootCert.crt
  serverHost: example.test:443
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const CredentialsConfig& c = config->apps[0].credentials;
  EXPECT_EQ(c.app_id, "2021000000000002");
  EXPECT_EQ(c.sign_type, "SM2");
  EXPECT_EQ(c.charset, "GBK");
  EXPECT_EQ(c.root_cert_path, Abs("certs/alipayRootCert.crt"));
  EXPECT_EQ(config->apps[0].server_host, "example.test:443");
}

TEST_F(ConfigTest, SpringOpenApiKeysWarnNotFail) {
  auto config = Parse(R"(alipay:
  app-id: "2021000000000001"
  server-url: https://openapi.alipay.com/gateway.do
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_FALSE(config->warnings.empty());
  EXPECT_EQ(config->warnings[0], At(3) + "alipay.server-url: ignored (an OpenAPI client setting; the message "
                                         "channel does not use it)");
}

TEST_F(ConfigTest, AppsList) {
  auto config = Parse(R"(apps:
  - app-id: "1001"
    app-private-key-path: keys/app_private.pem
    alipay-public-key-path: keys/alipay_public.pem
  - appId: "1002"
    appCertPrivateKeyPath: keys/app_private.pem
    appCertPublicKeyPath: certs/appCertPublicKey.crt
    aliPayCertPublicKeyPath: certs/alipayCertPublicKey_RSA2.crt
    aliPayRootCertPath: certs/alipayRootCert.crt
    ssl: false
    server-host: 127.0.0.1:18080
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->apps.size(), 2u);
  EXPECT_EQ(config->apps[0].credentials.app_id, "1001");
  EXPECT_EQ(config->apps[0].key_name, "apps[0]");
  EXPECT_EQ(config->apps[1].credentials.app_id, "1002");
  EXPECT_TRUE(config->apps[1].cert_mode());
  EXPECT_FALSE(config->apps[1].ssl);
}

// ---- errors: each names the file, the line and the key ----

TEST_F(ConfigTest, BadSignType) {
  EXPECT_EQ(ErrorOf(R"(alipay:
  app-id: "2021000000000001"
  sign-type: RSA3
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
)"),
            At(3) + "alipay.sign-type: \"RSA3\" is not one of RSA2, RSA, SM2");
}

TEST_F(ConfigTest, SpringSpellingNamedInError) {
  EXPECT_EQ(ErrorOf(R"(alipay:
  appId: "2021000000000001"
  signType: MD5
  chartSet: latin1
  appCertPrivateKeyPath: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
)"),
            At(3) + "alipay.signType: \"MD5\" is not one of RSA2, RSA, SM2\n" + At(4) +
                "alipay.chartSet: \"latin1\" is not one of UTF-8, GBK, GB2312, GB18030");
}

TEST_F(ConfigTest, MissingKeyFile) {
  EXPECT_EQ(ErrorOf(R"(alipay:
  app-id: "2021000000000001"
  app-private-key-path: keys/nope.pem
  alipay-public-key-path: keys
)"),
            At(3) + "alipay.app-private-key-path: " + Abs("keys/nope.pem") + ": no such file\n" + At(4) +
                "alipay.alipay-public-key-path: " + Abs("keys") + ": is a directory, not a file");
}

TEST_F(ConfigTest, KeyAndCertModeConflict) {
  EXPECT_EQ(ErrorOf(R"(alipay:
  app-id: "2021000000000001"
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
  ali-pay-cert-public-key-path: certs/alipayCertPublicKey_RSA2.crt
)"),
            At(4) + "alipay.alipay-public-key-path: conflicts with alipay.ali-pay-cert-public-key-path (" +
                path_ + ":5): key mode takes alipay-public-key-path; certificate mode takes "
                        "app-cert-public-key-path, alipay-cert-public-key-path and alipay-root-cert-path "
                        "instead. Keep the keys of one mode");
}

TEST_F(ConfigTest, PartialCertMode) {
  EXPECT_EQ(ErrorOf(R"(alipay:
  app-id: "2021000000000001"
  app-cert-private-key-path: keys/app_private.pem
  app-cert-public-key-path: certs/appCertPublicKey.crt
)"),
            At(1) + "alipay: certificate mode (alipay.app-cert-public-key-path) also needs "
                    "alipay-cert-public-key-path and alipay-root-cert-path");
}

TEST_F(ConfigTest, NoModeAndNoIdAndNoPrivateKey) {
  EXPECT_EQ(ErrorOf("alipay:\n  sign-type: RSA2\n"),
            At(1) + "alipay: missing app-id (or set ALIPAY_APP_ID)\n" + At(1) +
                "alipay: missing app-private-key-path (Spring: app-cert-private-key-path)\n" + At(1) +
                "alipay: missing alipay-public-key-path (key mode), or app-cert-public-key-path, "
                "alipay-cert-public-key-path and alipay-root-cert-path (certificate mode)");
}

TEST_F(ConfigTest, TwoSpellingsOfOneKey) {
  EXPECT_EQ(ErrorOf(R"(alipay:
  app-id: "1"
  app-private-key-path: keys/app_private.pem
  appCertPrivateKeyPath: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
)"),
            At(4) + "alipay.appCertPrivateKeyPath: means the same as app-private-key-path on line 3; keep one");
}

TEST_F(ConfigTest, SameKeyTwice) {
  EXPECT_EQ(ErrorOf(R"(alipay:
  app-id: "1"
  app-id: "2"
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
)"),
            At(3) + "alipay.app-id: given twice (also on line 2)");
}

TEST_F(ConfigTest, UnknownKeysWarnWithSuggestion) {
  auto config = Parse(R"(alipay:
  app-id: "1"
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
  sign-tpye: RSA
inbx:
  path: x.db
sinks:
  - match: "*"
    jsonl: out.jsonl
    concurency: 3
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->warnings, (std::vector<std::string>{
                                  At(5) + "alipay.sign-tpye: unknown key, ignored (did you mean sign-type?)",
                                  At(6) + "inbx: unknown key, ignored (did you mean inbox?)",
                                  At(11) + "sinks[0].concurency: unknown key, ignored (did you mean concurrency?)",
                              }));
}

// The suggestion search gives up on a key as soon as it cannot be within the limit (a fuzzed
// config made it the parser's main cost); near misses of long keys are still found.
TEST_F(ConfigTest, SuggestionsStopAtTheirLimit) {
  const std::string huge(1000, 'k');  // YAML caps plain keys at 1,024 characters
  auto config = Parse(R"(alipay:
  app-id: "1"
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
  )" + huge + R"(: 1
  alipay-root-cert-pathh: x
  sing: RSA2
sinks:
  - match: "*"
    jsonl: out.jsonl
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->warnings, (std::vector<std::string>{
                                  At(5) + "alipay." + huge + ": unknown key, ignored",
                                  At(6) + "alipay.alipay-root-cert-pathh: unknown key, ignored (did you mean alipay-root-cert-path?)",
                                  At(7) + "alipay.sing: unknown key, ignored",
                              }));
}

TEST_F(ConfigTest, InlineKeyRefused) {
  EXPECT_EQ(ErrorOf(R"(alipay:
  app-id: "1"
  private-key: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC
  alipay-public-key-path: keys/alipay_public.pem
)"),
            At(1) + "alipay: missing app-private-key-path (Spring: app-cert-private-key-path)\n" +
                At(3) + "alipay.private-key: inline keys are not read; put the key in a file and set "
                        "app-private-key-path");
}

TEST_F(ConfigTest, YamlSyntaxErrorHasLine) {
  std::string error = ErrorOf("alipay:\n  app-id: \"1\"\n  sign-type: [RSA2\nsinks: x\n");
  EXPECT_TRUE(error.starts_with(path_ + ":4: ")) << error;
  EXPECT_NE(error.find("not valid YAML"), std::string::npos) << error;
}

TEST_F(ConfigTest, BothAlipayAndApps) {
  std::string error = ErrorOf(R"(alipay:
  app-id: "1"
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
apps:
  - app-id: "2"
)");
  EXPECT_TRUE(error.starts_with(At(5) + "apps: the config has both alipay: (line 1) and apps:; use alipay: for "
                                        "one app or apps: for a list"))
      << error;
}

TEST_F(ConfigTest, DuplicateAppIds) {
  EXPECT_EQ(ErrorOf(R"(apps:
  - app-id: "7"
    app-private-key-path: keys/app_private.pem
    alipay-public-key-path: keys/alipay_public.pem
  - app-id: "7"
    app-private-key-path: keys/app_private.pem
    alipay-public-key-path: keys/alipay_public.pem
)"),
            At(5) + "apps[1].app-id: \"7\" is already used by apps[0]");
}

const char* kApp = R"(alipay:
  app-id: "1"
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
)";

TEST_F(ConfigTest, TopLevelValueErrors) {
  EXPECT_EQ(ErrorOf(std::string(kApp) + "ack: after-lunch\n"),
            At(5) + "ack: \"after-lunch\" is not one of after-store, after-handle");
  EXPECT_EQ(ErrorOf(std::string(kApp) + "admin:\n  listen: localhost\n"),
            At(6) + "admin.listen: \"localhost\" has no port: write host:port (e.g. 127.0.0.1:9464)");
  EXPECT_EQ(ErrorOf(std::string(kApp) + "admin:\n  listen: 127.0.0.1:99999\n"),
            At(6) + "admin.listen: \"127.0.0.1:99999\": the port must be a number from 0 to 65535 (e.g. 127.0.0.1:9464)");
  EXPECT_EQ(ErrorOf(std::string(kApp) + "log:\n  level: loud\n"),
            At(6) + "log.level: \"loud\" is not one of trace, debug, info, warn, error, off");
  EXPECT_EQ(ErrorOf(std::string(kApp) + "retry:\n  max-attempts: many\n"),
            At(6) + "retry.max-attempts: \"many\" is not a whole number");
  EXPECT_EQ(ErrorOf(std::string(kApp) + "retry:\n  max-attempts: 0\n"),
            At(6) + "retry.max-attempts: 0 is out of range (1 to 1000)");
  EXPECT_EQ(ErrorOf(std::string(kApp) + "inbox:\n  path:\n"), At(6) + "inbox.path: has no value");
  EXPECT_EQ(ErrorOf(std::string(kApp) + "inbox: [a, b]\n"),
            At(5) + "inbox: expected a map with path, url, password-file, lease-ms, rejected-max-rows, "
             "rejected-max-bytes, rejected-max-frame-bytes");
}

TEST_F(ConfigTest, RejectedAuditBounds) {
  auto defaults = Parse(kApp);
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->inbox_rejected.max_rows, RejectedAuditLimits{}.max_rows);
  EXPECT_EQ(defaults->inbox_rejected.max_bytes, RejectedAuditLimits{}.max_bytes);
  auto config = Parse(std::string(kApp) +
                      "inbox:\n  path: x.db\n  rejected-max-rows: 500\n  rejected-max-bytes: 100000\n"
                      "  rejected-max-frame-bytes: 512\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->inbox_rejected.max_rows, 500);
  EXPECT_EQ(config->inbox_rejected.max_bytes, 100000);
  EXPECT_EQ(config->inbox_rejected.max_frame_bytes, 512);
  auto from_env = Parse(kApp, {{"ALIPAY_INBOX_REJECTED_MAX_ROWS", "42"}});
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_EQ(from_env->inbox_rejected.max_rows, 42);
  EXPECT_EQ(ErrorOf(std::string(kApp) + "inbox:\n  rejected-max-rows: 0\n"),
            At(6) + "inbox.rejected-max-rows: 0 is out of range (1 to 100000000)");
  EXPECT_EQ(ErrorOf(std::string(kApp) + "inbox:\n  rejected-max-frame-bytes: 10\n"),
            At(6) + "inbox.rejected-max-frame-bytes: 10 is out of range (64 to 4194304)");
}

TEST_F(ConfigTest, Heartbeat) {
  auto config = Parse(std::string(kApp) + "heartbeat:\n  ping-interval-ms: 500\n  pong-timeout-ms: 3000\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->heartbeat.ping_interval_ms, 500);
  EXPECT_EQ(config->heartbeat.pong_timeout_ms, 3000);
  auto from_env = Parse(kApp, {{"ALIPAY_HEARTBEAT_PONG_TIMEOUT_MS", "4000"}});
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_EQ(from_env->heartbeat.pong_timeout_ms, 4000);

  EXPECT_EQ(ErrorOf(std::string(kApp) + "heartbeat:\n  pong-timeout-ms: 1500\n  ping-interval-ms: 2000\n"),
            At(6) + "heartbeat.pong-timeout-ms: the pong timeout (1500 ms) must be longer than the ping "
                    "interval (2000 ms), or every link looks dead");
  EXPECT_EQ(ErrorOf(std::string(kApp) + "heartbeat:\n  ping-interval-ms: 20000\n"),
            At(6) + "heartbeat.ping-interval-ms: the pong timeout (10000 ms) must be longer than the ping "
                    "interval (20000 ms), or every link looks dead");
  EXPECT_EQ(ErrorOf(std::string(kApp) + "heartbeat:\n  pong-timeout-ms: 10\n"),
            At(6) + "heartbeat.pong-timeout-ms: 10 is out of range (500 to 3600000)");
  EXPECT_EQ(ErrorOf(kApp, {{"ALIPAY_HEARTBEAT_PING_INTERVAL_MS", "60000"}}),
            "environment: ALIPAY_HEARTBEAT_PING_INTERVAL_MS: the pong timeout (10000 ms) must be longer than "
            "the ping interval (60000 ms), or every link looks dead");
}

TEST_F(ConfigTest, AppValueErrors) {
  EXPECT_EQ(ErrorOf(R"(alipay:
  app-id: "1"
  server-host: wss://openchannel.alipay.com
  ssl: maybe
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
)"),
            At(3) + "alipay.server-host: \"wss://openchannel.alipay.com\": give host[:port] without a scheme "
                    "(ssl: chooses wss or ws)\n" +
                At(4) + "alipay.ssl: \"maybe\" is not true or false");
  EXPECT_EQ(ErrorOf(R"(alipay:
  app-id: "1"
  server-host: 127.0.0.1:port
  app-private-key-path: [a]
  alipay-public-key-path: keys/alipay_public.pem
)"),
            At(1) + "alipay: missing app-private-key-path (Spring: app-cert-private-key-path)\n" +
                At(3) + "alipay.server-host: \"127.0.0.1:port\": the port must be a number from 1 to 65535\n" + At(4) +
                "alipay.app-private-key-path: expected a single value, got a list");
}

TEST_F(ConfigTest, PlainTextToNonLocalHostWarns) {
  auto config = Parse(std::string(kApp) + "  ssl: false\n  server-host: example.com:80\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->warnings.size(), 2u);  // and: no sinks
  EXPECT_EQ(config->warnings[0], At(5) + "alipay.ssl: TLS is off for example.com:80, which is not a local "
                                         "address; messages and signatures travel in clear");
}

TEST_F(ConfigTest, SinkErrors) {
  auto sinks = [&](const std::string& s) { return ErrorOf(std::string(kApp) + "sinks:\n" + s); };
  EXPECT_EQ(sinks("  - match: \"*\"\n"), At(6) + "sinks[0]: needs one of jsonl, exec, webhook, redis, nats");
  EXPECT_EQ(sinks("  - jsonl: a.jsonl\n"), At(6) + "sinks[0]: missing match (a msgApi, \"prefix.*\" or \"*\")");
  EXPECT_EQ(sinks("  - match: \"*\"\n    jsonl: a.jsonl\n    webhook: http://h/x\n"),
            At(6) + "sinks[0]: has sinks[0].jsonl and sinks[0].webhook; one sink does one thing (add another "
                    "list item for the second)");
  EXPECT_EQ(sinks("  - match: \"alipay.*.passed\"\n    jsonl: a.jsonl\n"),
            At(6) + "sinks[0].match: \"alipay.*.passed\": a wildcard may only end the pattern, after a dot "
                    "(\"alipay.open.mini.*\"), or stand alone (\"*\")");
  EXPECT_EQ(sinks("  - match: \"alipay.open*\"\n    jsonl: a.jsonl\n"),
            At(6) + "sinks[0].match: \"alipay.open*\": a wildcard may only end the pattern, after a dot "
                    "(\"alipay.open.mini.*\"), or stand alone (\"*\")");
  EXPECT_EQ(sinks("  - match: \"*\"\n    exec: \"bin/hook.sh --flag\"\n"),
            At(7) + "sinks[0].exec: \"bin/hook.sh --flag\" has spaces; exec takes a list [program, arg, ...] "
                    "and runs no shell");
  EXPECT_EQ(sinks("  - match: \"*\"\n    exec: [bin/not-exec.sh]\n"),
            At(7) + "sinks[0].exec: " + Abs("bin/not-exec.sh") + ": not an executable file");
  EXPECT_EQ(sinks("  - match: \"*\"\n    exec: [bin/missing]\n"),
            At(7) + "sinks[0].exec: " + Abs("bin/missing") + ": no such file");
  EXPECT_EQ(sinks("  - match: \"*\"\n    exec: [no-such-program-anywhere]\n"),
            At(7) + "sinks[0].exec: \"no-such-program-anywhere\": no such program in PATH");
  EXPECT_EQ(sinks("  - match: \"*\"\n    webhook: ftp://example.com/hook\n"),
            At(7) + "sinks[0].webhook: \"ftp://example.com/hook\" is not an http:// or https:// URL");
  EXPECT_EQ(sinks("  - match: \"*\"\n    webhook: {url: \"https://example.com/hook\", ca-file: certs/missing.pem}\n"),
            At(7) + "sinks[0].webhook.ca-file: " + Abs("certs/missing.pem") + ": no such file");
  EXPECT_EQ(sinks("  - match: \"*\"\n    webhook: {headers: {A: b}}\n"), At(7) + "sinks[0].webhook: missing url");
  EXPECT_EQ(sinks("  - match: \"*\"\n    webhook: http://h/x\n    timeout-ms: -1\n"),
            At(8) + "sinks[0].timeout-ms: -1 is out of range (1 to 86400000)");
  EXPECT_EQ(sinks("  - \"*\"\n"), At(6) + "sinks[0]: expected a map (match: plus one of jsonl, exec, webhook, redis, nats)");
}

TEST_F(ConfigTest, SinkForms) {
  auto config = Parse(std::string(kApp) + R"(sinks:
  - match: [alipay.trade.refund.depositback.completed, "alipay.open.*"]
    webhook:
      url: http://127.0.0.1:8080/alipay
      headers: {Authorization: Bearer t}
    timeout-ms: 5000
    concurrency: 2
  - match: "*"
    exec: sh
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const SinkConfig& hook = config->sinks[0];
  EXPECT_EQ(hook.kind, SinkConfig::Kind::kWebhook);
  EXPECT_EQ(hook.match, (std::vector<std::string>{"alipay.trade.refund.depositback.completed", "alipay.open.*"}));
  EXPECT_EQ(hook.webhook_url, "http://127.0.0.1:8080/alipay");
  EXPECT_EQ(hook.webhook_headers.at("Authorization"), "Bearer t");
  EXPECT_EQ(hook.webhook_ca_file, "");
  EXPECT_EQ(hook.timeout_ms, 5000);
  EXPECT_EQ(hook.concurrency, 2);
  ASSERT_EQ(config->sinks[1].exec_argv.size(), 1u);
  EXPECT_TRUE(fs::path(config->sinks[1].exec_argv[0]).is_absolute()) << config->sinks[1].exec_argv[0];
}

TEST_F(ConfigTest, HttpsWebhookWithExtraCa) {
  auto config = Parse(std::string(kApp) + R"(sinks:
  - match: "*"
    webhook:
      url: https://hooks.example.com/alipay
      ca-file: certs/sim-ca.pem
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->sinks[0].webhook_url, "https://hooks.example.com/alipay");
  EXPECT_EQ(config->sinks[0].webhook_ca_file, Abs("certs/sim-ca.pem"));
  EXPECT_TRUE(config->warnings.empty());

  // A CA file for a plain http:// URL is a mistake worth a warning, not a refusal.
  config = Parse(std::string(kApp) + R"(sinks:
  - match: "*"
    webhook: {url: "http://127.0.0.1:8080/alipay", ca-file: certs/sim-ca.pem}
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->warnings.size(), 1u);
  EXPECT_EQ(config->warnings[0], At(7) + "sinks[0].webhook.ca-file: ignored, the url is not https://");
}

TEST_F(ConfigTest, AllErrorsReportedAtOnce) {
  std::string error = ErrorOf(R"(alipay:
  app-id: "1"
  sign-type: RSA9
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
ack: sometimes
sinks:
  - match: "*"
)");
  EXPECT_NE(error.find(At(3) + "alipay.sign-type"), std::string::npos) << error;
  EXPECT_NE(error.find(At(6) + "ack"), std::string::npos) << error;
  EXPECT_NE(error.find(At(8) + "sinks[0]"), std::string::npos) << error;
}

// ---- environment overrides ----

TEST_F(ConfigTest, EnvironmentOverridesFile) {
  auto config = Parse(std::string(kApp) + "  sign-type: RSA\n",
                      {{"ALIPAY_SIGN_TYPE", "SM2"}, {"ALIPAY_APP_ID", "2021000000000009"},
                       {"ALIPAY_INBOX_PATH", "/var/lib/alipay-msgd/inbox.db"}, {"ALIPAY_ACK", "after-handle"},
                       {"ALIPAY_ADMIN_LISTEN", "0.0.0.0:9100"}, {"ALIPAY_LOG_LEVEL", "debug"},
                       {"ALIPAY_SERVER_HOST", "127.0.0.1:18443"}, {"ALIPAY_SSL", "false"}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->apps[0].credentials.sign_type, "SM2");
  EXPECT_EQ(config->apps[0].credentials.app_id, "2021000000000009");
  EXPECT_EQ(config->apps[0].server_host, "127.0.0.1:18443");
  EXPECT_FALSE(config->apps[0].ssl);
  EXPECT_EQ(config->inbox_path, "/var/lib/alipay-msgd/inbox.db");
  EXPECT_EQ(config->ack, AckMode::kAfterHandle);
  EXPECT_EQ(config->admin_host, "0.0.0.0");
  EXPECT_EQ(config->admin_port, 9100);
  EXPECT_EQ(config->log.level, "debug");
}

TEST_F(ConfigTest, EnvironmentErrorNamesTheVariable) {
  EXPECT_EQ(ErrorOf(kApp, {{"ALIPAY_SIGN_TYPE", "RSA3"}}),
            "environment: ALIPAY_SIGN_TYPE: \"RSA3\" is not one of RSA2, RSA, SM2");
  EXPECT_EQ(ErrorOf(kApp, {{"ALIPAY_APP_PRIVATE_KEY_PATH", "/nonexistent/key.pem"}}),
            "environment: ALIPAY_APP_PRIVATE_KEY_PATH: /nonexistent/key.pem: no such file");
}

TEST_F(ConfigTest, EnvironmentAloneDefinesTheApp) {
  // Spring's relaxed env names (ALIPAY_APPCERTPRIVATEKEYPATH) work too; paths relative to the cwd.
  auto config = Parse("sinks:\n  - match: \"*\"\n    jsonl: out.jsonl\n",
                      {{"ALIPAY_APP_ID", "2021000000000001"},
                       {"ALIPAY_APPCERTPRIVATEKEYPATH", Abs("keys/app_private.pem")},
                       {"ALIPAY_APP_CERT_PUBLIC_KEY_PATH", Abs("certs/appCertPublicKey.crt")},
                       {"ALIPAY_ALIPAY_CERT_PUBLIC_KEY_PATH", Abs("certs/alipayCertPublicKey_RSA2.crt")},
                       {"ALIPAY_ALIPAY_ROOT_CERT_PATH", Abs("certs/alipayRootCert.crt")}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->apps[0].credentials.app_id, "2021000000000001");
  EXPECT_TRUE(config->apps[0].cert_mode());
}

TEST_F(ConfigTest, EnvironmentTypoAndMultiAppWarn) {
  auto config = Parse(kApp, {{"ALIPAY_APP_IDD", "x"}, {"ALIPAY_SOMETHING_ELSE_ENTIRELY", "y"}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->warnings[0], "environment: ALIPAY_APP_IDD: not a setting, ignored (did you mean ALIPAY_APP_ID?)");
  EXPECT_EQ(config->warnings.size(), 2u);  // + no sinks; the unrelated variable is not reported

  auto two = Parse(R"(apps:
  - app-id: "1"
    app-private-key-path: keys/app_private.pem
    alipay-public-key-path: keys/alipay_public.pem
  - app-id: "2"
    app-private-key-path: keys/app_private.pem
    alipay-public-key-path: keys/alipay_public.pem
)",
                   {{"ALIPAY_SIGN_TYPE", "RSA"}});
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(two->warnings[0], "environment: ALIPAY_SIGN_TYPE: ignored, the config lists 2 apps (per-app "
                              "overrides need a single app)");
  EXPECT_EQ(two->apps[0].credentials.sign_type, "RSA2");
}

TEST_F(ConfigTest, NoAppAnywhere) {
  EXPECT_EQ(ErrorOf("inbox:\n  path: a.db\n"),
            path_ + ": no app configured: add an alipay: block (app-id, sign-type, key paths) or an apps: "
                    "list, or set ALIPAY_APP_ID and the ALIPAY_*_PATH variables");
}

TEST_F(ConfigTest, LoadFromFile) {
  Write("config.yaml", kIssueExample);
  auto config = LoadDaemonConfig(path_);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->path, path_);
  auto missing = LoadDaemonConfig(dir_ + "/nope.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), dir_ + "/nope.yaml: no such config file");
}

TEST_F(ConfigTest, EnvironmentVariableList) {
  std::vector<std::string> names = ConfigEnvironmentVariables();
  for (const char* expected : {"ALIPAY_APP_ID", "ALIPAY_SIGN_TYPE", "ALIPAY_APP_PRIVATE_KEY_PATH",
                               "ALIPAY_ALIPAY_PUBLIC_KEY_PATH", "ALIPAY_APP_CERT_PUBLIC_KEY_PATH",
                               "ALIPAY_ALIPAY_CERT_PUBLIC_KEY_PATH", "ALIPAY_ALIPAY_ROOT_CERT_PATH",
                               "ALIPAY_INBOX_PATH", "ALIPAY_ADMIN_LISTEN", "ALIPAY_HEARTBEAT_PONG_TIMEOUT_MS"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
}

// ---- the shared PostgreSQL inbox ----

const char* kAppBlock = R"(alipay:
  app-id: "2021000000000001"
  sign-type: RSA2
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
)";

TEST_F(ConfigTest, PostgresInboxUrlLeaseInstanceAndPasswordFile) {
  Write("secrets/pg-password", "s3cret\n");
  auto config = Parse(std::string(kAppBlock) + R"(instance-id: host-a
inbox:
  url: "postgresql://alipay@db.internal:5432/inbox"
  password-file: secrets/pg-password
  lease-ms: 5000
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->inbox_url, "postgresql://alipay@db.internal:5432/inbox");
  EXPECT_EQ(config->inbox_password_file, Abs("secrets/pg-password"));
  EXPECT_EQ(config->inbox_lease_ms, 5000);
  EXPECT_EQ(config->instance_id, "host-a");
  EXPECT_EQ(EffectiveInstanceId(*config), "host-a");
  auto password = ReadInboxPassword(*config);
  ASSERT_TRUE(password.ok()) << password.status().ToString();
  EXPECT_EQ(*password, "s3cret");

  auto shorthand = Parse(std::string(kAppBlock) + "inbox: postgres://alipay@db/inbox\n");
  ASSERT_TRUE(shorthand.ok()) << shorthand.status().ToString();
  EXPECT_EQ(shorthand->inbox_url, "postgres://alipay@db/inbox");
  EXPECT_EQ(shorthand->inbox_lease_ms, 15000);
  EXPECT_NE(EffectiveInstanceId(*shorthand).find("-"), std::string::npos) << "hostname-pid by default";

  auto from_env = Parse(kAppBlock, {{"ALIPAY_INBOX_URL", "postgresql://u@h/d"}, {"ALIPAY_INSTANCE_ID", "b"}});
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_EQ(from_env->inbox_url, "postgresql://u@h/d");
  EXPECT_EQ(from_env->instance_id, "b");
  auto sqlite = Parse(kAppBlock);
  ASSERT_TRUE(sqlite.ok());
  EXPECT_TRUE(sqlite->inbox_url.empty()) << "SQLite stays the default";
}

TEST_F(ConfigTest, PostgresInboxErrorsNameFileLineAndKeyWithoutThePassword) {
  const std::string both = std::string(kAppBlock) + R"(inbox:
  path: var/inbox.db
  url: "postgresql://alipay:hunter2@db/inbox"
)";
  std::string error = ErrorOf(both);
  EXPECT_NE(error.find(At(8) + "inbox.url: set either inbox.path"), std::string::npos) << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;

  error = ErrorOf(std::string(kAppBlock) + "inbox:\n  url: \"mysql://root:hunter2@db/x\"\n");
  EXPECT_NE(error.find(At(7) + "inbox.url: \"mysql://root:***@db/x\" is not a PostgreSQL URL"), std::string::npos)
      << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;

  error = ErrorOf(std::string(kAppBlock) + "inbox:\n  url: postgresql://db/x\n  password-file: nope\n  lease-ms: 10\n");
  EXPECT_NE(error.find(At(8) + "inbox.password-file: " + Abs("nope") + ": no such file"), std::string::npos) << error;
  EXPECT_NE(error.find(At(9) + "inbox.lease-ms:"), std::string::npos) << error;

  error = ErrorOf(kAppBlock, {{"ALIPAY_INBOX_URL", "db.example"}});
  EXPECT_NE(error.find("environment: ALIPAY_INBOX_URL: \"db.example\" is not a PostgreSQL URL"), std::string::npos)
      << error;

  auto warned = Parse(std::string(kAppBlock) + "inbox:\n  path: x.db\n  lease-ms: 5000\n");
  ASSERT_TRUE(warned.ok()) << warned.status().ToString();
  std::string all;
  for (const std::string& w : warned->warnings) all += w + "\n";
  EXPECT_NE(all.find(At(8) + "inbox.lease-ms: only used with a PostgreSQL inbox"), std::string::npos) << all;
}

}  // namespace
}  // namespace alipaymsg

// ---- notify: ----------------------------------------------------------------------------------

namespace alipaymsg {
namespace {

const char* kNotifyApp = R"(alipay:
  app-id: "2021000000000001"
  sign-type: RSA2
  app-private-key-path: keys/app_private.pem
  alipay-public-key-path: keys/alipay_public.pem
  encrypt-key: aGVsbG8tYWVzLWtleS0xNg==
)";

TEST_F(ConfigTest, NotifyDefaultsAndEveryKey) {
  auto plain = Parse(std::string(kNotifyApp) + "notify: 0.0.0.0:8080\n");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_TRUE(plain->notify.enabled);
  EXPECT_EQ(plain->notify.host, "0.0.0.0");
  EXPECT_EQ(plain->notify.port, 8080);
  EXPECT_EQ(plain->notify.paths, std::vector<std::string>{"/alipay/notify"});
  EXPECT_EQ(plain->notify.limits.max_body_bytes, 64u * 1024);
  EXPECT_EQ(plain->apps[0].encrypt_key, "aGVsbG8tYWVzLWtleS0xNg==");

  auto full = Parse(std::string(kNotifyApp) + R"(notify:
  listen: "[::1]:8443"
  path: [/alipay/notify, /pay/callback]
  cert-file: certs/sim-ca.pem
  key-file: keys/app_private.pem
  max-body-bytes: 32768
  header-timeout-ms: 2000
  body-timeout-ms: 3000
  idle-timeout-ms: 0
  max-connections: 50
)");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  const NotifyConfig& n = full->notify;
  EXPECT_EQ(n.host, "::1");
  EXPECT_EQ(n.port, 8443);
  EXPECT_EQ(n.paths, (std::vector<std::string>{"/alipay/notify", "/pay/callback"}));
  EXPECT_EQ(n.cert_file, Abs("certs/sim-ca.pem"));
  EXPECT_EQ(n.key_file, Abs("keys/app_private.pem"));
  EXPECT_EQ(n.limits.max_body_bytes, 32768u);
  EXPECT_EQ(n.limits.header_timeout_ms, 2000);
  EXPECT_EQ(n.limits.body_timeout_ms, 3000);
  EXPECT_EQ(n.limits.idle_timeout_ms, 0);
  EXPECT_EQ(n.limits.max_connections, 50);

  auto none = Parse(kNotifyApp);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->notify.enabled);
}

TEST_F(ConfigTest, NotifyFromTheEnvironment) {
  auto config = Parse(std::string(kNotifyApp), {{"ALIPAY_NOTIFY_LISTEN", "127.0.0.1:9000"}, {"ALIPAY_ENCRYPT_KEY", "MDEyMzQ1Njc4OWFiY2RlZg=="}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->notify.port, 9000);
  EXPECT_EQ(config->apps[0].encrypt_key, "MDEyMzQ1Njc4OWFiY2RlZg==");
}

TEST_F(ConfigTest, NotifyErrorsNameFileLineAndKey) {
  struct Case {
    std::string notify;  // lines after kApp (which has 6 lines)
    int line;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"notify:\n  listen: 8080\n", 8, "notify.listen: \"8080\" is a port alone: write host:port, e.g. 127.0.0.1:8080"},
      {"notify:\n  listen: 127.0.0.1:99999\n", 8, "notify.listen: \"127.0.0.1:99999\": the port must be a number from 0 to 65535"},
      {"notify:\n  listen: 127.0.0.1:80\n  path: alipay/notify\n", 9, "notify.path: \"alipay/notify\" is not a path"},
      {"notify:\n  listen: 127.0.0.1:80\n  cert-file: certs/sim-ca.pem\n", 9, "notify.cert-file: HTTPS needs both"},
      {"notify:\n  listen: 127.0.0.1:80\n  key-file: keys/nope.pem\n", 9, "notify.key-file: " },
      {"notify:\n  listen: 127.0.0.1:80\n  max-body-bytes: 10\n", 9, "notify.max-body-bytes: 10 is out of range"},
      {"notify:\n  listen: 127.0.0.1:80\n  max-connections: 0\n", 9, "notify.max-connections: 0 is out of range"},
      {"notify:\n  path: /x\n", 7, "notify: missing listen"},
      {"notify:\n  listen: 127.0.0.1:80\n  encrypt-key: not-a-key\n", 9, "notify.encrypt-key: is not an AES key"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.notify);
    const std::string error = ErrorOf(std::string(kNotifyApp) + c.notify);
    EXPECT_NE(error.find(At(c.line) + c.expected), std::string::npos) << error;
  }
  // A bad app encrypt-key is named, and its value (a secret) is not repeated.
  std::string app = kNotifyApp;
  app.replace(app.find("aGVsbG8tYWVzLWtleS0xNg=="), 24, "c2VjcmV0LWJ1dC10b28tc2hvcnQ");
  const std::string error = ErrorOf(app);
  EXPECT_NE(error.find(At(6) + "alipay.encrypt-key: is not an AES key"), std::string::npos) << error;
  EXPECT_EQ(error.find("c2VjcmV0"), std::string::npos) << error;
}

}  // namespace
}  // namespace alipaymsg
