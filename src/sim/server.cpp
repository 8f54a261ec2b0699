// The open-channel port: GET /websocket/register.do and the WebSocket upgrade on /websocket, plain or
// TLS. One async session object per connection (HttpSession until the upgrade, then WsSession),
// all on one io_context thread; the protocol decisions are the Hub's.
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <future>
#include <optional>
#include <thread>

#include "base/thread_name.h"
#include "sim/hub.h"
#include "sim/server_internal.h"
#include "sim/simulator.h"

namespace alipaymsg::sim {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

Result<HostPort> ParseListenAddress(const std::string& text) {
  auto out = ParseHostPort(text, {.empty_host_ok = true});
  if (!out.ok()) return out.status();
  if (out->host.empty()) out->host = "0.0.0.0";
  if (out->host == "localhost") out->host = "127.0.0.1";
  boost::system::error_code ec;
  net::ip::make_address(out->host, ec);
  if (ec) return InvalidArgument("\"" + text + "\": '" + out->host + "' is not an IP address (or localhost)");
  return out;
}

namespace {

// A stream layer under the WebSocket stream that can swallow the server's PONG frames: Beast always
// answers PINGs itself, and the stop_pong fault needs a server that does not. It parses the
// outgoing (unmasked) frame headers once armed, i.e. after the 101 response went out.
template <class Next>
class PongGate {
 public:
  using executor_type = typename Next::executor_type;
  using next_layer_type = Next;

  PongGate(Next&& next, const Hub* hub) : next_(std::move(next)), hub_(hub) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  Next& next_layer() noexcept { return next_; }
  const Next& next_layer() const noexcept { return next_; }
  void Arm() { armed_ = true; }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return next_.async_read_some(buffers, std::forward<Handler>(handler));
  }

  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return net::async_initiate<Handler, void(beast::error_code, std::size_t)>(
        [this](auto h, const ConstBuffers& b) {
          if (!armed_) {
            next_.async_write_some(b, std::move(h));
            return;
          }
          const std::size_t total = beast::buffer_bytes(b);
          out_.clear();
          for (auto piece : beast::buffers_range_ref(b)) Filter(static_cast<const unsigned char*>(piece.data()), piece.size());
          if (out_.empty()) {
            net::post(next_.get_executor(), beast::bind_front_handler(std::move(h), beast::error_code{}, total));
            return;
          }
          net::async_write(next_, net::buffer(out_),
                           [h = std::move(h), total](beast::error_code ec, std::size_t) mutable { h(ec, ec ? 0 : total); });
        },
        handler, buffers);
  }

 private:
  void Filter(const unsigned char* p, std::size_t n) {
    while (n > 0) {
      if (payload_left_ > 0) {
        std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(payload_left_, n));
        if (!dropping_) out_.append(reinterpret_cast<const char*>(p), take);
        p += take, n -= take, payload_left_ -= take;
        continue;
      }
      header_[header_len_++] = *p++;
      --n;
      if (header_len_ == 2) {
        unsigned len7 = header_[1] & 0x7F;
        header_need_ = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((header_[1] & 0x80) ? 4 : 0);
      }
      if (header_len_ >= 2 && header_len_ == header_need_) {
        unsigned len7 = header_[1] & 0x7F;
        uint64_t len = len7;
        if (len7 == 126) len = (uint64_t(header_[2]) << 8) | header_[3];
        if (len7 == 127) {
          len = 0;
          for (int i = 2; i < 10; ++i) len = (len << 8) | header_[i];
        }
        const bool is_pong = (header_[0] & 0x0F) == 0xA;
        dropping_ = is_pong && hub_->pong_stopped();
        if (!dropping_) out_.append(reinterpret_cast<const char*>(header_), header_len_);
        payload_left_ = len;
        header_len_ = 0;
        header_need_ = 2;
      }
    }
  }

  Next next_;
  const Hub* hub_;
  bool armed_ = false;
  std::string out_;
  unsigned char header_[14] = {};
  std::size_t header_len_ = 0;
  std::size_t header_need_ = 2;
  uint64_t payload_left_ = 0;
  bool dropping_ = false;
};

