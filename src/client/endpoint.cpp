#include "client/endpoint.h"

#include <algorithm>
#include <cctype>

namespace alipaymsg::client {
namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool LooksLikeIpv4(std::string_view s) {
  int dots = 0;
  for (char c : s) {
    if (c == '.') ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return dots == 3;
}

}  // namespace

Result<Endpoint> ParseServerHost(std::string_view server_host, bool tls) {
  const std::string quoted = "server host '" + std::string(server_host) + "'";
  if (server_host.empty()) return InvalidArgument("server host is empty");
  if (server_host.find("://") != std::string_view::npos)
    return InvalidArgument(quoted + ": give host[:port] only, without a scheme (tls selects https/wss)");
  if (server_host.find_first_of("/?# \t") != std::string_view::npos)
    return InvalidArgument(quoted + ": give host[:port] only, without a path or spaces");

  Endpoint endpoint;
  endpoint.tls = tls;
  std::string_view port;
  if (server_host.front() == '[') {  // [v6]:port
    const size_t close = server_host.find(']');
    if (close == std::string_view::npos) return InvalidArgument(quoted + ": unbalanced '['");
    endpoint.host = std::string(server_host.substr(1, close - 1));
    endpoint.host_is_ip = true;
    std::string_view rest = server_host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return InvalidArgument(quoted + ": expected ':port' after ']'");
      port = rest.substr(1);
      if (port.empty()) return InvalidArgument(quoted + ": empty port");
    }
  } else {
    const size_t colon = server_host.rfind(':');
    if (colon != std::string_view::npos && server_host.find(':') != colon)
      return InvalidArgument(quoted + ": write an IPv6 address as [addr]:port");
    if (colon != std::string_view::npos) {
      port = server_host.substr(colon + 1);
      if (port.empty()) return InvalidArgument(quoted + ": empty port");
    }
    endpoint.host = std::string(server_host.substr(0, colon));
    endpoint.host_is_ip = LooksLikeIpv4(endpoint.host);
  }
  if (endpoint.host.empty()) return InvalidArgument(quoted + ": empty host name");
  if (!port.empty()) {
    if (!AllDigits(port) || port.size() > 5 || std::stoi(std::string(port)) == 0 ||
        std::stoi(std::string(port)) > 65535)
      return InvalidArgument(quoted + ": port must be a number from 1 to 65535");
    endpoint.port = std::string(port);
  } else {
    endpoint.port = tls ? "443" : "80";
  }
  const bool default_port = endpoint.port == "80" || endpoint.port == "443";
  const bool bracket = endpoint.host.find(':') != std::string::npos;
  endpoint.host_header = bracket ? "[" + endpoint.host + "]" : endpoint.host;
  if (!default_port) endpoint.host_header += ":" + endpoint.port;
  return endpoint;
}

}  // namespace alipaymsg::client
