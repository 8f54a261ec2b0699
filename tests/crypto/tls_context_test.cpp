#include <gtest/gtest.h>

#include "crypto/tls_peer.h"
#include "testing/test_paths.h"

namespace alipaymsg {
namespace {

TEST(TlsClientContext, VerifiesPeersAndLoadsAnExtraCa) {
  auto plain = tls::NewClientContext("");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(SSL_CTX_get_verify_mode(*plain), SSL_VERIFY_PEER);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(*plain), TLS1_2_VERSION);
  SSL_CTX_free(*plain);

  auto with_ca = tls::NewClientContext(testing::VectorPath("node-sdk/inputs/alipayRootCert_test.crt"));
  ASSERT_TRUE(with_ca.ok()) << with_ca.status().ToString();
  SSL_CTX_free(*with_ca);

  auto unverified = tls::NewClientContext("", /*verify=*/false);
  ASSERT_TRUE(unverified.ok());
  EXPECT_EQ(SSL_CTX_get_verify_mode(*unverified), SSL_VERIFY_NONE);
  SSL_CTX_free(*unverified);
}

TEST(TlsClientContext, ACaFileThatCannotBeLoadedIsNamed) {
  auto missing = tls::NewClientContext("/nonexistent/ca.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("CA file '/nonexistent/ca.pem' cannot be loaded: "), std::string::npos)
      << missing.status().message();

  // A key is not a certificate.
  const std::string key = testing::VectorPath("node-sdk/inputs/app_private_pkcs8.pem");
  auto not_a_cert = tls::NewClientContext(key);
  ASSERT_FALSE(not_a_cert.ok());
  EXPECT_NE(not_a_cert.status().message().find("CA file '" + key + "' cannot be loaded"), std::string::npos)
      << not_a_cert.status().message();
}

}  // namespace
}  // namespace alipaymsg
