// Who may register and connect: the configured apps (key or cert mode), the simulator's own Alipay
// identity, register.do / WebSocket connect parameter checks, and single-use link tokens.
// Pure: no sockets; `now` is passed in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "alipaymsg/crypto.h"
#include "alipaymsg/params.h"
#include "alipaymsg/status.h"

namespace alipaymsg::sim {

struct AppEntry {
  std::string app_id;
  PublicKey public_key;
  bool cert_mode = false;    // configured with an app certificate
  std::string app_cert_sn;   // cert mode
  std::string source;        // file it came from, for messages
};

// Loads APP_ID=FILE: a public key (PEM or bare base64) or an app certificate (PEM; cert mode).
Result<AppEntry> LoadApp(const std::string& app_id, const std::string& path);

// The simulator's Alipay side.
struct AlipayIdentity {
  PrivateKey private_key;
  std::optional<std::string> alipay_cert_sn;  // --alipay-cert given: cert-mode clients are served
  std::string root_cert_sn;                   // RSA root SN of --root-cert ('_'-joined)
};
Result<AlipayIdentity> LoadAlipayIdentity(const std::string& private_key_path, const std::string& alipay_cert_path,
                                          const std::string& root_cert_path);

// An Alipay gateway error: code != 10000 with sub_code / sub_msg.
struct GatewayError {
  std::string code;
  std::string msg;
  std::string sub_code;
  std::string sub_msg;
};

// A register.do or connect request that passed (error empty) or failed the checks.
struct CheckedRequest {
  std::optional<GatewayError> error;
  Params params;
  const AppEntry* app = nullptr;
  SignType sign_type = SignType::kRsa2;  // the client's (RSA2 when it sent none we understand)
  std::string charset = "UTF-8";
  bool cert_client = false;              // it sent app_cert_sn
  std::string expected_sign_content;     // what the server verified against
  std::string link_token;                // connect only
  std::string token_zone;                // connect only: the zone the token was issued with
};

struct AuthOptions {
  int64_t timestamp_window_ms = 15 * 60 * 1000;  // 0 = do not check timestamps
  int64_t link_token_ttl_ms = 5 * 60 * 1000;
};

class Authenticator {
 public:
  Authenticator(std::vector<AppEntry> apps, const AlipayIdentity* identity, AuthOptions options, uint64_t seed);

  const AppEntry* FindApp(std::string_view app_id) const;
  const std::vector<AppEntry>& apps() const { return apps_; }
  const AuthOptions& options() const { return options_; }

  // register.do query (the text after '?').
  CheckedRequest CheckRegister(std::string_view query, int64_t now_ms) const;
  // WebSocket connect query and the raw Cookie header(s). On success the link token is used up.
  CheckedRequest CheckConnect(std::string_view query, std::string_view cookie_header, int64_t now_ms);

  // A fresh single-use token for `app_id`, valid for link_token_ttl_ms.
  std::string IssueLinkToken(const std::string& app_id, bool cert_client, const std::string& zone, int64_t now_ms);
  // A token chosen by the caller (replaying a recorded session whose register answer named it).
  void SeedLinkToken(const std::string& token, const std::string& app_id, const std::string& zone, int64_t now_ms);

 private:
  struct Token {
    std::string app_id;
    bool cert_client = false;
    std::string zone;
    int64_t expires_ms = 0;
    bool used = false;
  };
  // Shared checks: parameters, app, sign type, charset, timestamp, cert SNs, signature.
  CheckedRequest CheckCommon(std::string_view query, bool is_register, int64_t now_ms) const;
  void ForgetOldTokens(int64_t now_ms);

  std::vector<AppEntry> apps_;
  const AlipayIdentity* identity_;
  AuthOptions options_;
  std::mt19937_64 random_;
  std::unordered_map<std::string, Token> tokens_;
  std::multimap<int64_t, std::string> token_expiry_;
};

// "zone" from a Cookie header ("zone=GZ00B;" or "a=b; zone=GZ00B"); empty when absent.
std::string ZoneFromCookie(std::string_view cookie_header);
// 32 lowercase hex characters.
std::string RandomHex32(std::mt19937_64& random);

}  // namespace alipaymsg::sim
