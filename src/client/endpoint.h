// Where a connection goes: "host" or "host:port" as given to the Java client's setConnector().
#pragma once

#include <string>
#include <string_view>

#include "alipaymsg/status.h"

namespace alipaymsg::client {

struct Endpoint {
  std::string host;         // name or IP literal (IPv6 without brackets)
  std::string port;         // "443"/"80" when not given
  std::string host_header;  // Host header value: ":port" omitted when it is 80 or 443 (as Java)
  bool tls = true;
  bool host_is_ip = false;  // IP literal: no SNI
};

// Errors name the offending text: empty host, a scheme or path given, a non-numeric or zero port.
Result<Endpoint> ParseServerHost(std::string_view server_host, bool tls);

}  // namespace alipaymsg::client
