#include "client/endpoint.h"

#include <gtest/gtest.h>

namespace alipaymsg::client {
namespace {

TEST(EndpointTest, DefaultsPortsByScheme) {
  auto tls = ParseServerHost("openchannel.alipay.com", true);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_EQ(tls->host, "openchannel.alipay.com");
  EXPECT_EQ(tls->port, "443");
  EXPECT_EQ(tls->host_header, "openchannel.alipay.com");
  EXPECT_FALSE(tls->host_is_ip);
  auto plain = ParseServerHost("localhost", false);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, "80");
}

TEST(EndpointTest, HostHeaderKeepsNonDefaultPortsOnly) {
  auto sim = ParseServerHost("127.0.0.1:18080", false);
  ASSERT_TRUE(sim.ok());
  EXPECT_EQ(sim->host, "127.0.0.1");
  EXPECT_EQ(sim->port, "18080");
  EXPECT_EQ(sim->host_header, "127.0.0.1:18080");
  EXPECT_TRUE(sim->host_is_ip);
  auto explicit443 = ParseServerHost("example.com:443", true);
  ASSERT_TRUE(explicit443.ok());
  EXPECT_EQ(explicit443->host_header, "example.com");
  auto v6 = ParseServerHost("[::1]:8443", true);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:8443");
  EXPECT_TRUE(v6->host_is_ip);
}

TEST(EndpointTest, MistakesAreNamed) {
  auto scheme = ParseServerHost("wss://openchannel.alipay.com", true);
  EXPECT_EQ(scheme.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(scheme.status().message().find("without a scheme"), std::string::npos);
  EXPECT_FALSE(ParseServerHost("", true).ok());
  EXPECT_FALSE(ParseServerHost("host/path", true).ok());
  EXPECT_FALSE(ParseServerHost("host:", true).ok());
  EXPECT_FALSE(ParseServerHost("host:0", true).ok());
  EXPECT_FALSE(ParseServerHost("host:70000", true).ok());
  EXPECT_FALSE(ParseServerHost("host:http", true).ok());
  EXPECT_FALSE(ParseServerHost(":8080", true).ok());
  auto bare_v6 = ParseServerHost("::1", true);
  EXPECT_FALSE(bare_v6.ok());
  EXPECT_NE(bare_v6.status().message().find("[addr]:port"), std::string::npos);
}

}  // namespace
}  // namespace alipaymsg::client
