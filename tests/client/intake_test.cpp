#include "client/intake.h"

#include <gtest/gtest.h>

#include "alipaymsg/crypto.h"
#include "testing/test_paths.h"

namespace alipaymsg::client {
namespace {

using alipaymsg::testing::ReadFileOrFail;
using alipaymsg::testing::VectorPath;

PrivateKey LoadPrivate(const std::string& name) {
  auto key = PrivateKey::FromText(ReadFileOrFail(VectorPath("java-sdk/keys/" + name)), name);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return *key;
}
PublicKey LoadPublic(const std::string& name) {
  auto key = PublicKey::FromText(ReadFileOrFail(VectorPath("java-sdk/keys/" + name)), name);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return *key;
}

class IntakeTest : public ::testing::Test {
 protected:
  IntakeTest()
      : alipay_private_(LoadPrivate("alipay.private.pkcs8.b64")),
        app_private_(LoadPrivate("app.private.pkcs8.b64")),
        credentials_(Credentials::FromKeys("2021000000000001", SignType::kRsa2, app_private_,
                                           LoadPublic("alipay.public.spki.b64"))) {}

  std::string Consume(const std::string& data, const PrivateKey& signer, std::string msg_id = "m1",
                      std::string stream_id = "s0000000000001") {
    auto sign = Sign(signer, SignType::kRsa2, data);
    EXPECT_TRUE(sign.ok());
    ProtocolFields p;
    p.type = "message";
    p.cmd = std::string(kCmdConsume);
    p.msg_id = std::move(msg_id);
    p.timestamp = "1700000000000";
    p.version = "1.0";
    p.charset = "UTF-8";
    p.sign_type = "RSA2";
    p.sign = *sign;
    return SerializeFrame({"openchannel", "10.0.0.1", std::move(stream_id)}, p, data);
  }

