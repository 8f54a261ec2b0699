// VerifyNotification on the Node SDK's notification vectors (expected per NOTIFY.md: both empty-value
// conventions and both sign_type conventions verify; a tampered one fails) and on notifications
// signed here with the test Alipay key (cert SN selection, GBK, malformed bodies).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "alipaymsg/cert.h"
#include "alipaymsg/notify.h"
#include "protocol/test_keys.h"

namespace alipaymsg {
namespace {

using testing::ReadFileOrFail;

// A .form file is a text file: its final line break is the file's, not the body's (a body never
// holds a raw line break).
std::string FormFile(const std::string& relative) {
  std::string form = ReadFileOrFail(testing::VectorPath(relative));
  if (form.ends_with('\n')) form.pop_back();
  return form;
}
using testing::VectorPath;

std::string Str(const boost::json::value& v) { return std::string(v.as_string()); }

TEST(NotifyVectorsTest, NodeSdkNotifications) {
  boost::system::error_code ec;
  const auto root = boost::json::parse(ReadFileOrFail(VectorPath("node-sdk/vectors.json")), ec);
  ASSERT_FALSE(ec);
  auto pem_key = testing::LoadPublicKey("node-sdk/inputs/alipay_public.pem");
  auto cert_key = testing::LoadPublicKey("node-sdk/inputs/alipayCertPublicKey_RSA2_test.crt", true);
  ASSERT_TRUE(pem_key && cert_key);
  int seen = 0;
  for (const auto& v : root.at("vectors").as_array()) {
    const auto& o = v.as_object();
    if (Str(o.at("kind")) != "verify_notify") continue;
    ++seen;
    const std::string id = Str(o.at("id"));
    const std::string form = FormFile("node-sdk/" + Str(o.at("inputs").at("notificationFile")));
    ASSERT_FALSE(form.empty()) << id;
    const bool tampered = id.find("tampered") != std::string::npos;

    for (const PublicKey* key : {&*pem_key, &*cert_key}) {
      NotifyKeys keys;
      keys.alipay_public_key = key;
      auto r = VerifyNotification(form, keys);
      if (tampered) {
        ASSERT_FALSE(r.ok()) << id;
        EXPECT_EQ(r.status().code(), StatusCode::kSignatureMismatch) << r.status().ToString();
        continue;
      }
      ASSERT_TRUE(r.ok()) << id << ": " << r.status().ToString();
      // The content that verified is the one the server signed.
      EXPECT_EQ(r->sign_content, Str(o.at("serverSideSigning").at("signedContent"))) << id;
      EXPECT_FALSE(r->notify_id.empty()) << id;
      EXPECT_EQ(r->app_id, "2021000000000000");
    }
  }
  EXPECT_EQ(seen, 7);
}

TEST(NotifyVectorsTest, DecodedValuesAndMetadata) {
  auto key = testing::LoadPublicKey("node-sdk/inputs/alipay_public.pem");
  ASSERT_TRUE(key.has_value());
  NotifyKeys keys;
  keys.alipay_public_key = &*key;
  auto r = VerifyNotification(FormFile("node-sdk/inputs/trade_v1style_rsa2.form"), keys);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->notify_id, "2024010100222120000000000000000001");
  EXPECT_EQ(r->notify_type, "trade_status_sync");
  EXPECT_EQ(*FindParam(r->params, "passback_params"), "a%3Db%26c");  // decoded once only
  EXPECT_EQ(*FindParam(r->params, "subject"), "测试 + 商品 & 50% = ok");
  EXPECT_EQ(*FindParam(r->params, "body"), "line1\nline2");
}

class SignedNotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    priv_ = testing::LoadPrivateKey("node-sdk/inputs/alipay_private_pkcs1.pem");
    pub_ = testing::LoadPublicKey("node-sdk/inputs/alipay_public.pem");
    ASSERT_TRUE(priv_ && pub_);
    auto sn = CertSnOfFile(VectorPath("node-sdk/inputs/alipayCertPublicKey_RSA2_test.crt"));
    ASSERT_TRUE(sn.ok()) << sn.status().ToString();
    sn_ = *sn;
  }
  Params Base() const {
    return {{"notify_id", "n-42"}, {"utc_timestamp", "1514210452731"},
            {"msg_method", "alipay.open.mini.order.changed"}, {"app_id", "2021000000000000"},
            {"version", "1.1"}, {"biz_content", "{\"order_id\":\"中文 & = +\"}"},
            {"charset", "UTF-8"}, {"sign_type", "RSA2"}};
  }
  // Signs the V1 content (without sign_type) in `charset` and appends sign.
  std::string SignedForm(Params p, const std::string& charset = "UTF-8") const {
    auto sign = Sign(*priv_, SignType::kRsa2, SignContentV1(p), charset);
    EXPECT_TRUE(sign.ok()) << sign.status().ToString();
    p.emplace_back("sign", *sign);
    if (charset != "UTF-8") {
      for (auto& kv : p) {
        auto enc = EncodeCharset(kv.second, charset);
        EXPECT_TRUE(enc.ok());
        kv.second = *enc;
      }
    }
    return FormEncode(p);
  }
  std::optional<PrivateKey> priv_;
  std::optional<PublicKey> pub_;
  std::string sn_;
};

