#include "sim/auth.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "alipaymsg/cert.h"

namespace alipaymsg::sim {

namespace {

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

GatewayError Missing(std::string_view param, std::string_view sub_code) {
  return GatewayError{"40001", "Missing Required Arguments", std::string(sub_code),
                      "missing required parameter " + std::string(param)};
}

GatewayError Invalid(std::string_view sub_code, std::string sub_msg) {
  return GatewayError{"40002", "Invalid Arguments", std::string(sub_code), std::move(sub_msg)};
}

bool IsBlank(const std::string* v) {
  if (v == nullptr) return true;
  for (char c : *v) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::vector<std::string_view> SplitUnderscore(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find('_', pos);
    if (end == std::string_view::npos) end = s.size();
    if (end > pos) parts.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return parts;
}

}  // namespace

Result<AppEntry> LoadApp(const std::string& app_id, const std::string& path) {
  if (app_id.empty()) return InvalidArgument("--app needs APP_ID=FILE, got an empty app id");
  auto text = ReadText(path);
  if (!text.ok()) return text.status().WithContext("app " + app_id);
  if (text->find("BEGIN CERTIFICATE") != std::string::npos) {
    auto certs = Certificate::ParsePemBundle(*text, path);
    if (!certs.ok()) return certs.status().WithContext("app " + app_id + " certificate");
    auto key = certs->front().GetPublicKey();
    if (!key.ok()) return key.status().WithContext("app " + app_id + " certificate " + path);
    return AppEntry{app_id, std::move(key).value(), true, certs->front().Sn(), path};
  }
  auto key = PublicKey::FromText(*text, path);
  if (!key.ok()) return key.status().WithContext("app " + app_id + " public key");
  return AppEntry{app_id, std::move(key).value(), false, "", path};
}

Result<AlipayIdentity> LoadAlipayIdentity(const std::string& private_key_path, const std::string& alipay_cert_path,
                                          const std::string& root_cert_path) {
  if (private_key_path.empty()) return InvalidArgument("--alipay-private-key is required");
  auto key = PrivateKey::FromFile(private_key_path);
  if (!key.ok()) return key.status().WithContext("--alipay-private-key");
  AlipayIdentity identity{std::move(key).value(), std::nullopt, ""};
  if (alipay_cert_path.empty() != root_cert_path.empty()) {
    return InvalidArgument("cert mode needs both --alipay-cert and --root-cert");
  }
  if (alipay_cert_path.empty()) return identity;
  auto certs = Certificate::LoadPemFile(alipay_cert_path);
  if (!certs.ok()) return certs.status().WithContext("--alipay-cert");
  auto cert_key = certs->front().GetPublicKey();
  if (!cert_key.ok()) return cert_key.status().WithContext("--alipay-cert " + alipay_cert_path);
  Status pair = CheckKeyPair(identity.private_key, *cert_key);
  if (!pair.ok()) {
    return InvalidArgument("--alipay-cert " + alipay_cert_path + " does not hold the public key of --alipay-private-key " +
                           private_key_path + ": " + pair.message());
  }
  identity.alipay_cert_sn = certs->front().Sn();
  auto bundle = ReadText(root_cert_path);
  if (!bundle.ok()) return bundle.status().WithContext("--root-cert");
  auto root_sn = RootCertSn(*bundle, SignType::kRsa2);
  if (!root_sn.ok()) return root_sn.status().WithContext("--root-cert " + root_cert_path);
  if (!root_sn->has_value()) return InvalidArgument("--root-cert " + root_cert_path + " holds no RSA-signed certificate");
  identity.root_cert_sn = **root_sn;
  return identity;
}

std::string ZoneFromCookie(std::string_view cookie) {
  std::string zone;
  size_t pos = 0;
  while (pos < cookie.size()) {
    size_t end = cookie.find_first_of(";,", pos);
    if (end == std::string_view::npos) end = cookie.size();
    std::string_view piece = cookie.substr(pos, end - pos);
    size_t eq = piece.find('=');
    if (eq != std::string_view::npos) {
      std::string_view name = piece.substr(0, eq), value = piece.substr(eq + 1);
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      if (name == "zone") zone = std::string(value);
    }
    pos = end + 1;
  }
  return zone;
}

std::string RandomHex32(std::mt19937_64& random) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int half = 0; half < 2; ++half) {
    uint64_t v = random();
    for (int i = 0; i < 16; ++i) out[half * 16 + i] = kHex[(v >> (4 * i)) & 0xF];
  }
  return out;
}

