// Starting the simulator in-process for a test, and talking to its admin API.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "alipaymsg/crypto.h"
#include "sim/simulator.h"
#include "testing/test_paths.h"
#include "wire_client.h"

namespace alipaymsg::simtest {

inline std::string Keys(const std::string& name) { return testing::VectorPath("java-sdk/keys/" + name); }

// The Java transcripts' keys (vectors/java-sdk/keys): app and Alipay RSA2 pairs, certs, root.
struct VectorKeys {
  PrivateKey app_private;
  PublicKey alipay_public;
  static VectorKeys Load() {
    auto app = PrivateKey::FromFile(Keys("app.private.pkcs8.b64"));
    auto alipay = PublicKey::FromFile(Keys("alipay.public.spki.b64"));
    if (!app.ok() || !alipay.ok()) {
      ADD_FAILURE() << "vector keys: " << app.status().ToString() << " " << alipay.status().ToString();
      std::abort();
    }
    return VectorKeys{*app, *alipay};
  }
};
inline constexpr const char* kAppCertSn = "d87e621c0e3ed7a9a5ff5f4ba027a3a7";
inline constexpr const char* kAlipayCertSn = "8bebf7fbd7acd128d485952d3ecb123a";
inline constexpr const char* kRootCertSn = "68c421bb1f16ba923a290e15642d75bd";

inline int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Admin {
  Endpoint where;
  boost::json::value Get(const std::string& path, int* status = nullptr) const {
    HttpReply r = Http(where, "GET", path);
    if (status) *status = r.status;
    boost::json::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec) ADD_FAILURE() << "GET " << path << ": " << r.status << " " << r.body << " " << r.error;
    return v;
  }
  boost::json::value Post(const std::string& path, const std::string& body, int* status = nullptr) const {
    HttpReply r = Http(where, "POST", path, body, {{"Content-Type", "application/json"}});
    if (status) *status = r.status;
    boost::json::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec) ADD_FAILURE() << "POST " << path << ": " << r.status << " " << r.body << " " << r.error;
    return v;
  }
  std::string AddMessage(const std::string& app_id, const std::string& content = R"({"n":1})",
                         const std::string& msg_api = "alipay.merchant.order.sync") const {
    auto v = Post("/messages", R"({"app_id":")" + app_id + R"(","msg_api":")" + msg_api + R"(","content":)" + content + "}");
    return v.is_object() && v.as_object().contains("msg_id") ? std::string(v.at("msg_id").as_string()) : "";
  }
  // Polls GET /messages/ID until `pred` holds (generous timeout); returns the last answer.
  boost::json::value WaitMessage(const std::string& id, const std::function<bool(const boost::json::value&)>& pred,
                                 int timeout_ms = 10000) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    boost::json::value v;
    do {
      v = Get("/messages/" + id);
      if (pred(v)) return v;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < deadline);
    ADD_FAILURE() << "message " << id << " never reached the expected state: " << boost::json::serialize(v);
    return v;
  }
  boost::json::value WaitStats(const std::function<bool(const boost::json::value&)>& pred, int timeout_ms = 10000) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    boost::json::value v;
    do {
      v = Get("/stats");
      if (pred(v)) return v;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < deadline);
    ADD_FAILURE() << "stats never reached the expected state: " << boost::json::serialize(v);
    return v;
  }
};

inline std::string State(const boost::json::value& m) {
  return m.is_object() && m.as_object().contains("state") ? std::string(m.at("state").as_string()) : "";
}

}  // namespace alipaymsg::simtest
