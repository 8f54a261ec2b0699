// The listen addresses (admin, notify) and the notify: section's cross-checks.
#include <algorithm>
#include <cctype>

#include "base/host_port.h"
#include "daemon/config_internal.h"

namespace alipaymsg::daemon {

bool ConfigParser::ParseListen(const Value& v, std::string& host, int& port) {
  auto parsed = ParseHostPort(v.text);
  if (!parsed.ok()) {
    Error(v, parsed.status().message() + " (e.g. 127.0.0.1:9464)");
    return false;
  }
  host = parsed->host;
  port = parsed->port;
  return true;
}

// The AES key the Alipay console shows: base64 of 16, 24 or 32 bytes. Checked by shape only, so
// that the error never has to quote the secret.
bool LooksLikeAesKey(std::string_view text) {
  size_t padding = 0;
  while (!text.empty() && text.back() == '=') text.remove_suffix(1), ++padding;
  if (padding > 2) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  }
  const size_t bytes = (text.size() * 6) / 8;
  return (text.size() + padding) % 4 == 0 && (bytes == 16 || bytes == 24 || bytes == 32);
}

void ConfigParser::FinishNotify(DaemonConfig& config) {
  NotifyConfig& n = config.notify;
  n.line = notify_line_;
  const std::string at = notify_line_ > 0 ? file_ + ":" + std::to_string(notify_line_) + ": notify" : "notify";
  auto listen = globals_.find("notifylisten");
  const bool other_settings = !notify_paths_.empty() || globals_.count("notifycertfile") ||
                              globals_.count("notifykeyfile") || globals_.count("notifymaxbodybytes");
  if (listen == globals_.end()) {
    if (other_settings) errors_.push_back(at + ": missing listen (host:port the notification endpoint binds)");
    return;
  }
  if (!notify_paths_.empty()) {
    n.paths.clear();
    for (const Value& p : notify_paths_) {
      if (p.text.empty() || p.text.front() != '/') {
        Error(p, Quote(p.text) + " is not a path (it starts with /, e.g. /alipay/notify)");
      } else if (p.text.find_first_of("?# \t") != std::string::npos) {
        Error(p, Quote(p.text) + ": a path without query, fragment or spaces");
      } else if (std::find(n.paths.begin(), n.paths.end(), p.text) != n.paths.end()) {
        Error(p, Quote(p.text) + " is listed twice");
      } else {
        n.paths.push_back(p.text);
      }
    }
  }
  auto cert = globals_.find("notifycertfile");
  auto key = globals_.find("notifykeyfile");
  if ((cert == globals_.end()) != (key == globals_.end())) {
    const Value& given = cert != globals_.end() ? cert->second : key->second;
    Error(given, std::string("HTTPS needs both notify.cert-file and notify.key-file (") +
                     (cert != globals_.end() ? "key-file" : "cert-file") + " is missing)");
  }
  if (n.limits.idle_timeout_ms > 0 && n.limits.max_connections < 2) {
    Error(globals_.at("notifymaxconnections"), "keep-alive needs room for at least 2 connections");
  }
  auto shared_key = globals_.find("notifyencryptkey");
  if (shared_key != globals_.end()) {
    if (!LooksLikeAesKey(shared_key->second.text)) {
      Error(shared_key->second, "is not an AES key: expected the base64 text of 16, 24 or 32 bytes "
                                "(the key the Alipay console shows under interface content encryption)");
    } else {
      for (AppConfig& app : config.apps) {
        if (app.encrypt_key.empty()) app.encrypt_key = shared_key->second.text;
      }
    }
  }
}

}  // namespace alipaymsg::daemon