template <class Next>
void teardown(beast::role_type role, PongGate<Next>& gate, beast::error_code& ec) {
  using beast::websocket::teardown;
  teardown(role, gate.next_layer(), ec);
}

template <class Next, class Handler>
void async_teardown(beast::role_type role, PongGate<Next>& gate, Handler&& handler) {
  using beast::websocket::async_teardown;
  async_teardown(role, gate.next_layer(), std::forward<Handler>(handler));
}

std::string PeerOf(const tcp::socket& socket) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  return ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
}

std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

http::response<http::string_body> ToResponse(const HttpAnswer& answer, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(answer.status), version};
  res.set(http::field::server, "alipay-msg-sim");
  res.set(http::field::content_type, answer.content_type);
  for (const auto& [name, value] : answer.headers) res.insert(name, value);
  res.body() = answer.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// ---------------------------------------------------------------------------------------------

template <class Stream>
class WsSession final : public Connection, public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(Stream&& stream, Hub& hub, std::string peer, size_t queue_limit)
      : ws_(std::move(stream), &hub), hub_(hub), peer_(std::move(peer)), queue_limit_(queue_limit) {}

  ~WsSession() override {
    if (id_ != 0 && !closed_) hub_.RemoveConnection(id_, "session ended");
  }

  void Accept(http::request<http::string_body> req, ConnectDecision decision) {
    decision_ = std::move(decision);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "alipay-msg-sim"); }));
    ws_.read_message_max(4 * 1024 * 1024);
    ws_.auto_fragment(false);
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::ping && id_ != 0 && !closed_) hub_.OnPing(id_);
    });
    ws_.async_accept(req, beast::bind_front_handler(&WsSession::OnAccept, this->shared_from_this()));
  }

  void SendText(std::string frame) override {
    if (closed_) return;
    queue_.push_back(std::move(frame));
    if (queue_.size() >= queue_limit_) busy_ = true;
    if (!writing_) DoWrite();
  }

  void Drop() override {
    if (closed_) return;
    beast::error_code ec;
    auto& socket = beast::get_lowest_layer(ws_).socket();
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  size_t QueuedFrames() const override { return queue_.size(); }

 private:
  void OnAccept(beast::error_code ec) {
    if (ec) {
      spdlog::warn("WebSocket handshake with {} failed: {}", peer_, ec.message());
      return;
    }
    ws_.next_layer().Arm();
    ws_.text(true);
    id_ = hub_.AddConnection(this, decision_, peer_);
    DoRead();
  }

  void DoRead() {
    ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::OnRead, this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return Close(ec == websocket::error::closed ? "closed by the client" : ec.message());
    if (ws_.got_text()) {
      auto data = buffer_.cdata();
      hub_.OnText(id_, std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    buffer_.consume(buffer_.size());
    if (!closed_) DoRead();
  }

  void DoWrite() {
    writing_ = true;
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&WsSession::OnWrite, this->shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return Close("write failed: " + ec.message());
    queue_.pop_front();
    if (!queue_.empty()) DoWrite();
    if (busy_ && queue_.size() < queue_limit_ / 2 + 1) {
      busy_ = false;
      hub_.OnWritable(id_);
    }
  }

  void Close(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    if (id_ != 0) hub_.RemoveConnection(id_, reason);
    Drop();
  }

  websocket::stream<PongGate<Stream>> ws_;
  Hub& hub_;
  std::string peer_;
  size_t queue_limit_;
  ConnectDecision decision_;
  uint64_t id_ = 0;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool busy_ = false;
  bool closed_ = false;
};

// Until the upgrade: serves register.do (keep-alive) and hands /websocket upgrades to a WsSession.
template <class Stream>
class HttpSession final : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  template <class... Args>
  HttpSession(Hub& hub, size_t queue_limit, std::string peer, Args&&... args)
      : stream_(std::forward<Args>(args)...), hub_(hub), queue_limit_(queue_limit), peer_(std::move(peer)) {}

  void Run() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      DoRead();
    } else {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
      stream_.async_handshake(ssl::stream_base::server,
                              beast::bind_front_handler(&HttpSession::OnHandshake, this->shared_from_this()));
    }
  }

 private:
  void OnHandshake(beast::error_code ec) {
    if (ec) {
      spdlog::warn("TLS handshake with {} failed: {}", peer_, ec.message());
      return;
    }
    DoRead();
  }

  void DoRead() {
    parser_.emplace();
    parser_->body_limit(64 * 1024);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(60));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::OnRead, this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return Shutdown();
    http::request<http::string_body> req = parser_->release();
    auto [path, query] = SplitTarget(req.target());
    if (websocket::is_upgrade(req)) {
      if (path != "/websocket") return Respond(req, HttpAnswer{404, "text/plain", "no WebSocket endpoint " + std::string(path) + "\n", {}}, false);
      std::string cookies;
      for (auto it = req.find(http::field::cookie); it != req.end() && it->name() == http::field::cookie; ++it) {
        cookies += std::string(it->value()) + ";";
      }
      if (hub_.TakeHangUpgrade()) {
        spdlog::info("WebSocket upgrade from {} left unanswered (hang_upgrade fault)", peer_);
        return DoRead();  // keeps the connection open, answering nothing, until the client gives up
      }
      ConnectDecision decision = hub_.CheckConnect(query, cookies);
      if (!decision.ok) return Respond(req, decision.rejection, false);
      beast::get_lowest_layer(stream_).expires_never();
      auto session = std::make_shared<WsSession<Stream>>(std::move(stream_), hub_, peer_, queue_limit_);
      session->Accept(std::move(req), std::move(decision));
      return;
    }
    if (path == "/websocket/register.do") {
      if (req.method() != http::verb::get) {
        return Respond(req, HttpAnswer{405, "text/plain", "register.do takes GET\n", {}}, req.keep_alive());
      }
      return Respond(req, hub_.HandleRegister(query), req.keep_alive());
    }
    Respond(req, HttpAnswer{404, "text/plain", "not found: " + std::string(path) + "\n", {}}, req.keep_alive());
  }

  void Respond(const http::request<http::string_body>& req, const HttpAnswer& answer, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(ToResponse(answer, req.version(), keep_alive));
    http::async_write(stream_, *res, [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
      if (ec || !keep_alive) return self->Shutdown();
      self->DoRead();
    });
  }

  void Shutdown() {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    } else {
      beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  Stream stream_;
  Hub& hub_;
  size_t queue_limit_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

struct Simulator::Impl {
  SimulatorOptions options;
  std::unique_ptr<Hub> hub;
  std::optional<ssl::context> tls;
  net::io_context io{1};
  std::optional<tcp::acceptor> acceptor;
  std::unique_ptr<AdminServer> admin;
  std::unique_ptr<NotifyTransport> notify;
  std::optional<net::steady_timer> timer;
  std::thread thread;
  uint16_t port = 0;
  bool stopped = false;

  void Accept() {
    acceptor->async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec != net::error::operation_aborted) spdlog::warn("accept failed: {}", ec.message());
        if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
        return Accept();
      }
      std::string peer = PeerOf(socket);
      if (tls) {
        std::make_shared<HttpSession<ssl::stream<beast::tcp_stream>>>(*hub, options.connection_queue_limit, peer,
                                                                      std::move(socket), *tls)
            ->Run();
      } else {
        std::make_shared<HttpSession<beast::tcp_stream>>(*hub, options.connection_queue_limit, peer, std::move(socket))->Run();
      }
      Accept();
    });
  }

  void ArmTimer() {
    // Wake at the next due time, but at least every 50 ms so a test's ManualClock is noticed.
    int64_t next = hub->NextWakeupMs();
    int64_t now = hub->now();
    int64_t wait = next == std::numeric_limits<int64_t>::max() ? 50 : std::clamp<int64_t>(next - now, 1, 50);
    timer->expires_after(std::chrono::milliseconds(wait));
    timer->async_wait([this](beast::error_code ec) {
      if (ec) return;
      hub->Tick();
      ArmTimer();
    });
  }
};

