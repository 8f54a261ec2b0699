#include "alipaymsg/notify_receiver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>

#include "alipaymsg/cert.h"
#include "testing/test_paths.h"

namespace alipaymsg {
namespace {

using testing::MakeTempDir;
using testing::ReadFileOrFail;
using testing::VectorPath;

// The Node SDK vectors' notifications are for app 2021000000000000, signed by the "alipay" key.
constexpr char kAppId[] = "2021000000000000";

// A .form file is a text file: its final line break is the file's, not the body's.
std::string Form(const std::string& name) {
  std::string form = ReadFileOrFail(VectorPath("node-sdk/inputs/" + name));
  if (form.ends_with('\n')) form.pop_back();
  return form;
}

class NotifyReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inbox = OpenSqliteInbox(MakeTempDir() + "/inbox.db");
    ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
    inbox_ = std::move(*inbox);
    auto key = PublicKey::FromFile(VectorPath("node-sdk/inputs/alipay_public.pem"));
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    NotifyApp app;
    app.app_id = kAppId;
    app.alipay_public_key = *key;
    std::vector<NotifyApp> apps;
    apps.push_back(std::move(app));
    receiver_ = std::make_unique<NotifyReceiver>(*inbox_, std::move(apps), &clock_,
                                                 [this] { ++woken_; });
  }
  void TearDown() override {
    receiver_.reset();
    if (inbox_) inbox_->Close();
  }

  ManualClock clock_{1700000000000};
  std::unique_ptr<Inbox> inbox_;
  std::unique_ptr<NotifyReceiver> receiver_;
  int woken_ = 0;
};

TEST_F(NotifyReceiverTest, GenuineNotificationIsStoredOnceAndAnsweredSuccess) {
  auto answer = receiver_->Handle(Form("trade_v1style_rsa2.form"));
  EXPECT_EQ(answer.http_status, 200);
  EXPECT_EQ(answer.body, "success");
  EXPECT_EQ(woken_, 1);
  auto stored = inbox_->Get(kAppId, "2024010100222120000000000000000001");
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  const InboundMessage& m = (*stored)->message;
  EXPECT_EQ(m.channel, "http");
  EXPECT_EQ(m.msg_api, "trade_status_sync");
  EXPECT_EQ(m.received_at_ms, 1700000000000);  // the injected clock's time, not the system's
  // Classic notifications carry no biz_content: every decoded field travels as JSON.
  EXPECT_NE(m.biz_content.find("\"subject\":\"测试 + 商品 & 50% = ok\""), std::string::npos) << m.biz_content;
  EXPECT_NE(m.biz_content.find("\"passback_params\":\"a%3Db%26c\""), std::string::npos) << m.biz_content;
  EXPECT_EQ(m.biz_content.find("\"sign\""), std::string::npos);

  // Alipay redelivers: answered success again, not stored twice, dispatcher not woken again.
  answer = receiver_->Handle(Form("trade_v1style_rsa2.form"));
  EXPECT_EQ(answer.body, "success");
  EXPECT_EQ(woken_, 1);
  EXPECT_EQ(receiver_->counters().stored_new.load(), 1);
  EXPECT_EQ(receiver_->counters().duplicates.load(), 1);
}

TEST_F(NotifyReceiverTest, TamperedNotificationIsRejectedAndAudited) {
  auto answer = receiver_->Handle(Form("trade_v1style_rsa2_tampered.form"));
  EXPECT_EQ(answer.body, "fail");
  EXPECT_EQ(receiver_->counters().rejected.load(), 1);
  EXPECT_EQ(woken_, 0);
  auto stats = inbox_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rejected, 1);
  EXPECT_EQ(stats->pending, 0);
}

TEST_F(NotifyReceiverTest, BothSignContentConventionsAreAccepted) {
  for (const char* form : {"trade_v1style_rsa1.form", "open_v2style_with_sign_type.form",
                           "empty_values_java_rule.form", "empty_values_node_rule.form",
                           "trade_no_sign_type_param.form"}) {
    EXPECT_EQ(receiver_->Handle(Form(form)).body, "success") << form;
  }
}