Authenticator::Authenticator(std::vector<AppEntry> apps, const AlipayIdentity* identity, AuthOptions options,
                             uint64_t seed)
    : apps_(std::move(apps)), identity_(identity), options_(options), random_(seed) {}

const AppEntry* Authenticator::FindApp(std::string_view app_id) const {
  for (const auto& app : apps_) {
    if (app.app_id == app_id) return &app;
  }
  return nullptr;
}

CheckedRequest Authenticator::CheckCommon(std::string_view query, bool is_register, int64_t now_ms) const {
  CheckedRequest out;
  auto params = FormDecode(query);
  if (!params.ok()) {
    out.error = Invalid("isv.invalid-parameter", "the query string does not decode: " + params.status().message());
    return out;
  }
  out.params = std::move(params).value();
  const Params& p = out.params;

  const std::string* app_id = FindParam(p, "app_id");
  const std::string* sign = FindParam(p, "sign");
  const std::string* sign_type = FindParam(p, "sign_type");
  const std::string* timestamp = FindParam(p, "timestamp");
  const std::string* charset = FindParam(p, "charset");
  const std::string* app_cert_sn = FindParam(p, "app_cert_sn");
  const std::string* root_sn = FindParam(p, "alipay_root_cert_sn");
  if (IsBlank(app_id)) return out.error = Missing("app_id", "isv.missing-app-id"), out;
  if (IsBlank(sign_type)) return out.error = Missing("sign_type", "isv.missing-signature-type"), out;
  if (IsBlank(sign)) return out.error = Missing("sign", "isv.missing-signature"), out;
  if (IsBlank(timestamp)) return out.error = Missing("timestamp", "isv.missing-timestamp"), out;
  if (IsBlank(charset)) return out.error = Missing("charset", "isv.missing-charset"), out;
  if (is_register && IsBlank(FindParam(p, "nonce"))) return out.error = Missing("nonce", "isv.missing-nonce"), out;
  if (!is_register && IsBlank(FindParam(p, "link_token"))) {
    return out.error = Missing("link_token", "isv.missing-link-token"), out;
  }

  out.app = FindApp(*app_id);
  if (out.app == nullptr) return out.error = Invalid("isv.invalid-app-id", "无效的AppID参数: no app " + *app_id + " is configured in the simulator"), out;

  auto type = ParseSignType(*sign_type);
  if (!type.ok() || *type == SignType::kSm2) {
    return out.error = Invalid("isv.invalid-signature-type",
                               "sign_type '" + *sign_type + "' is not supported here (use RSA2 or RSA)"), out;
  }
  out.sign_type = *type;
  if (!EqualsIgnoreCase(*charset, "UTF-8") && !EqualsIgnoreCase(*charset, "GBK")) {
    return out.error = Invalid("isv.invalid-charset", "charset '" + *charset + "' is not supported (use UTF-8 or GBK)"), out;
  }
  out.charset = *charset;

  int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp->data(), timestamp->data() + timestamp->size(), ts);
  if (ec != std::errc() || end != timestamp->data() + timestamp->size()) {
    return out.error = Invalid("isv.invalid-timestamp", "timestamp '" + *timestamp + "' is not Unix epoch milliseconds"), out;
  }
  if (options_.timestamp_window_ms > 0 && std::llabs(now_ms - ts) > options_.timestamp_window_ms) {
    return out.error = Invalid("isv.invalid-timestamp",
                               "timestamp " + *timestamp + " is " + std::to_string(now_ms - ts) +
                                   " ms away from the server time " + std::to_string(now_ms) + " (allowed: ±" +
                                   std::to_string(options_.timestamp_window_ms) + " ms)"), out;
  }

  out.cert_client = !IsBlank(app_cert_sn);
  if (out.cert_client) {
    if (!out.app->cert_mode) {
      return out.error = Invalid("isv.invalid-app-cert-sn",
                                 "app " + *app_id + " is configured in key mode (public key " + out.app->source +
                                     ") but the request carries app_cert_sn"), out;
    }
    if (!identity_->alipay_cert_sn) {
      return out.error = Invalid("isv.invalid-app-cert-sn",
                                 "the simulator was started without --alipay-cert/--root-cert; cert mode is off"), out;
    }
    if (*app_cert_sn != out.app->app_cert_sn) {
      return out.error = Invalid("isv.invalid-app-cert-sn",
                                 "app_cert_sn " + *app_cert_sn + " does not match the app certificate " +
                                     out.app->source + " (SN " + out.app->app_cert_sn + ")"), out;
    }
    if (IsBlank(root_sn)) return out.error = Missing("alipay_root_cert_sn", "isv.missing-alipay-root-cert-sn"), out;
    bool known = false;
    auto ours = SplitUnderscore(identity_->root_cert_sn);
    for (auto theirs : SplitUnderscore(*root_sn)) {
      for (auto mine : ours) known = known || theirs == mine;
    }
    if (!known) {
      return out.error = Invalid("isv.invalid-alipay-root-cert-sn",
                                 "alipay_root_cert_sn " + *root_sn + " names no root of the simulator's bundle (" +
                                     identity_->root_cert_sn + ")"), out;
    }
  } else if (out.app->cert_mode) {
    return out.error = Missing("app_cert_sn", "isv.missing-app-cert-sn"), out;
  }

  // §4.1: sorted, sign excluded, empty values skipped; also accept the older "keep empties" form.
  out.expected_sign_content = SignContentV2(p, EmptyValues::kSkip);
  Status verified = Verify(out.app->public_key, out.sign_type, out.expected_sign_content, *sign, out.charset);
  if (!verified.ok()) {
    std::string with_empties = SignContentV2(p, EmptyValues::kKeep);
    if (with_empties != out.expected_sign_content &&
        Verify(out.app->public_key, out.sign_type, with_empties, *sign, out.charset).ok()) {
      return out;
    }
    out.error = Invalid("isv.invalid-signature",
                        "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：" +
                            out.expected_sign_content);
  }
  return out;
}

