// Key spelling for the daemon config: kebab-case, camelCase, snake_case and the Spring property names
// all reduce to one normalized form; unknown keys get a "did you mean" from the known ones.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alipaymsg::daemon {

// "ali-pay-cert-public-key-path", "aliPayCertPublicKeyPath", "ALIPAY_CERT_PUBLIC_KEY_PATH" ->
// "alipaycertpublickeypath".
std::string NormalizeKey(std::string_view key);

// Levenshtein distance, or limit + 1 as soon as it is known to exceed `limit` (a key of 4,000
// characters in a config must not cost 4,000 x alias length per known key).
size_t EditDistance(std::string_view a, std::string_view b, size_t limit);

// A known key: its canonical (documented) name and every normalized spelling that means it.
struct KeySpec {
  std::string canonical;             // "app-private-key-path"
  std::vector<std::string> aliases;  // normalized; the canonical's own normalized form included
};

// A key known by its canonical name and, optionally, other normalized spellings ("chartset").
KeySpec Key(std::string canonical, std::vector<std::string> extra_aliases = {});

// The spec whose aliases contain NormalizeKey(key), if any.
const KeySpec* FindKey(const std::vector<KeySpec>& specs, std::string_view key);
// " (did you mean app-id?)" for the closest canonical name within a small distance, else "".
std::string DidYouMean(const std::vector<KeySpec>& specs, std::string_view key);

// The keys of one app block (`alipay:` or an `apps:` item).
const std::vector<KeySpec>& AppKeys();
// The keys of one sinks: item, and of its webhook: map.
const std::vector<KeySpec>& SinkKeys();
const std::vector<KeySpec>& WebhookKeys();
// Spring `alipay.*` properties that belong to the OpenAPI client, not the message channel: accepted
// with a warning so a pasted application.yml block loads.
bool IsIgnoredSpringKey(std::string_view normalized);
// Inline key material (`private-key: MIIE...`), which the daemon refuses: keys live in files.
std::optional<std::string> InlineKeyHint(std::string_view normalized);

}  // namespace alipaymsg::daemon

namespace alipaymsg::daemon {

// http(s)://host[:port][/path][?query] of a webhook; no user:password in it (URLs are logged).
struct HttpUrl {
  bool tls = false;  // https://
  std::string host;
  int port = 80;     // 443 for https:// without a port
  std::string target = "/";
};
std::optional<HttpUrl> ParseHttpUrl(std::string_view url, std::string& why);

}  // namespace alipaymsg::daemon
