#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "sink_test_util.h"
#include "test_http_server.h"

namespace alipaymsg::daemon_test {
namespace {

using daemon::ExecSink;
using daemon::RunProgram;
using daemon::SinkRouter;
using daemon::WebhookSink;

std::string Script(const TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir.path() + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0755);
  return path;
}

class ExecSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inbox = OpenSqliteInbox(dir_.path() + "/inbox.db");
    ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
    inbox_ = std::move(*inbox);
  }
  TempDir dir_{"daemon-exec"};
  std::unique_ptr<Inbox> inbox_;
};

TEST_F(ExecSinkTest, MessageOnStdinIdsInEnvironmentExitZeroIsDone) {
  std::string out = dir_.path() + "/received";
  std::string script = Script(dir_, "ok.sh",
                              "cat > \"" + out + ".$ALIPAY_MSG_ID\"\n"
                              "echo \"$ALIPAY_MSG_ID $ALIPAY_MSG_API $ALIPAY_APP_ID\" > \"" + out + ".$ALIPAY_MSG_ID.env\"\n");
  ASSERT_TRUE(inbox_->Store({Msg("e1"), Msg("e2", "alipay.open.auth.appauth.cancelled")}).ok());
  SinkRouter sinks;
  sinks.Add("sinks[0]", {"*"}, std::make_shared<ExecSink>(std::vector<std::string>{script}, 5000, 2));
  DispatchAll(*inbox_, sinks);

  EXPECT_EQ(StateOf(*inbox_, "e1"), MessageState::kDone);
  EXPECT_EQ(StateOf(*inbox_, "e2"), MessageState::kDone);
  std::string stdin_e1 = ReadAll(out + ".e1");
  boost::json::object o = boost::json::parse(stdin_e1).as_object();
  EXPECT_EQ(o.at("msg_id").as_string(), "e1");
  EXPECT_EQ(o.at("biz_content").as_object().at("mini_app_id").as_string(), "2021");
  EXPECT_EQ(ReadAll(out + ".e2.env"), "e2 alipay.open.auth.appauth.cancelled 2021000000000001\n");
}

TEST_F(ExecSinkTest, NonZeroExitRetriesThenDeadWithTheOutput) {
  std::string count = dir_.path() + "/count";
  std::string script = Script(dir_, "fail.sh", "cat >/dev/null; echo x >> \"" + count + "\"; "
                                               "echo 'downstream said no' >&2; exit 3\n");
  ASSERT_TRUE(inbox_->Store({Msg("f1")}).ok());
  SinkRouter sinks;
  sinks.Add("sinks[0]", {"*"}, std::make_shared<ExecSink>(std::vector<std::string>{script}, 5000, 1));
  DispatchAll(*inbox_, sinks, FastRetries(3));
  EXPECT_EQ(StateOf(*inbox_, "f1"), MessageState::kDead);
  EXPECT_EQ(Lines(ReadAll(count)).size(), 3u);  // max_attempts runs
  EXPECT_NE(LastErrorOf(*inbox_, "f1").find(script + " exited with 3: downstream said no"), std::string::npos)
      << LastErrorOf(*inbox_, "f1");
  EXPECT_EQ(sinks.Counters()[0].retry, 3);
}

TEST_F(ExecSinkTest, RetrySucceedsOnALaterAttempt) {
  std::string marker = dir_.path() + "/marker";
  std::string script = Script(dir_, "flaky.sh", "if [ -e \"" + marker + "\" ]; then exit 0; fi; touch \"" +
                                                    marker + "\"; exit 1\n");
  ASSERT_TRUE(inbox_->Store({Msg("r1")}).ok());
  SinkRouter sinks;
  sinks.Add("sinks[0]", {"*"}, std::make_shared<ExecSink>(std::vector<std::string>{script}, 5000, 1));
  DispatchAll(*inbox_, sinks);
  EXPECT_EQ(StateOf(*inbox_, "r1"), MessageState::kDone);
}

TEST_F(ExecSinkTest, TimeoutKillsTheProcessGroup) {
  std::string script = Script(dir_, "slow.sh", "sleep 30 & sleep 30\n");
  auto start = std::chrono::steady_clock::now();
  daemon::ExecResult r = RunProgram({script}, "{}", {}, 200);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.started);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(took, std::chrono::seconds(5));

  ASSERT_TRUE(inbox_->Store({Msg("t1")}).ok());
  SinkRouter sinks;
  sinks.Add("sinks[0]", {"*"}, std::make_shared<ExecSink>(std::vector<std::string>{script}, 100, 1));
  DispatchAll(*inbox_, sinks, FastRetries(1));
  EXPECT_EQ(StateOf(*inbox_, "t1"), MessageState::kDead);
  EXPECT_NE(LastErrorOf(*inbox_, "t1").find("timed out after 100 ms"), std::string::npos) << LastErrorOf(*inbox_, "t1");
}

