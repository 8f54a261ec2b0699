// The bounded HTTP/1.1 listener: one io_context thread, one session object per connection. A
// session's states: waiting (idle keep-alive, or a request header arriving; evictable), busy (body,
// handler, response), closing. Every read and write runs under a deadline.
#include "http/listener.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "base/thread_name.h"

namespace alipaymsg::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

// After an error answer (413, 431, 400) the connection is closed; what the client still sends is
// read and dropped for a moment so that the close does not reset the connection before the client
// has read the answer. Bounded in time and bytes.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr std::size_t kLingerBytes = 1 << 20;

// Where a responder called from another thread (an inbox writer, say) may post its answer: open
// while the io_context lives. It counts the responders still held, which stopping waits for.
struct AnswerGate {
  std::mutex mu;
  bool open = true;
  int64_t held = 0;
  std::condition_variable cv;
};

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  enum class State { kWaiting, kBusy, kClosing };
  virtual ~SessionBase() = default;
  virtual void Close() = 0;  // io thread only
  State state = State::kWaiting;
  std::list<std::weak_ptr<SessionBase>>::iterator registry_pos;
};

}  // namespace

class Listener::Impl {
 public:
  Impl(ListenerOptions options, Handler handler)
      : options_(std::move(options)), handler_(std::move(handler)), acceptor_(io_), accept_retry_(io_) {}

  ~Impl() {
    Stop();
    // A handler may still hold a responder (e.g. waiting for an inbox commit): wait a while for its
    // answer. After that the gate closes, and a late answer or drop touches nothing of ours. The
    // sessions awaiting answers go now, while io_ (their sockets' context) and the registry live.
    {
      std::unique_lock lock(gate_->mu);
      gate_->cv.wait_for(lock, options_.answer_grace, [this] { return gate_->held == 0; });
      gate_->open = false;
    }
    std::unordered_map<SessionBase*, std::shared_ptr<SessionBase>> awaiting;
    {
      std::lock_guard lock(mu_);
      awaiting.swap(awaiting_);
    }
    awaiting.clear();  // each ~Session unregisters itself (mu_)
  }

