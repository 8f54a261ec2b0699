#include "base/host_port.h"

#include <gtest/gtest.h>

namespace alipaymsg {
namespace {

HostPort Ok(std::string_view text, HostPortRules rules = {}) {
  auto r = ParseHostPort(text, rules);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : HostPort{};
}

std::string Error(std::string_view text, HostPortRules rules = {}) {
  auto r = ParseHostPort(text, rules);
  EXPECT_FALSE(r.ok()) << text << " parsed as " << (r.ok() ? r->host : "");
  return r.ok() ? "" : r.status().message();
}

TEST(HostPort, NamesAndAddresses) {
  HostPort a = Ok("127.0.0.1:9464");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9464);
  EXPECT_FALSE(a.ipv6_literal);
  HostPort b = Ok("openchannel.alipay.com:443");
  EXPECT_EQ(b.host, "openchannel.alipay.com");
  EXPECT_EQ(b.port, 443);
  HostPort c = Ok("[::1]:0");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 0);
  EXPECT_TRUE(c.ipv6_literal);
}

TEST(HostPort, OptionalPortAndEmptyHost) {
  HostPortRules server{.port_required = false, .min_port = 1};
  EXPECT_EQ(Ok("openchannel.alipay.com", server).port, -1);
  EXPECT_EQ(Ok("[2001:db8::1]", server).host, "2001:db8::1");
  EXPECT_NE(Error("host", {}).find("has no port"), std::string::npos);
  EXPECT_EQ(Error("8080"), "\"8080\" is a port alone: write host:port, e.g. 127.0.0.1:8080");

  HostPortRules all_interfaces{.empty_host_ok = true};
  HostPort any = Ok(":8080", all_interfaces);
  EXPECT_EQ(any.host, "");
  EXPECT_EQ(any.port, 8080);
  EXPECT_NE(Error(":8080").find("names no host"), std::string::npos);
}

TEST(HostPort, BadPortsSayTheRange) {
  EXPECT_NE(Error("h:").find("from 0 to 65535"), std::string::npos);
  EXPECT_NE(Error("h:65536").find("from 0 to 65535"), std::string::npos);
  EXPECT_NE(Error("h:-1").find("from 0 to 65535"), std::string::npos);
  EXPECT_NE(Error("h:80x").find("from 0 to 65535"), std::string::npos);
  EXPECT_NE(Error("h: 80").find("from 0 to 65535"), std::string::npos);
  EXPECT_NE(Error("h:99999999999999999999").find("from 0 to 65535"), std::string::npos);
  EXPECT_NE(Error("h:0", {.min_port = 1}).find("from 1 to 65535"), std::string::npos);
  EXPECT_EQ(Ok("h:65535").port, 65535);
}

TEST(HostPort, Ipv6MustBeBracketed) {
  EXPECT_NE(Error("::1:80").find("in brackets"), std::string::npos);
  EXPECT_NE(Error("[::1").find("unclosed"), std::string::npos);
  EXPECT_NE(Error("[::1]80").find("expected ':port'"), std::string::npos);
  EXPECT_NE(Error("[]:80").find("empty IPv6"), std::string::npos);
}

TEST(HostPort, FormatsBack) {
  EXPECT_EQ(FormatHostPort("127.0.0.1", 80), "127.0.0.1:80");
  EXPECT_EQ(FormatHostPort("::1", 8080), "[::1]:8080");
}

}  // namespace
}  // namespace alipaymsg
