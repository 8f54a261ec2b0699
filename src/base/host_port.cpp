#include "base/host_port.h"

#include <charconv>

namespace alipaymsg {

Result<HostPort> ParseHostPort(std::string_view text, const HostPortRules& rules) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  HostPort out;
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return InvalidArgument(quoted + " has an unclosed '['");
    out.host = std::string(text.substr(1, close - 1));
    out.ipv6_literal = true;
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return InvalidArgument(quoted + ": expected ':port' after ']'");
      port_text = rest.substr(1);
      has_port = true;
    }
    if (out.host.empty()) return InvalidArgument(quoted + ": empty IPv6 address in []");
  } else {
    const size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      return InvalidArgument(quoted + ": write an IPv6 address in brackets, [addr]:port");
    }
    out.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      has_port = true;
    }
  }
  if (out.host.empty() && !rules.empty_host_ok) return InvalidArgument(quoted + " names no host: write host:port");
  if (!has_port) {
    const bool digits_only = !out.host.empty() && out.host.find_first_not_of("0123456789") == std::string::npos;
    if (rules.port_required && digits_only) {
      return InvalidArgument(quoted + " is a port alone: write host:port, e.g. 127.0.0.1:" + out.host);
    }
    if (rules.port_required) return InvalidArgument(quoted + " has no port: write host:port");
    return out;
  }
  int port = -1;
  const char* first = port_text.data();
  const char* last = first + port_text.size();
  auto [end, ec] = std::from_chars(first, last, port);
  if (port_text.empty() || ec != std::errc() || end != last || port < rules.min_port || port > 65535) {
    return InvalidArgument(quoted + ": the port must be a number from " + std::to_string(rules.min_port) +
                           " to 65535");
  }
  out.port = port;
  return out;
}

std::string FormatHostPort(std::string_view host, int port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

}  // namespace alipaymsg
