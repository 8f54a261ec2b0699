// The one parser of "host:port" text in the project: listen addresses (admin, notify, the
// simulator's --listen/--admin), server hosts (server-host, a connection's endpoint) and the
// authority of sink URLs. Callers add what the address is for to the error.
#pragma once

#include <string>
#include <string_view>

#include "alipaymsg/status.h"

namespace alipaymsg {

struct HostPort {
  std::string host;  // without the brackets of an IPv6 literal; may be empty when allowed
  int port = -1;     // -1: none given (and none required)
  bool ipv6_literal = false;  // written as [addr]
};

struct HostPortRules {
  bool port_required = true;
  int min_port = 0;            // 0 for listeners ("any free port"), 1 for servers to connect to
  bool empty_host_ok = false;  // ":8080" (all interfaces)
};

// "host:port", "[v6]:port", or "host" / "[v6]" when the port is optional. An IPv6 address must be
// in brackets (so "::1:80" is an error, not a guess). Errors quote the text and say what is wrong.
Result<HostPort> ParseHostPort(std::string_view text, const HostPortRules& rules = {});

// "host:port" back again, with brackets for an IPv6 literal.
std::string FormatHostPort(std::string_view host, int port);

}  // namespace alipaymsg
