#include "wire_client.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace alipaymsg::simtest {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string HttpReply::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

namespace {

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::shared_ptr<ssl::context> ClientTls(const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->load_verify_file(ca_file);
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

void SetTimeouts(tcp::socket& socket) {
  // Sync Beast calls have no timeouts of their own: a generous socket timeout keeps a broken
  // server from hanging the test forever.
  timeval tv{20, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

template <class Stream>
HttpReply DoHttp(Stream& stream, const Endpoint& where, const std::string& method, const std::string& target,
                 const std::string& body, const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpReply reply;
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, where.host + ":" + std::to_string(where.port));
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty()) req.body() = body;
  req.keep_alive(false);
  req.prepare_payload();
  beast::error_code ec;
  http::write(stream, req, ec);
  if (ec) return reply.error = "write: " + ec.message(), reply;
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  if (ec) return reply.error = "read: " + ec.message(), reply;
  reply.status = static_cast<int>(res.result_int());
  reply.body = res.body();
  for (const auto& field : res) reply.headers.emplace(Lower(std::string(field.name_string())), std::string(field.value()));
  return reply;
}

}  // namespace

HttpReply Http(const Endpoint& where, const std::string& method, const std::string& target, const std::string& body,
               const std::vector<std::pair<std::string, std::string>>& headers) {
  net::io_context io;
  tcp::socket socket(io);
  beast::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address(where.host), where.port), ec);
  HttpReply reply;
  if (ec) return reply.error = "connect: " + ec.message(), reply;
  SetTimeouts(socket);
  if (where.ca_file.empty()) return DoHttp(socket, where, method, target, body, headers);
  auto ctx = ClientTls(where.ca_file);
  ssl::stream<tcp::socket> tls(std::move(socket), *ctx);
  tls.set_verify_callback(ssl::host_name_verification(where.host));
  tls.handshake(ssl::stream_base::client, ec);
  if (ec) return reply.error = "TLS handshake: " + ec.message(), reply;
  return DoHttp(tls, where, method, target, body, headers);
}

