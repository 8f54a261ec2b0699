#include "client/endpoint.h"

#include <cctype>

#include "base/host_port.h"

namespace alipaymsg::client {
namespace {

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

  auto where = ParseHostPort(server_host, {.port_required = false, .min_port = 1});
  if (!where.ok()) return where.status().WithContext("server host");
  Endpoint endpoint;
  endpoint.tls = tls;
  endpoint.host = where->host;
  endpoint.host_is_ip = where->ipv6_literal || LooksLikeIpv4(endpoint.host);
  endpoint.port = where->port >= 0 ? std::to_string(where->port) : (tls ? "443" : "80");
  const bool default_port = endpoint.port == "80" || endpoint.port == "443";
  const bool bracket = endpoint.host.find(':') != std::string::npos;
  endpoint.host_header = bracket ? "[" + endpoint.host + "]" : endpoint.host;
  if (!default_port) endpoint.host_header += ":" + endpoint.port;
  return endpoint;
}

}  // namespace alipaymsg::client
