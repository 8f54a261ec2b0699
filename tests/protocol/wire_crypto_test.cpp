// The Java client's real traffic, with signatures: CONSUMEs verify with the Alipay key, PRODUCE
// frames and register/connect query strings are rebuilt byte for byte (RSA PKCS#1 v1.5 is
// deterministic), register responses pass CheckRegisterResponse.
#include <gtest/gtest.h>

#include "alipaymsg/params.h"
#include "protocol/frame.h"
#include "protocol/register.h"
#include "protocol/test_keys.h"
#include "protocol/transcript.h"

namespace alipaymsg {
namespace {

using testing::ParseHttpMessage;
using testing::ParseTranscript;
using testing::ReadFileOrFail;
using testing::RequestPath;
using testing::RequestQuery;
using testing::TranscriptEntry;
using testing::VectorPath;

struct Session {
  const char* log;
  bool cert_mode;
  bool consume_signatures_valid;
};

void PrintTo(const Session& s, std::ostream* os) { *os << s.log; }

const Session kSessions[] = {
    {"java-sdk/wire/key_mode_session.log", false, true},
    {"java-sdk/wire/cert_mode_session_with_fail_ack.log", true, true},
    {"java-sdk/wire/bad_signature_session.log", false, false},
};

class WireCryptoTest : public ::testing::TestWithParam<Session> {
 protected:
  void SetUp() override {
    entries_ = ParseTranscript(ReadFileOrFail(VectorPath(GetParam().log)));
    ASSERT_GT(entries_.size(), 5u);
    creds_ = testing::TranscriptCredentials(GetParam().cert_mode);
    ASSERT_TRUE(creds_.has_value());
    ASSERT_EQ(creds_->cert_mode(), GetParam().cert_mode);
  }
  std::vector<TranscriptEntry> entries_;
  std::optional<Credentials> creds_;
};

TEST_P(WireCryptoTest, ConsumeSignatures) {
  int consumes = 0;
  for (const auto& e : entries_) {
    if (e.what != "SEND CONSUME") continue;
    ++consumes;
    auto f = ParseFrame(e.body);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    Status st = VerifyConsumeSignature(*f, creds_->alipay_public_key());
    if (GetParam().consume_signatures_valid) {
      EXPECT_TRUE(st.ok()) << st.ToString();
      // Any change to the signed text breaks it.
      Frame altered = *f;
      altered.signed_data.back() = ' ';
      EXPECT_EQ(VerifyConsumeSignature(altered, creds_->alipay_public_key()).code(),
                StatusCode::kSignatureMismatch);
    } else {
      // The Java client only logged this and acked SUCCESS; we must refuse it.
      EXPECT_FALSE(st.ok());
      EXPECT_EQ(st.code(), StatusCode::kSignatureMismatch) << st.ToString();
    }
  }
  EXPECT_GT(consumes, 0);
}

TEST_P(WireCryptoTest, ProduceFramesAreRebuiltByteForByte) {
  int produces = 0;
  for (const auto& e : entries_) {
    if (e.what != "RECV TEXT") continue;
    auto f = ParseFrame(e.body);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    if (f->protocol.cmd != kCmdProduce) continue;
    ++produces;
    ASSERT_TRUE(f->content.has_value());
    auto rebuilt = BuildProduceFrame(*creds_, f->header.stream_id,
                                     std::stoll(f->protocol.timestamp), f->msg_api, *f->content);
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
    EXPECT_EQ(*rebuilt, e.body);
    // And the app's signature verifies with the app public key (what the server checks).
    auto app_public = testing::LoadPublicKey("java-sdk/keys/app.public.spki.b64");
    ASSERT_TRUE(app_public.has_value());
    EXPECT_TRUE(Verify(*app_public, SignType::kRsa2, f->signed_data, f->protocol.sign).ok());
  }
  if (std::string(GetParam().log).find("bad_signature") == std::string::npos) {
    EXPECT_GT(produces, 0);
  }
}

TEST_P(WireCryptoTest, RegisterAndConnectQueriesAreRebuiltByteForByte) {
  int registers = 0;
  int connects = 0;
  for (const auto& e : entries_) {
    if (e.what != "HTTP-REQUEST") continue;
    const auto req = ParseHttpMessage(e.body);
    const std::string query = RequestQuery(req.start_line);
    auto params = FormDecode(query);
    ASSERT_TRUE(params.ok());
    const std::string* ts = FindParam(*params, "timestamp");
    ASSERT_NE(ts, nullptr);
    const std::string* sdk = FindParam(*params, "sdk_version");
    ASSERT_NE(sdk, nullptr);
    EXPECT_EQ(*sdk, kDefaultSdkVersion);
    Result<Params> rebuilt = InvalidArgument("unknown request");
    if (RequestPath(req.start_line) == "/websocket/register.do") {
      ++registers;
      rebuilt = BuildRegisterParams(*creds_, std::stoll(*ts), *FindParam(*params, "nonce"));
    } else {
      ++connects;
      rebuilt = BuildConnectParams(*creds_, *FindParam(*params, "link_token"), std::stoll(*ts));
    }
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
    EXPECT_EQ(BuildQuery(*rebuilt), query);
    // The app signature over the V2 content verifies with the app public key.
    auto app_public = testing::LoadPublicKey("java-sdk/keys/app.public.spki.b64");
    ASSERT_TRUE(app_public.has_value());
    EXPECT_TRUE(Verify(*app_public, SignType::kRsa2, SignContentV2(*params), *FindParam(*params, "sign")).ok());
  }
  EXPECT_EQ(registers, 1);
  EXPECT_EQ(connects, 1);
}

TEST_P(WireCryptoTest, RegisterResponsesVerify) {
  int responses = 0;
  for (const auto& e : entries_) {
    if (e.what != "REGISTER-RESPONSE") continue;
    ++responses;
    auto r = ParseRegisterResponse(ParseHttpMessage(e.body).body);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    Status st = CheckRegisterResponse(*r, *creds_);
    EXPECT_TRUE(st.ok()) << st.ToString();
    // The simulator side reproduces the body from the same parts, signed with the Alipay key.
    auto alipay_private = testing::LoadPrivateKey("java-sdk/keys/alipay.private.pkcs8.b64");
    ASSERT_TRUE(alipay_private.has_value());
    auto sign = Sign(*alipay_private, SignType::kRsa2, r->signed_text);
    ASSERT_TRUE(sign.ok());
    EXPECT_EQ(*sign, r->sign);
    EXPECT_EQ(BuildRegisterResponseBody(r->signed_text, *sign, r->alipay_cert_sn),
              ParseHttpMessage(e.body).body);
  }
  EXPECT_EQ(responses, 1);
}

INSTANTIATE_TEST_SUITE_P(Transcripts, WireCryptoTest, ::testing::ValuesIn(kSessions));

}  // namespace
}  // namespace alipaymsg