Simulator::Simulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Simulator>> Simulator::Start(SimulatorOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  auto listen = ParseListenAddress(options.listen);
  if (!listen.ok()) return listen.status().WithContext("--listen");
  auto admin_where = ParseListenAddress(options.admin);
  if (!admin_where.ok()) return admin_where.status().WithContext("--admin");
  auto hub = Hub::Create(options);
  if (!hub.ok()) return hub.status();
  impl->hub = std::move(hub).value();

  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    if (options.tls_cert.empty() || options.tls_key.empty()) return InvalidArgument("TLS needs both --tls-cert and --tls-key");
    impl->tls.emplace(ssl::context::tls_server);
    beast::error_code ec;
    impl->tls->use_certificate_chain_file(options.tls_cert, ec);
    if (ec) return InvalidArgument("--tls-cert " + options.tls_cert + ": " + ec.message());
    impl->tls->use_private_key_file(options.tls_key, ssl::context::pem, ec);
    if (ec) return InvalidArgument("--tls-key " + options.tls_key + ": " + ec.message());
  }

  beast::error_code ec;
  tcp::endpoint endpoint(net::ip::make_address(listen->host), static_cast<uint16_t>(listen->port));
  impl->acceptor.emplace(impl->io);
  impl->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(endpoint, ec);
  if (!ec) impl->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return IoError("--listen " + options.listen + ": " + ec.message());

  auto admin = StartAdminServer(impl->io, *admin_where, *impl->hub);
  if (!admin.ok()) return admin.status().WithContext("--admin " + options.admin);
  impl->admin = std::move(admin).value();
  impl->notify = MakeNotifyTransport(impl->io);
  impl->hub->SetNotifyTransport(impl->notify.get());
  impl->timer.emplace(impl->io);

  impl->port = impl->acceptor->local_endpoint().port();
  Impl* raw = impl.get();
  raw->Accept();
  raw->ArmTimer();
  raw->thread = std::thread([raw] {
    NameThisThread("sim-io");
    raw->io.run();
  });
  spdlog::info("alipay-msg-sim listening on {}://{}:{} (register.do + /websocket), admin on http://{}:{}",
               raw->tls ? "https" : "http", listen->host, raw->port, admin_where->host,
               raw->admin->port());
  return std::unique_ptr<Simulator>(new Simulator(std::move(impl)));
}

void Simulator::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  Impl* raw = impl_.get();
  std::promise<void> done;
  // The admin listener first, from here: requests it already handed to the hub are queued on io
  // ahead of the shutdown below, so each is answered (and releases the listener) before io stops.
  raw->admin->Close();
  net::post(raw->io, [raw, &done] {
    beast::error_code ec;
    raw->acceptor->close(ec);
    raw->timer->cancel();
    raw->hub->Shutdown();
    done.set_value();
  });
  done.get_future().wait_for(std::chrono::seconds(5));
  raw->io.stop();
  if (raw->thread.joinable()) raw->thread.join();
}

Simulator::~Simulator() {
  Stop();
  if (impl_) {
    // Sessions die with the io_context's handlers; they still reach the hub, so it goes last.
    impl_->notify.reset();
    impl_->admin.reset();
    impl_->timer.reset();
    impl_->acceptor.reset();
  }
}

uint16_t Simulator::port() const { return impl_->port; }
uint16_t Simulator::admin_port() const { return impl_->admin->port(); }
bool Simulator::tls() const { return impl_->tls.has_value(); }

}  // namespace alipaymsg::sim
