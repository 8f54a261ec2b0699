// An independent open-channel client for the simulator tests, written from PROTOCOL.md alone: it
// builds queries, sign content and frames by hand and shares no framing code with the server.
// Only the RSA primitives come from the crypto module. Beast stays inside wire_client.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "alipaymsg/cert.h"
#include "alipaymsg/crypto.h"

namespace alipaymsg::simtest {

struct Endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string ca_file;  // non-empty: TLS, verifying the server against this CA
};

struct HttpReply {
  int status = 0;
  std::string body;
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string error;                                  // transport failure
  std::string Header(const std::string& lower_name) const;
};

HttpReply Http(const Endpoint& where, const std::string& method, const std::string& target, const std::string& body = "",
               const std::vector<std::pair<std::string, std::string>>& headers = {});

// java.net.URLEncoder (PROTOCOL.md §4.2).
std::string JavaUrlEncode(const std::string& value);
// §4.1: sorted by name, `sign` excluded, empty values skipped, raw values joined by '&'.
std::string SignContent(const std::map<std::string, std::string>& params);
// Signs `params` with the app key (RSA2) and returns the query string (any order is allowed).
std::string SignedQuery(std::map<std::string, std::string> params, const PrivateKey& key, const std::string& sign_type = "RSA2");

struct TestApp {
  TestApp(std::string id, const PrivateKey* private_key, std::string cert_sn = "", std::string root_sn = "")
      : app_id(std::move(id)), key(private_key), app_cert_sn(std::move(cert_sn)), alipay_root_cert_sn(std::move(root_sn)) {}
  std::string app_id;
  const PrivateKey* key = nullptr;
  std::string app_cert_sn;           // cert mode when set
  std::string alipay_root_cert_sn;
  std::string sign_type = "RSA2";
};

std::map<std::string, std::string> RegisterParams(const TestApp& app, int64_t timestamp_ms);
std::map<std::string, std::string> ConnectParams(const TestApp& app, const std::string& link_token, int64_t timestamp_ms);

// register.do, parsed as §5.3 describes (text scanning).
struct RegisterReply {
  HttpReply http;
  std::string response_text;  // the raw response object (signed text)
  std::string sign;
  std::string code, sub_code, sub_msg, link_token;
  std::optional<std::string> alipay_cert_sn;
  std::string zone;  // from Set-Cookie
};
RegisterReply Register(const Endpoint& where, const std::string& query);

// One text frame split as §7 describes.
struct WireFrame {
  std::vector<std::pair<std::string, std::string>> header_lines;  // in order
  std::string json;                                               // after CRLF CRLF
  std::string Header(const std::string& name) const;
  std::map<std::string, std::string> protocol;  // x-* members (strings only; others recorded as "<non-string>")
  std::vector<std::string> protocol_order;
  std::string data_text;                        // raw text of "data" (last member) or empty
};
// False when there is no CRLF CRLF or the JSON is not an object with "protocol".
bool SplitFrame(const std::string& text, WireFrame* out);

// CONSUME_ACK per §9.3, and a PRODUCE per §10.1, built by hand.
std::string ConsumeAck(const WireFrame& consume, const std::string& status);
std::string ProduceFrame(const TestApp& app, const std::string& stream_id, int64_t timestamp_ms, const std::string& msg_api,
                         const std::string& content_json);

// A WebSocket connection with a reader thread: frames queue up until the test takes them.
class WsClient {
 public:
  virtual ~WsClient() = default;
  // Blocks up to `timeout_ms` for the next text frame; nullopt on timeout or when closed.
  virtual std::optional<std::string> NextText(int timeout_ms = 10000) = 0;
  virtual void Send(const std::string& text) = 0;
  virtual void Ping() = 0;
  virtual int pongs() const = 0;
  // Waits until pongs() > `seen` (true) or the timeout passes (false).
  virtual bool WaitPong(int seen, int timeout_ms) = 0;
  virtual bool closed() const = 0;
  virtual bool WaitClosed(int timeout_ms) = 0;
  virtual void Close() = 0;  // close frame 1000, like destroy()
};

struct WsConnectResult {
  std::unique_ptr<WsClient> client;  // null when the handshake failed
  int http_status = 0;               // of a refused handshake
  std::string body;
  std::string error;
};
// GET /websocket?QUERY with `cookie: zone=Z;` (when zone is non-empty), headers as the Java client.
WsConnectResult ConnectWs(const Endpoint& where, const std::string& query, const std::string& zone);

// A tiny HTTP server on 127.0.0.1:<ephemeral> that records POST bodies and answers each with the
// next scripted body (the last one repeats): stands in for an app's notify endpoint.
class FormReceiver {
 public:
  explicit FormReceiver(std::vector<std::string> answers);
  ~FormReceiver();
  uint16_t port() const;
  // Bodies received so far.
  std::vector<std::string> bodies() const;
  bool WaitBodies(size_t count, int timeout_ms) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// application/x-www-form-urlencoded, decoded once ('+' = space, %XX).
std::map<std::string, std::string> DecodeForm(const std::string& body);

}  // namespace alipaymsg::simtest