  Status Listen() {
    const std::string where = options_.name + " listener on " + options_.host + ":" + std::to_string(options_.port);
    if (!options_.cert_file.empty() || !options_.key_file.empty()) {
      if (options_.cert_file.empty() || options_.key_file.empty()) {
        return InvalidArgument(where + ": HTTPS needs both a certificate file and a key file");
      }
      tls_.emplace(ssl::context::tls_server);
      tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      beast::error_code ec;
      tls_->use_certificate_chain_file(options_.cert_file, ec);
      if (ec) return InvalidArgument(where + ": certificate " + options_.cert_file + ": " + ec.message());
      tls_->use_private_key_file(options_.key_file, ssl::context::pem, ec);
      if (ec) return InvalidArgument(where + ": private key " + options_.key_file + ": " + ec.message());
    }
    beast::error_code ec;
    std::string host = options_.host == "localhost" ? "127.0.0.1" : options_.host;
    asio::ip::address address = asio::ip::make_address(host, ec);
    if (ec) return InvalidArgument(where + ": \"" + options_.host + "\" is not an IP address");
    tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return IoError(where + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    listening_ = true;
    Accept();
    thread_ = std::thread([this] {
      NameThisThread(options_.name + "-http");  // admin-http, notify-http
      io_.run();
    });
    return Status::Ok();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      accept_retry_.cancel();
      std::vector<std::shared_ptr<SessionBase>> open;
      {
        std::lock_guard lock(mu_);
        for (auto& weak : sessions_) {
          if (auto s = weak.lock()) open.push_back(std::move(s));
        }
      }
      for (auto& s : open) s->Close();
      io_.stop();
    });
    thread_.join();
    listening_ = false;
  }

  // ---- for sessions -------------------------------------------------------------------------
  void Register(const std::shared_ptr<SessionBase>& s) {
    std::lock_guard lock(mu_);
    s->registry_pos = sessions_.insert(sessions_.end(), s);
  }
  void Unregister(SessionBase* s) {
    std::lock_guard lock(mu_);
    if (s->state == SessionBase::State::kClosing && closing_ > 0) --closing_;
    sessions_.erase(s->registry_pos);
  }
  void MarkClosing(SessionBase& s) {  // io thread
    if (s.state == SessionBase::State::kClosing) return;
    std::lock_guard lock(mu_);
    s.state = SessionBase::State::kClosing;
    ++closing_;
  }
  // A session whose handler holds the responder is kept here, not by the responder, so that the
  // last reference to it is never dropped on the handler's thread (maybe after io_ is gone).
  void Park(const std::shared_ptr<SessionBase>& s) {  // io thread
    std::lock_guard lock(mu_);
    awaiting_.emplace(s.get(), s);
  }
  // Returns the parked reference, for the caller to drop outside mu_ (~Session takes mu_).
  std::shared_ptr<SessionBase> Unpark(SessionBase* s) {  // io thread
    std::lock_guard lock(mu_);
    auto it = awaiting_.find(s);
    if (it == awaiting_.end()) return nullptr;
    std::shared_ptr<SessionBase> parked = std::move(it->second);
    awaiting_.erase(it);
    return parked;
  }
  const std::shared_ptr<AnswerGate>& gate() const { return gate_; }
  asio::io_context& io() { return io_; }

  const ListenerOptions& options() const { return options_; }
  const Handler& handler() const { return handler_; }
  int port() const { return port_; }
  bool listening() const { return listening_; }

  ListenerStats Stats() const {
    ListenerStats s;
    s.listening = listening_;
    {
      std::lock_guard lock(mu_);
      s.active = static_cast<int64_t>(sessions_.size());
    }
    s.accepted = accepted_;
    s.evicted = evicted_;
    s.refused = refused_;
    s.timed_out = timed_out_;
    s.too_large = too_large_;
    s.bad_requests = bad_requests_;
    s.requests = requests_;
    return s;
  }

  std::atomic<int64_t> timed_out_{0}, too_large_{0}, bad_requests_{0}, requests_{0};
  // Connections lingering after an error answer: not counted against the cap (they are on their way
  // out), so bounded on their own; beyond the bound they close at once.
  std::atomic<int64_t> lingering_{0};

 private:
  void Accept();
  // Under the connection cap, or room made by closing the oldest waiting connection.
  bool MakeRoom() {
    std::shared_ptr<SessionBase> victim;
    {
      std::lock_guard lock(mu_);
      const int64_t open = static_cast<int64_t>(sessions_.size()) - closing_;
      if (open < options_.limits.max_connections) return true;
      for (auto& weak : sessions_) {
        auto s = weak.lock();
        if (s && s->state == SessionBase::State::kWaiting) {
          victim = std::move(s);
          break;
        }
      }
    }
    if (!victim) return false;
    ++evicted_;
    MarkClosing(*victim);
    victim->Close();
    return true;
  }

  ListenerOptions options_;
  Handler handler_;
  std::optional<ssl::context> tls_;
  mutable std::mutex mu_;
  std::list<std::weak_ptr<SessionBase>> sessions_;  // oldest first
  int64_t closing_ = 0;
  std::unordered_map<SessionBase*, std::shared_ptr<SessionBase>> awaiting_;  // see Park
  std::shared_ptr<AnswerGate> gate_ = std::make_shared<AnswerGate>();
  std::atomic<int64_t> accepted_{0}, evicted_{0}, refused_{0};
  std::atomic<bool> listening_{false};
  int port_ = 0;
  // Declared last: destroyed first, while the registry above is still there for the sessions its
  // pending handlers release.
  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  std::thread thread_;
};

namespace {

template <class Stream>
class Session final : public SessionBase {
 public:
  Session(Listener::Impl& owner, Stream stream)
      : owner_(owner), limits_(owner.options().limits), stream_(std::move(stream)),
        buffer_(limits_.max_header_bytes + 16 * 1024) {}
  ~Session() override {
    if (discard_) --owner_.lingering_;
    owner_.Unregister(this);
  }