CheckedRequest Authenticator::CheckRegister(std::string_view query, int64_t now_ms) const {
  return CheckCommon(query, true, now_ms);
}

CheckedRequest Authenticator::CheckConnect(std::string_view query, std::string_view cookie_header, int64_t now_ms) {
  ForgetOldTokens(now_ms);
  CheckedRequest out = CheckCommon(query, false, now_ms);
  if (out.error) return out;
  out.link_token = *FindParam(out.params, "link_token");
  auto it = tokens_.find(out.link_token);
  if (it == tokens_.end()) {
    out.error = Invalid("isv.invalid-link-token", "link_token " + out.link_token + " was never issued (or is long gone)");
    return out;
  }
  Token& token = it->second;
  if (token.used) {
    out.error = Invalid("isv.link-token-used", "link_token " + out.link_token + " was already used (it is single-use: register again)");
  } else if (now_ms >= token.expires_ms) {
    out.error = Invalid("isv.link-token-expired", "link_token " + out.link_token + " expired " +
                                                      std::to_string(now_ms - token.expires_ms) + " ms ago");
  } else if (token.app_id != out.app->app_id) {
    out.error = Invalid("isv.invalid-link-token", "link_token was issued to app " + token.app_id + ", not " + out.app->app_id);
  }
  if (out.error) return out;
  token.used = true;  // single use: also when the zone cookie below is wrong
  out.token_zone = token.zone;
  std::string zone = ZoneFromCookie(cookie_header);
  if (!token.zone.empty() && zone != token.zone) {
    out.error = Invalid("isv.invalid-zone", zone.empty() ? "no zone cookie (expected cookie: zone=" + token.zone + ";)"
                                                         : "zone cookie '" + zone + "' but register answered zone=" + token.zone);
  }
  return out;
}

std::string Authenticator::IssueLinkToken(const std::string& app_id, bool cert_client, const std::string& zone,
                                          int64_t now_ms) {
  ForgetOldTokens(now_ms);
  std::string value = RandomHex32(random_);
  int64_t expires = now_ms + options_.link_token_ttl_ms;
  tokens_[value] = Token{app_id, cert_client, zone, expires, false};
  token_expiry_.emplace(expires, value);
  return value;
}

void Authenticator::SeedLinkToken(const std::string& token, const std::string& app_id, const std::string& zone,
                                  int64_t now_ms) {
  int64_t expires = now_ms + options_.link_token_ttl_ms;
  tokens_[token] = Token{app_id, false, zone, expires, false};
  token_expiry_.emplace(expires, token);
}

void Authenticator::ForgetOldTokens(int64_t now_ms) {
  // Keep expired and used tokens a while so a late or second use gets a precise error.
  const int64_t keep = std::max<int64_t>(options_.link_token_ttl_ms, 10 * 60 * 1000);
  while (!token_expiry_.empty() && token_expiry_.begin()->first + keep < now_ms) {
    tokens_.erase(token_expiry_.begin()->second);
    token_expiry_.erase(token_expiry_.begin());
  }
}

}  // namespace alipaymsg::sim