std::string JavaUrlEncode(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '*' || c == '_') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string SignContent(const std::map<std::string, std::string>& params) {
  std::string out;
  for (const auto& [k, v] : params) {  // std::map: sorted by name
    if (k == "sign" || k.empty() || v.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string SignedQuery(std::map<std::string, std::string> params, const PrivateKey& key, const std::string& sign_type) {
  auto type = ParseSignType(sign_type);
  auto sign = Sign(key, type.ok() ? *type : SignType::kRsa2, SignContent(params), "UTF-8");
  params["sign"] = sign.ok() ? *sign : "";
  std::string query;
  // Deliberately not sorted: a server must accept any order (§4.2). Reverse map order.
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    if (it->second.empty()) continue;
    if (!query.empty()) query += '&';
    query += it->first + "=" + JavaUrlEncode(it->second);
  }
  return query;
}

std::map<std::string, std::string> RegisterParams(const TestApp& app, int64_t timestamp_ms) {
  std::map<std::string, std::string> p{{"app_id", app.app_id},
                                       {"charset", "UTF-8"},
                                       {"sign_type", app.sign_type},
                                       {"timestamp", std::to_string(timestamp_ms)},
                                       {"sdk_version", "alipay-sdk-java-4.39.223.ALL"},
                                       {"nonce", "0123456789abcdef0123456789abcdef"}};
  if (!app.app_cert_sn.empty()) {
    p["app_cert_sn"] = app.app_cert_sn;
    p["alipay_root_cert_sn"] = app.alipay_root_cert_sn;
  }
  return p;
}

std::map<std::string, std::string> ConnectParams(const TestApp& app, const std::string& link_token, int64_t timestamp_ms) {
  auto p = RegisterParams(app, timestamp_ms);
  p.erase("nonce");
  p["link_token"] = link_token;
  return p;
}

RegisterReply Register(const Endpoint& where, const std::string& query) {
  RegisterReply r;
  r.http = Http(where, "GET", "/websocket/register.do?" + query, "",
                {{"Accept", "text/plain,text/xml,text/javascript,text/html"},
                 {"User-Agent", "aop-sdk-java"},
                 {"Content-Type", "application/x-www-form-urlencoded;charset=UTF-8"}});
  const std::string& body = r.http.body;
  // §5.3, as the Java client scans it.
  size_t resp = body.find("\"response\"");
  if (resp == std::string::npos) return r;
  size_t start = body.find('{', body.find(':', resp));
  size_t sign_key = body.rfind("\"sign\"");
  if (sign_key != std::string::npos && sign_key > 0) {
    size_t q1 = body.find('"', body.find(':', sign_key));
    size_t q2 = body.find('"', q1 + 1);
    r.sign = body.substr(q1 + 1, q2 - q1 - 1);
    size_t end = body.rfind('}', q1);
    r.response_text = body.substr(start, end - start + 1);
  }
  auto value_of = [&](const std::string& name) {
    size_t p = r.response_text.find("\"" + name + "\":\"");
    if (p == std::string::npos) return std::string();
    p += name.size() + 4;
    return r.response_text.substr(p, r.response_text.find('"', p) - p);
  };
  r.code = value_of("code");
  r.sub_code = value_of("sub_code");
  r.sub_msg = value_of("sub_msg");
  r.link_token = value_of("link_token");
  size_t cert = body.find("\"alipay_cert_sn\"");
  if (cert != std::string::npos) r.alipay_cert_sn = body.substr(cert + 18, body.rfind('}') - 1 - (cert + 18));
  std::string cookie = r.http.Header("set-cookie");
  size_t z = cookie.find("zone=");
  if (z != std::string::npos) r.zone = cookie.substr(z + 5, cookie.find(';', z) - z - 5);
  return r;
}

std::string WireFrame::Header(const std::string& name) const {
  for (const auto& [k, v] : header_lines) {
    if (k == name) return v;
  }
  return "";
}

bool SplitFrame(const std::string& text, WireFrame* out) {
  size_t sep = text.find("\r\n\r\n");
  if (sep == std::string::npos) return false;
  std::string head = text.substr(0, sep);
  size_t pos = 0;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) out->header_lines.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    pos = end + 2;
  }
  out->json = text.substr(sep + 4);
  boost::json::error_code ec;
  auto doc = boost::json::parse(out->json, ec);
  if (ec || !doc.is_object() || !doc.as_object().contains("protocol") || !doc.at("protocol").is_object()) return false;
  for (const auto& [k, v] : doc.at("protocol").as_object()) {
    out->protocol_order.emplace_back(k);
    out->protocol[std::string(k)] = v.is_string() ? std::string(v.as_string()) : "<non-string>";
  }
  // The data object is the last member: the signed text runs from its '{' to the end minus the
  // document's closing brace (the server promises no whitespace around it).
  size_t data = out->json.find("\"data\":");
  if (data != std::string::npos) out->data_text = out->json.substr(data + 7, out->json.size() - 1 - (data + 7));
  return true;
}

std::string ConsumeAck(const WireFrame& consume, const std::string& status) {
  std::string out;
  for (const char* name : {"from-sys", "from-sys-ip", "stream-id"}) {
    std::string v = consume.Header(name);
    if (!v.empty()) out += std::string(name) + ":" + v + "\r\n";
  }
  auto it = consume.protocol.find("x-msgId");
  out += "\r\n{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":\"CONSUME_ACK\",\"x-msgId\":\"" +
         (it == consume.protocol.end() ? std::string() : it->second) + "\",\"x-version\":\"1.0\",\"x-status\":\"" + status + "\"}}";
  return out;
}