TEST_F(ExecSinkTest, ConcurrencyIsBounded) {
  // A second run at the same time finds the lock directory and fails (exit 9).
  std::string lock = dir_.path() + "/lock";
  std::string script = Script(dir_, "exclusive.sh", "cat >/dev/null; mkdir \"" + lock + "\" || exit 9; "
                                                    "sleep 0.05; rmdir \"" + lock + "\"\n");
  std::vector<InboundMessage> batch;
  for (int i = 0; i < 6; ++i) batch.push_back(Msg("c" + std::to_string(i)));
  ASSERT_TRUE(inbox_->Store(batch).ok());
  SinkRouter sinks;
  sinks.Add("sinks[0]", {"*"}, std::make_shared<ExecSink>(std::vector<std::string>{script}, 5000, 1));
  DispatchAll(*inbox_, sinks, FastRetries(1));  // dispatcher runs 4 at once; the sink lets 1 through
  for (int i = 0; i < 6; ++i) EXPECT_EQ(StateOf(*inbox_, "c" + std::to_string(i)), MessageState::kDone) << i;
  EXPECT_EQ(sinks.Counters()[0].done, 6);
}

TEST(RunProgramTest, ReaderThatIgnoresStdinDoesNotKillUs) {
  std::string big(4 << 20, 'x');
  daemon::ExecResult r = RunProgram({"/bin/true"}, big, {}, 5000);
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.exit_code, 0);
}

TEST(RunProgramTest, MissingProgramAndSignals) {
  daemon::ExecResult missing = RunProgram({"/nonexistent/program"}, "", {}, 1000);
  EXPECT_FALSE(missing.started);
  EXPECT_NE(missing.error.find("cannot run /nonexistent/program"), std::string::npos) << missing.error;
  daemon::ExecResult killed = RunProgram({"/bin/sh", "-c", "kill -9 $$"}, "", {}, 1000);
  EXPECT_EQ(killed.signal, 9);
}

// ---- webhook ----

class WebhookSinkTest : public ExecSinkTest {};

TEST_F(WebhookSinkTest, PostsMessageJsonWithIdHeader) {
  TestHttpServer server(204);
  ASSERT_TRUE(inbox_->Store({Msg("w1")}).ok());
  SinkRouter sinks;
  sinks.Add("sinks[0]", {"*"},
            std::make_shared<WebhookSink>(server.url(), std::map<std::string, std::string>{{"Authorization", "Bearer t"}}, 5000, 2));
  DispatchAll(*inbox_, sinks);
  EXPECT_EQ(StateOf(*inbox_, "w1"), MessageState::kDone);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string& r = requests[0];
  EXPECT_TRUE(r.starts_with("POST /hook HTTP/1.1\r\n")) << r;
  EXPECT_NE(r.find("X-Alipay-Msg-Id: w1\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("X-Alipay-Msg-Api: alipay.open.mini.version.audit.passed\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Authorization: Bearer t\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Content-Type: application/json"), std::string::npos) << r;
  boost::json::object body = boost::json::parse(r.substr(r.find("\r\n\r\n") + 4)).as_object();
  EXPECT_EQ(body.at("msg_id").as_string(), "w1");
}

TEST_F(WebhookSinkTest, Non2xxRetriesThenDead) {
  TestHttpServer server(503);
  ASSERT_TRUE(inbox_->Store({Msg("w2")}).ok());
  SinkRouter sinks;
  sinks.Add("sinks[0]", {"*"}, std::make_shared<WebhookSink>(server.url(), std::map<std::string, std::string>{}, 5000, 1));
  DispatchAll(*inbox_, sinks, FastRetries(2));
  EXPECT_EQ(StateOf(*inbox_, "w2"), MessageState::kDead);
  EXPECT_EQ(server.requests().size(), 2u);
  EXPECT_NE(LastErrorOf(*inbox_, "w2").find("HTTP 503: nope"), std::string::npos) << LastErrorOf(*inbox_, "w2");
}

TEST(HttpPostTest, TimeoutAndRefused) {
  TestHttpServer silent(200, /*answer=*/false);
  auto start = std::chrono::steady_clock::now();
  auto r = daemon::HttpPost(silent.url(), {}, "{}", 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTimeout) << r.status().ToString();

  int port;
  {
    TestHttpServer gone(200);
    port = std::stoi(gone.url().substr(17));
  }
  auto refused = daemon::HttpPost("http://127.0.0.1:" + std::to_string(port) + "/x", {}, "{}", 1000);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("connecting"), std::string::npos) << refused.status().ToString();
}

}  // namespace
}  // namespace alipaymsg::daemon_test