TEST_F(SignedNotifyTest, MessageServiceNotification) {
  NotifyKeys keys;
  keys.alipay_public_key = &*pub_;
  auto r = VerifyNotification(SignedForm(Base()), keys);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->notify_id, "n-42");
  EXPECT_EQ(r->msg_method, "alipay.open.mini.order.changed");
  EXPECT_EQ(r->biz_content, "{\"order_id\":\"中文 & = +\"}");
}

TEST_F(SignedNotifyTest, CertSnPicksTheKeyAndUnknownSnIsNamed) {
  Params p = Base();
  p.emplace_back("alipay_cert_sn", sn_);
  const std::string form = SignedForm(p);
  NotifyKeys keys;
  keys.alipay_keys_by_cert_sn.emplace(sn_, *pub_);
  auto r = VerifyNotification(form, keys);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  Params q = Base();
  q.emplace_back("alipay_cert_sn", "feedface000000000000000000000000");
  auto unknown = VerifyNotification(SignedForm(q), keys);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("feedface000000000000000000000000"), std::string::npos)
      << unknown.status().message();
  EXPECT_NE(unknown.status().message().find(sn_), std::string::npos);

  // A key from the wrong certificate does not verify.
  auto other = testing::LoadPublicKey("java-sdk/keys/alipay.public.spki.b64");
  ASSERT_TRUE(other.has_value());
  NotifyKeys wrong;
  wrong.alipay_keys_by_cert_sn.emplace(sn_, *other);
  EXPECT_EQ(VerifyNotification(form, wrong).status().code(), StatusCode::kSignatureMismatch);
}

TEST_F(SignedNotifyTest, GbkNotification) {
  Params p = Base();
  for (auto& kv : p) {
    if (kv.first == "charset") kv.second = "GBK";
  }
  const std::string form = SignedForm(p, "GBK");
  NotifyKeys keys;
  keys.alipay_public_key = &*pub_;
  auto r = VerifyNotification(form, keys);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->biz_content, "{\"order_id\":\"中文 & = +\"}");  // back in UTF-8
}

TEST_F(SignedNotifyTest, MalformedBodies) {
  NotifyKeys keys;
  keys.alipay_public_key = &*pub_;
  const std::string good = SignedForm(Base());
  EXPECT_TRUE(VerifyNotification(good, keys).ok());

  EXPECT_EQ(VerifyNotification(good + "&x=%G0", keys).status().code(), StatusCode::kParseError);
  auto dup = VerifyNotification(good + "&notify_id=n-43", keys);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("notify_id"), std::string::npos);
  auto no_sign = VerifyNotification("notify_id=1&app_id=2", keys);
  ASSERT_FALSE(no_sign.ok());
  EXPECT_NE(no_sign.status().message().find("sign"), std::string::npos);
  auto bad_type = VerifyNotification("notify_id=1&sign=abc&sign_type=MD5", keys);
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.status().message().find("MD5"), std::string::npos);
  auto bad_b64 = VerifyNotification("notify_id=1&sign=%25%25%25&sign_type=RSA2", keys);
  EXPECT_FALSE(bad_b64.ok());
  EXPECT_NE(bad_b64.status().code(), StatusCode::kOk);
  EXPECT_FALSE(VerifyNotification("", keys).ok());
  EXPECT_FALSE(VerifyNotification(good, NotifyKeys{}).ok());
}

}  // namespace
}  // namespace alipaymsg
