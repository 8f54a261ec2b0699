// register.do (PROTOCOL.md): the signed GET that returns a link_token and the zone cookie, over a
// fresh HTTP(S) connection. Declared without Beast: only register_call.cpp pays for Beast's HTTP.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "alipaymsg/credentials.h"
#include "client/endpoint.h"
#include "client/link.h"
#include "client/step_watchdog.h"

namespace alipaymsg::client {

struct Registration {
  std::string link_token;
  std::string zone;  // from Set-Cookie; empty when the server set none
};

struct RegisterTarget {
  const Endpoint& endpoint;
  ssl::context* tls = nullptr;  // null: plain HTTP
  bool verify_tls = true;
  bool load_test = false;                   // sends "LoadTest: true", as the Java client can
  std::chrono::milliseconds timeout{5000};  // named in timeout errors; `watchdog` enforces it
};

// Signs register.do with `credentials` at `now_ms` with a fresh nonce, sends it to `endpoints`
// and checks the answer (HTTP status, code and signature, link_token, the zone cookie). The caller arms
// `watchdog`; this sets its cancel action for each wait. `target` and `credentials` must outlive
// the call.
asio::awaitable<Result<Registration>> CallRegister(Strand strand, tcp::resolver::results_type endpoints,
                                                   const RegisterTarget& target, const Credentials& credentials,
                                                   int64_t now_ms, std::string nonce, StepWatchdog& watchdog);

// 16 random bytes in hex for register.do's nonce; `fallback` only when OpenSSL's generator fails.
std::string RegisterNonce(const std::function<uint64_t()>& fallback);

}  // namespace alipaymsg::client