std::string ProduceFrame(const TestApp& app, const std::string& stream_id, int64_t timestamp_ms, const std::string& msg_api,
                         const std::string& content_json) {
  std::string data = "{\"header\":{\"appId\":\"" + app.app_id + "\",\"msgApi\":\"" + msg_api + "\"";
  if (!app.app_cert_sn.empty()) {
    data += ",\"app_cert_sn\":\"" + app.app_cert_sn + "\",\"alipay_root_cert_sn\":\"" + app.alipay_root_cert_sn + "\"";
  }
  data += "},\"content\":" + content_json + "}";
  auto sign = Sign(*app.key, SignType::kRsa2, data, "UTF-8");
  return "stream-id:" + stream_id + "\r\n\r\n{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":\"PRODUCE\",\"x-timestamp\":\"" +
         std::to_string(timestamp_ms) + "\",\"x-version\":\"1.0\",\"x-charset\":\"UTF-8\",\"x-signType\":\"RSA2\",\"x-sign\":\"" +
         (sign.ok() ? *sign : "") + "\"},\"data\":" + data + "}";
}

namespace {

template <class Stream>
class WsClientImpl final : public WsClient {
 public:
  // The stream lives on the client's own io_context (run by its reader thread).
  template <class... Args>
  explicit WsClientImpl(std::shared_ptr<void> keep, Args&&... args) : keep_(std::move(keep)), ws_(io_, std::forward<Args>(args)...) {}

  ~WsClientImpl() override { Stop(); }

  websocket::stream<Stream>& ws() { return ws_; }

  void StartReading() {
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong) {
        std::lock_guard<std::mutex> lock(mu_);
        ++pongs_;
        cv_.notify_all();
      }
    });
    net::post(io_, [this] { DoRead(); });
    thread_ = std::thread([this] { io_.run(); });
  }

  net::io_context& io() { return io_; }

  std::optional<std::string> NextText(int timeout_ms) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !inbox_.empty() || closed_; });
    if (inbox_.empty()) return std::nullopt;
    std::string s = std::move(inbox_.front());
    inbox_.pop_front();
    return s;
  }

  void Send(const std::string& text) override {
    net::post(io_, [this, text] {
      outbox_.push_back(text);
      if (outbox_.size() == 1) DoWrite();
    });
  }

  void Ping() override {
    net::post(io_, [this] { ws_.async_ping({}, [](beast::error_code) {}); });
  }

  int pongs() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return pongs_;
  }

  bool WaitPong(int seen, int timeout_ms) override {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return pongs_ > seen; });
  }

  bool closed() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

  bool WaitClosed(int timeout_ms) override {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return closed_; });
  }

  void Close() override {
    net::post(io_, [this] { ws_.async_close(websocket::close_code::normal, [](beast::error_code) {}); });
    WaitClosed(5000);
    Stop();
  }

 private:
  void Stop() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  void DoRead() {
    ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
      std::lock_guard<std::mutex> lock(mu_);
      if (ec) {
        closed_ = true;
        cv_.notify_all();
        return;
      }
      inbox_.push_back(beast::buffers_to_string(buffer_.data()));
      buffer_.consume(buffer_.size());
      cv_.notify_all();
      net::post(io_, [this] { DoRead(); });
    });
  }

  void DoWrite() {
    ws_.text(true);
    ws_.async_write(net::buffer(outbox_.front()), [this](beast::error_code ec, std::size_t) {
      outbox_.pop_front();
      if (!ec && !outbox_.empty()) DoWrite();
    });
  }

  std::shared_ptr<void> keep_;  // e.g. the TLS context
  net::io_context io_;
  websocket::stream<Stream> ws_;
  std::thread thread_;
  beast::flat_buffer buffer_;
  std::deque<std::string> outbox_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> inbox_;
  int pongs_ = 0;
  bool closed_ = false;
};

