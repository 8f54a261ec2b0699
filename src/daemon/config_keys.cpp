#include "daemon/config_keys.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>

#include "base/host_port.h"

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

size_t EditDistance(std::string_view a, std::string_view b, size_t limit) {
  const size_t length_difference = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (length_difference > limit) return limit + 1;
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
    // Distances along a path never decrease: once a whole row exceeds the limit, so will the end.
    if (*std::min_element(row.begin(), row.end()) > limit) return limit + 1;
  }
  return std::min(row[b.size()], limit + 1);
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
  const size_t limit = std::max<size_t>(2, normalized.size() / 4);
  const KeySpec* best = nullptr;
  size_t best_distance = limit + 1;
  for (const KeySpec& spec : specs) {
    for (const std::string& alias : spec.aliases) {
      size_t d = EditDistance(normalized, alias, limit);
      if (d < best_distance) best = &spec, best_distance = d;
    }
  }
  if (!best) return "";
  return " (did you mean " + best->canonical + "?)";
}

KeySpec Key(std::string canonical, std::vector<std::string> extra_aliases) {
  extra_aliases.push_back(NormalizeKey(canonical));
  return KeySpec{std::move(canonical), std::move(extra_aliases)};
}

const std::vector<KeySpec>& AppKeys() {
  static const std::vector<KeySpec> keys = {
      Key("app-id"),
      Key("server-host", {"connector"}),
      Key("ssl"),
      Key("ca-file"),
      Key("sign-type"),
      Key("charset", {"chartset"}),  // the Spring article's spelling
      Key("app-private-key-path", {"appcertprivatekeypath"}),
      Key("alipay-public-key-path"),
      Key("app-cert-public-key-path", {"appcertpath"}),
      Key("alipay-cert-public-key-path", {"alipaycertpath"}),
      Key("alipay-root-cert-path", {"rootcertpath"}),
      Key("encrypt-key", {"aeskey"}),
  };
  return keys;
}

const std::vector<KeySpec>& SinkKeys() {
  static const std::vector<KeySpec> keys = {Key("match"),      Key("jsonl"),      Key("exec"),
                                            Key("webhook"),    Key("timeout-ms"), Key("concurrency"),
                                            Key("redis"),      Key("nats")};
  return keys;
}

const std::vector<KeySpec>& WebhookKeys() {
  static const std::vector<KeySpec> keys = {Key("url"), Key("headers"), Key("ca-file")};
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
  const std::string quoted = "\"" + std::string(url) + "\"";
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || (parsed->scheme_id() != boost::urls::scheme::http &&
                  parsed->scheme_id() != boost::urls::scheme::https)) {
    why = quoted + " is not an http:// or https:// URL";
    return std::nullopt;
  }
  if (parsed->has_userinfo()) {
    why = quoted + ": no user or password in the URL (URLs are logged): send credentials in headers:";
    return std::nullopt;
  }
  HttpUrl out;
  out.tls = parsed->scheme_id() == boost::urls::scheme::https;
  auto where = ParseHostPort(parsed->encoded_host_and_port(), {.port_required = false, .min_port = 1});
  if (!where.ok()) {
    why = quoted + ": " + where.status().message();
    return std::nullopt;
  }
  out.host = where->host;
  out.port = where->port >= 0 ? where->port : (out.tls ? 443 : 80);
  out.target = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query()) out.target += "?" + std::string(parsed->encoded_query());
  return out;
}

}  // namespace alipaymsg::daemon