  void Start() {
    if constexpr (kTls) {
      Lowest().expires_after(milliseconds(limits_.header_timeout_ms));
      stream_.async_handshake(ssl::stream_base::server, [self = Self()](beast::error_code ec) {
        if (ec) return self->Failed(ec);
        self->ReadHeader();
      });
    } else {
      ReadHeader();
    }
  }

  void Close() override {
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void Failed(beast::error_code ec) {
    if (ec == beast::error::timeout) ++owner_.timed_out_;
  }

  // Between requests: the idle (keep-alive) timeout runs until the next request's first byte,
  // then the header timeout for its header.
  void WaitForNext() {
    state = State::kWaiting;
    if (buffer_.size() > 0) return ReadHeader();  // pipelined
    Lowest().expires_after(milliseconds(limits_.idle_timeout_ms));
    stream_.async_read_some(buffer_.prepare(512), [self = Self()](beast::error_code ec, std::size_t n) {
      if (ec) return self->Failed(ec);
      self->buffer_.commit(n);
      self->ReadHeader();
    });
  }

  void ReadHeader() {
    if (state != State::kClosing) state = State::kWaiting;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(limits_.max_body_bytes);
    Lowest().expires_after(milliseconds(limits_.header_timeout_ms));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = Self()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
  }

  // Errors of the request itself get an answer; a closed, reset or timed-out connection does not.
  bool AnswerError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      ++owner_.too_large_;
      Reject(413, "request body larger than " + std::to_string(limits_.max_body_bytes) + " bytes\n");
      return true;
    }
    if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
      ++owner_.too_large_;
      Reject(431, "request header larger than " + std::to_string(limits_.max_header_bytes) + " bytes\n");
      return true;
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      ++owner_.bad_requests_;
      Reject(400, "not an HTTP/1.1 request: " + ec.message() + "\n");
      return true;
    }
    return false;
  }

  void OnHeader(beast::error_code ec) {
    if (ec) {
      if (!AnswerError(ec)) Failed(ec);
      return;
    }
    if (state == State::kClosing) return;
    state = State::kBusy;
    auto& header = parser_->get();
    if (beast::iequals(header[bhttp::field::expect], "100-continue") && !parser_->is_done()) {
      auto go_on = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, header.version());
      Lowest().expires_after(milliseconds(limits_.body_timeout_ms));
      bhttp::async_write(stream_, *go_on, [self = Self(), go_on](beast::error_code ec, std::size_t) {
        if (ec) return self->Failed(ec);
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return OnBody({});
    Lowest().expires_after(milliseconds(limits_.body_timeout_ms));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = Self()](beast::error_code ec, std::size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec) {
      if (!AnswerError(ec)) Failed(ec);
      return;
    }
    auto& message = parser_->get();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.path = request.target.substr(0, request.target.find('?'));
    request.body = std::move(message.body());
    request.version = message.version();
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    parser_.reset();
    Lowest().expires_never();
    ++owner_.requests_;
    owner_.handler()(std::move(request), MakeResponder());
  }

  // The responder holds the session weakly (the owner keeps it parked) and posts only through the
  // open gate. Dropped without an answer, it unparks the session, which then closes.
  class Ticket {
   public:
    Ticket(Listener::Impl& owner, std::weak_ptr<Session> session)
        : owner_(owner), gate_(owner.gate()), session_(std::move(session)) {
      std::lock_guard lock(gate_->mu);
      ++gate_->held;
    }
    ~Ticket() {
      std::lock_guard lock(gate_->mu);
      if (gate_->open && !called_) {
        asio::post(owner_.io(), [&owner = owner_, session = session_] {
          if (auto s = session.lock()) owner.Unpark(s.get());
        });
      }
      if (--gate_->held == 0) gate_->cv.notify_all();
    }
    void Answer(Response response) {
      std::lock_guard lock(gate_->mu);
      if (called_) return;
      called_ = true;
      if (!gate_->open) return;
      asio::post(owner_.io(), [&owner = owner_, session = session_, response = std::move(response)]() mutable {
        auto s = session.lock();
        if (!s) return;
        owner.Unpark(s.get());
        s->Write(std::move(response));
      });
    }

   private:
    Listener::Impl& owner_;
    std::shared_ptr<AnswerGate> gate_;
    std::weak_ptr<Session> session_;
    bool called_ = false;  // under gate_->mu
  };

  Respond MakeResponder() {
    owner_.Park(Self());
    auto ticket = std::make_shared<Ticket>(owner_, Self());
    return [ticket](Response response) { ticket->Answer(std::move(response)); };
  }

  std::shared_ptr<bhttp::response<bhttp::string_body>> MakeResponse(Response& r, bool keep_alive) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(r.status), version_);
    res->set(bhttp::field::server, owner_.options().server_header);
    res->set(bhttp::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) res->set(name, value);
    res->keep_alive(keep_alive);
    if (r.omit_body) {
      res->content_length(r.body.size());
    } else {
      res->body() = std::move(r.body);
      res->prepare_payload();
    }
    return res;
  }

  void Write(Response r) {
    if (state == State::kClosing) return;
    const bool keep = keep_alive_ && !r.close && limits_.idle_timeout_ms > 0;
    auto res = MakeResponse(r, keep);
    Lowest().expires_after(milliseconds(limits_.body_timeout_ms));
    bhttp::async_write(stream_, *res, [self = Self(), res, keep](beast::error_code ec, std::size_t) {
      if (ec) return self->Failed(ec);
      if (!keep) {
        beast::error_code ignored;
        self->Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->WaitForNext();
    });
  }

  // An error answer, then the connection closes (after a bounded linger).
  void Reject(int status, std::string text) {
    owner_.MarkClosing(*this);
    Response r;
    r.status = status;
    r.body = std::move(text);
    auto res = MakeResponse(r, false);
    Lowest().expires_after(kLingerTime);
    bhttp::async_write(stream_, *res, [self = Self(), res](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->Linger();
    });
  }

  void Linger() {
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (owner_.lingering_ >= limits_.max_connections) return;  // closes now; the client may see a reset
    ++owner_.lingering_;
    Lowest().expires_after(kLingerTime);
    discard_ = std::make_unique<char[]>(4096);
    Discard();
  }
  void Discard() {
    Lowest().async_read_some(asio::buffer(discard_.get(), 4096), [self = Self()](beast::error_code ec, std::size_t n) {
      self->lingered_ += n;
      if (ec || self->lingered_ > kLingerBytes) return;
      self->Discard();
    });
  }

  Listener::Impl& owner_;
  const ListenerLimits limits_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  std::unique_ptr<char[]> discard_;
  std::size_t lingered_ = 0;
};

}  // namespace

