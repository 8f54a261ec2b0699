#include "daemon/config_keys.h"

#include <algorithm>
#include <cctype>

namespace alipaymsg::daemon {

std::string NormalizeKey(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '-' || c == '_') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const KeySpec* FindKey(const std::vector<KeySpec>& specs, std::string_view key) {
  const std::string normalized = NormalizeKey(key);
  for (const KeySpec& spec : specs) {
    if (std::find(spec.aliases.begin(), spec.aliases.end(), normalized) != spec.aliases.end()) {
      return &spec;
    }
  }
  return nullptr;
}

std::string DidYouMean(const std::vector<KeySpec>& specs, std::string_view key) {
  const std::string normalized = NormalizeKey(key);
  const KeySpec* best = nullptr;
  size_t best_distance = 0;
  for (const KeySpec& spec : specs) {
    for (const std::string& alias : spec.aliases) {
      size_t d = EditDistance(normalized, alias);
      if (!best || d < best_distance) best = &spec, best_distance = d;
    }
  }
  const size_t limit = std::max<size_t>(2, normalized.size() / 4);
  if (!best || best_distance > limit) return "";
  return " (did you mean " + best->canonical + "?)";
}

namespace {

KeySpec Spec(std::string canonical, std::vector<std::string> extra = {}) {
  extra.push_back(NormalizeKey(canonical));
  return KeySpec{std::move(canonical), std::move(extra)};
}

}  // namespace

const std::vector<KeySpec>& AppKeys() {
  static const std::vector<KeySpec> keys = {
      Spec("app-id"),
      Spec("server-host", {"connector"}),
      Spec("ssl"),
      Spec("ca-file"),
      Spec("sign-type"),
      Spec("charset", {"chartset"}),  // the Spring article's spelling
      Spec("app-private-key-path", {"appcertprivatekeypath"}),
      Spec("alipay-public-key-path"),
      Spec("app-cert-public-key-path", {"appcertpath"}),
      Spec("alipay-cert-public-key-path", {"alipaycertpath"}),
      Spec("alipay-root-cert-path", {"rootcertpath"}),
      Spec("encrypt-key", {"aeskey"}),
  };
  return keys;
}

bool IsIgnoredSpringKey(std::string_view normalized) {
  static const std::vector<std::string> ignored = {
      "serverurl", "gatewayurl", "gateway", "notifyurl", "returnurl", "format",
      "encrypttype", "proxyhost", "proxyport"};
  return std::find(ignored.begin(), ignored.end(), normalized) != ignored.end();
}

std::optional<std::string> InlineKeyHint(std::string_view normalized) {
  if (normalized == "privatekey" || normalized == "appprivatekey") {
    return std::string("inline keys are not read; put the key in a file and set app-private-key-path");
  }
  if (normalized == "alipaypublickey" || normalized == "publickey") {
    return std::string(
        "inline keys are not read; put the key in a file and set alipay-public-key-path");
  }
  return std::nullopt;
}

}  // namespace alipaymsg::daemon

namespace alipaymsg::daemon {

std::optional<HttpUrl> ParseHttpUrl(std::string_view url, std::string& why) {
  HttpUrl out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    out.tls = true;
    out.port = 443;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    why = "\"" + std::string(url) + "\" is not an http:// or https:// URL";
    return std::nullopt;
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) out.target = std::string(rest.substr(slash));
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    int value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535) {
        why = "port \"" + std::string(port) + "\" is not a number";
        return std::nullopt;
      }
      value = value * 10 + (c - '0');
    }
    if (port.empty() || value < 1 || value > 65535) {
      why = "port \"" + std::string(port) + "\" is not a number from 1 to 65535";
      return std::nullopt;
    }
    out.port = value;
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) {
    why = "no host in \"" + std::string(url) + "\"";
    return std::nullopt;
  }
  out.host = std::string(authority);
  return out;
}

}  // namespace alipaymsg::daemon