  PrivateKey alipay_private_;
  PrivateKey app_private_;
  Credentials credentials_;
  const std::string data_ =
      R"({"header":{"appId":"2021000000000001","msgApi":"alipay.open.mini.version.audit.passed"},"content":{"mini_app_id":"2021","note":"中文 {x}","amount":12.50}})";
};

TEST_F(IntakeTest, VerifiedConsumeBecomesAnInboundMessageWithExactContent) {
  Intake in = ClassifyFrame(Consume(data_, alipay_private_), credentials_, "conn-app", 1234);
  ASSERT_EQ(in.kind, Intake::Kind::kConsume) << in.reason;
  EXPECT_EQ(in.message.app_id, "2021000000000001");
  EXPECT_EQ(in.message.msg_id, "m1");
  EXPECT_EQ(in.message.msg_api, "alipay.open.mini.version.audit.passed");
  EXPECT_EQ(in.message.biz_content, R"({"mini_app_id":"2021","note":"中文 {x}","amount":12.50})");
  EXPECT_EQ(in.message.channel, "websocket");
  EXPECT_EQ(in.message.received_at_ms, 1234);
  EXPECT_EQ(in.frame.header.stream_id, "s0000000000001");
}

TEST_F(IntakeTest, WrongSignerIsRejectedWithAnAuditRecordAndNoKeyMaterial) {
  const std::string text = Consume(data_, app_private_);
  Intake in = ClassifyFrame(text, credentials_, "conn-app", 99);
  ASSERT_EQ(in.kind, Intake::Kind::kRejected);
  EXPECT_EQ(in.rejected.msg_id, "m1");
  EXPECT_EQ(in.rejected.app_id, "2021000000000001");
  EXPECT_EQ(in.rejected.msg_api, "alipay.open.mini.version.audit.passed");
  EXPECT_EQ(in.rejected.raw_frame, text);
  EXPECT_EQ(in.rejected.received_at_ms, 99);
  EXPECT_FALSE(in.reason.empty());
  EXPECT_EQ(in.reason.find(in.frame.protocol.sign), std::string::npos);  // no signature value
}

TEST_F(IntakeTest, TamperedContentIsRejected) {
  std::string text = Consume(data_, alipay_private_);
  text.replace(text.find("12.50"), 5, "99.50");
  EXPECT_EQ(ClassifyFrame(text, credentials_, "a", 0).kind, Intake::Kind::kRejected);
}

TEST_F(IntakeTest, MissingSignatureIsRejected) {
  ProtocolFields p;
  p.type = "message";
  p.cmd = "CONSUME";
  p.msg_id = "m2";
  p.version = "1.0";
  Intake in = ClassifyFrame(SerializeFrame({}, p, data_), credentials_, "a", 0);
  EXPECT_EQ(in.kind, Intake::Kind::kRejected);
}

TEST_F(IntakeTest, MalformedFramesAreNamed) {
  Intake no_separator = ClassifyFrame("stream-id:x\n\n{}", credentials_, "a", 0);
  EXPECT_EQ(no_separator.kind, Intake::Kind::kMalformed);
  EXPECT_FALSE(no_separator.reason.empty());
  EXPECT_EQ(ClassifyFrame("\r\n\r\n{\"protocol\":", credentials_, "a", 0).kind,
            Intake::Kind::kMalformed);
  EXPECT_EQ(ClassifyFrame("\r\n\r\n{\"protocol\":{\"x-type\":\"message\",\"x-timestamp\":1}}",
                          credentials_, "a", 0)
                .kind,
            Intake::Kind::kMalformed);
}

TEST_F(IntakeTest, ConsumeWithoutMsgIdIsMalformed) {
  Intake in = ClassifyFrame(Consume(data_, alipay_private_, ""), credentials_, "a", 0);
  EXPECT_EQ(in.kind, Intake::Kind::kMalformed);
  EXPECT_NE(in.reason.find("x-msgId"), std::string::npos);
}

TEST_F(IntakeTest, AppIdFallsBackToTheConnection) {
  const std::string data = R"({"header":{"msgApi":"x.y"},"content":{}})";
  Intake in = ClassifyFrame(Consume(data, alipay_private_), credentials_, "conn-app", 0);
  ASSERT_EQ(in.kind, Intake::Kind::kConsume) << in.reason;
  EXPECT_EQ(in.message.app_id, "conn-app");
}

TEST_F(IntakeTest, ProduceAckAndOtherCommands) {
  const std::string ack =
      "stream-id:c0VcDeymiJH006\r\n\r\n"
      R"({"protocol":{"x-type":"message","x-cmd":"PRODUCE_ACK","x-msgId":"p1","x-version":"1.0","x-status":"SUCCESS","x-code":"10000"}})";
  Intake in = ClassifyFrame(ack, credentials_, "a", 0);
  ASSERT_EQ(in.kind, Intake::Kind::kProduceAck);
  SendResult r = ToSendResult(in.frame);
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.code, "10000");
  EXPECT_EQ(r.msg_id, "p1");
  EXPECT_EQ(r.stream_id, "c0VcDeymiJH006");

  const std::string fail =
      "stream-id:c1\r\n\r\n"
      R"({"protocol":{"x-type":"message","x-cmd":"PRODUCE_ACK","x-status":"FAIL","x-code":"40004","x-error":"bad"}})";
  SendResult f = ToSendResult(ClassifyFrame(fail, credentials_, "a", 0).frame);
  EXPECT_FALSE(f.success);
  EXPECT_EQ(f.error, "bad");

  EXPECT_EQ(ClassifyFrame("\r\n\r\n", credentials_, "a", 0).kind, Intake::Kind::kIgnored);
  EXPECT_EQ(ClassifyFrame("\r\n\r\n{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":\"PRODUCE\"}}",
                          credentials_, "a", 0)
                .kind,
            Intake::Kind::kIgnored);
}

}  // namespace
}  // namespace alipaymsg::client