void Listener::Impl::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      // Out of descriptors or buffers: try again shortly instead of spinning.
      accept_retry_.expires_after(milliseconds(100));
      accept_retry_.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    ++accepted_;
    if (!MakeRoom()) {
      ++refused_;
      beast::error_code ignored;
      socket.close(ignored);
      return Accept();
    }
    std::shared_ptr<SessionBase> session;
    if (tls_) {
      using TlsStream = beast::ssl_stream<beast::tcp_stream>;
      auto s = std::make_shared<Session<TlsStream>>(*this, TlsStream(beast::tcp_stream(std::move(socket)), *tls_));
      Register(s);
      s->Start();
    } else {
      auto s = std::make_shared<Session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)));
      Register(s);
      s->Start();
    }
    Accept();
  });
}

Result<std::unique_ptr<Listener>> Listener::Start(ListenerOptions options, Handler handler) {
  auto impl = std::make_shared<Impl>(std::move(options), std::move(handler));
  ALIPAYMSG_RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<Listener>(new Listener(std::move(impl)));
}

Listener::Listener(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Listener::~Listener() = default;
int Listener::port() const { return impl_->port(); }
bool Listener::listening() const { return impl_->listening(); }
ListenerStats Listener::Stats() const { return impl_->Stats(); }
void Listener::Stop() { impl_->Stop(); }

}  // namespace alipaymsg::http