template <class Stream, class Setup>
WsConnectResult Handshake(std::unique_ptr<WsClientImpl<Stream>> client, Setup setup, const Endpoint& where,
                          const std::string& query, const std::string& zone) {
  WsConnectResult result;
  beast::error_code ec;
  if (!setup(*client, ec)) {
    result.error = "connect: " + ec.message();
    return result;
  }
  client->ws().set_option(websocket::stream_base::decorator([zone](websocket::request_type& req) {
    req.erase(http::field::user_agent);
    req.set(http::field::content_type, "application/x-www-form-urlencoded;charset=UTF-8");
    if (!zone.empty()) req.set("cookie", "zone=" + zone + ";");
  }));
  websocket::response_type res;
  client->ws().handshake(res, where.host + ":" + std::to_string(where.port), "/websocket?" + query, ec);
  if (ec) {
    result.http_status = static_cast<int>(res.result_int());
    result.body = res.body();
    result.error = ec.message();
    return result;
  }
  client->StartReading();
  result.client = std::move(client);
  return result;
}

}  // namespace

WsConnectResult ConnectWs(const Endpoint& where, const std::string& query, const std::string& zone) {
  tcp::endpoint ep(net::ip::make_address(where.host), where.port);
  if (where.ca_file.empty()) {
    auto client = std::make_unique<WsClientImpl<tcp::socket>>(nullptr);
    return Handshake(std::move(client),
                     [&](WsClientImpl<tcp::socket>& c, beast::error_code& ec) {
                       c.ws().next_layer().connect(ep, ec);
                       if (!ec) SetTimeouts(c.ws().next_layer());
                       return !ec;
                     },
                     where, query, zone);
  }
  auto ctx = ClientTls(where.ca_file);
  auto client = std::make_unique<WsClientImpl<ssl::stream<tcp::socket>>>(ctx, *ctx);
  std::string host = where.host;
  return Handshake(std::move(client),
                   [&](WsClientImpl<ssl::stream<tcp::socket>>& c, beast::error_code& ec) {
                     auto& tls = c.ws().next_layer();
                     tls.next_layer().connect(ep, ec);
                     if (ec) return false;
                     SetTimeouts(tls.next_layer());
                     tls.set_verify_callback(ssl::host_name_verification(host));
                     tls.handshake(ssl::stream_base::client, ec);
                     return !ec;
                   },
                   where, query, zone);
}

struct FormReceiver::Impl {
  net::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::string> answers;
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::vector<std::string> bodies;
  std::thread thread;
  bool stop = false;

  void Serve() {
    while (true) {
      beast::error_code ec;
      tcp::socket socket(io);
      acceptor.accept(socket, ec);
      if (ec) return;
      SetTimeouts(socket);
      beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) continue;
      std::string answer;
      {
        std::lock_guard<std::mutex> lock(mu);
        bodies.push_back(req.body());
        answer = answers.empty() ? "success" : answers[std::min(bodies.size(), answers.size()) - 1];
        cv.notify_all();
      }
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "text/plain");
      res.body() = answer;
      res.keep_alive(false);
      res.prepare_payload();
      http::write(socket, res, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }
};

FormReceiver::FormReceiver(std::vector<std::string> answers) : impl_(std::make_unique<Impl>()) {
  impl_->answers = std::move(answers);
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->thread = std::thread([this] { impl_->Serve(); });
}

FormReceiver::~FormReceiver() {
  beast::error_code ec;
  // Unblock accept(): shut the listening socket down, then join.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->acceptor.close(ec);
}

uint16_t FormReceiver::port() const { return impl_->acceptor.local_endpoint().port(); }

std::vector<std::string> FormReceiver::bodies() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->bodies;
}

bool FormReceiver::WaitBodies(size_t count, int timeout_ms) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return impl_->bodies.size() >= count; });
}

std::map<std::string, std::string> DecodeForm(const std::string& body) {
  auto decode = [](const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out += ' ';
      } else if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('&', pos);
    if (end == std::string::npos) end = body.size();
    std::string pair = body.substr(pos, end - pos);
    size_t eq = pair.find('=');
    if (eq != std::string::npos) out[decode(pair.substr(0, eq))] = decode(pair.substr(eq + 1));
    pos = end + 1;
  }
  return out;
}

}  // namespace alipaymsg::simtest