TEST_F(NotifyReceiverTest, UnknownAppAndMalformedBodiesFail) {
  std::string other_app = Form("trade_v1style_rsa2.form");
  auto pos = other_app.find("app_id=2021000000000000");
  ASSERT_NE(pos, std::string::npos);
  other_app.replace(pos, 23, "app_id=2021000000000009");
  EXPECT_EQ(receiver_->Handle(other_app).body, "fail");
  auto answer = receiver_->Handle("a=%zz");
  // A 400 says why (for whoever tests the endpoint by hand); Alipay only looks for "success".
  EXPECT_EQ(answer.body.rfind("fail: malformed form body", 0), 0u) << answer.body;
  EXPECT_EQ(answer.http_status, 400);
  EXPECT_EQ(receiver_->Handle("app_id=2021000000000000&sign=abc").http_status, 400);  // no notify_id
}

TEST_F(NotifyReceiverTest, RawLineBreakIsAParseErrorNotASignatureFailure) {
  auto answer = receiver_->Handle(Form("trade_v1style_rsa2.form") + "\n");
  EXPECT_EQ(answer.http_status, 400);
  EXPECT_NE(answer.body.find("raw control character 0x0A (line feed)"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("trailing newline"), std::string::npos) << answer.body;
  EXPECT_EQ(answer.body.find("signature"), std::string::npos) << answer.body;
  std::string inside = Form("trade_v1style_rsa2.form");
  inside.insert(inside.find('&'), "\r");
  answer = receiver_->Handle(inside);
  EXPECT_EQ(answer.http_status, 400);
  EXPECT_NE(answer.body.find("0x0D (carriage return)"), std::string::npos) << answer.body;
}

TEST_F(NotifyReceiverTest, CountsByAppAndOutcomeKeepUnknownAppsInOneBucket) {
  std::vector<std::string> rejected;
  receiver_->set_on_rejected([&](const RejectedMessage& m, NotifyOutcome outcome) {
    rejected.push_back(std::string(ToString(outcome)) + " " + m.reason);
  });
  EXPECT_EQ(receiver_->Handle(Form("trade_v1style_rsa2.form")).body, "success");
  EXPECT_EQ(receiver_->Handle(Form("trade_v1style_rsa2.form")).body, "success");
  EXPECT_EQ(receiver_->Handle(Form("trade_v1style_rsa2_tampered.form")).body, "fail");
  for (const char* id : {"2021000000000008", "2021000000000009"}) {
    std::string other = Form("trade_v1style_rsa2.form");
    other.replace(other.find("app_id=2021000000000000"), 23, std::string("app_id=") + id);
    EXPECT_EQ(receiver_->Handle(other).body, "fail");
  }
  std::map<std::string, int64_t> counts;
  for (const auto& c : receiver_->CountsByApp()) counts[c.app_id + "/" + std::string(ToString(c.outcome))] = c.count;
  const std::map<std::string, int64_t> expected = {{std::string(kAppId) + "/new", 1},
                                                   {std::string(kAppId) + "/duplicate", 1},
                                                   {std::string(kAppId) + "/bad_signature", 1},
                                                   {"unknown/unknown_app", 2}};
  EXPECT_EQ(counts, expected);
  ASSERT_EQ(rejected.size(), 3u);
  EXPECT_EQ(rejected[0].rfind("bad_signature ", 0), 0u) << rejected[0];
}

std::string HttpPost(uint16_t port, const std::string& body) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "connect failed";
  }
  std::string request = "POST /alipay/notify HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) response.append(buf, static_cast<size_t>(n));
  close(fd);
  return response;
}

TEST_F(NotifyReceiverTest, HttpServerAnswersExactlySuccess) {
  auto server = NotifyServer::Start("127.0.0.1:0", *receiver_);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::string response = HttpPost((*server)->port(), Form("trade_v1style_rsa2.form"));
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
  // The body is exactly "success": no whitespace, no HTML.
  EXPECT_EQ(response.substr(response.find("\r\n\r\n") + 4), "success");
  response = HttpPost((*server)->port(), Form("trade_v1style_rsa2_tampered.form"));
  EXPECT_EQ(response.substr(response.find("\r\n\r\n") + 4), "fail");
  (*server)->Stop();
}

TEST(NotifyServerTest, BadListenAddressIsAnError) {
  auto inbox = OpenSqliteInbox(MakeTempDir() + "/inbox.db");
  ASSERT_TRUE(inbox.ok());
  NotifyReceiver receiver(**inbox, {});
  auto server = NotifyServer::Start("nonsense", receiver);
  EXPECT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("nonsense"), std::string::npos);
  (*inbox)->Close();
}

}  // namespace
}  // namespace alipaymsg
