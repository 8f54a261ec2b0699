// The session state machine (one per app): Registering → Connecting → Open → Backoff → … → Stopped.
// Asio only: the WebSocket (link.cpp) and register.do's HTTP (register_call.cpp) keep Beast to
// themselves, and PRODUCE bookkeeping is in producer.cpp.
#include "client/session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdlib>
#include <optional>
#include <vector>

#include "alipaymsg/params.h"
#include "base/rate_limiter.h"
#include "client/backoff.h"
#include "client/bookkeeping.h"
#include "client/diagnostics.h"
#include "client/endpoint.h"
#include "client/intake.h"
#include "client/link.h"
#include "client/producer.h"
#include "client/register_call.h"
#include "client/step_watchdog.h"
#include "crypto/tls_peer.h"
#include "protocol/frame.h"
#include "protocol/register.h"

namespace alipaymsg::client {
namespace {

class SessionImpl final : public Session,
                          public LinkEvents,
                          public std::enable_shared_from_this<SessionImpl> {
 public:
  SessionImpl(asio::io_context& io, std::shared_ptr<SharedContext> shared, AppOptions app,
              Endpoint endpoint, std::unique_ptr<ssl::context> tls)
      : shared_(std::move(shared)),
        options_(shared_->options),
        app_(std::move(app)),
        app_id_(app_.credentials->app_id()),
        endpoint_(std::move(endpoint)),
        tls_(std::move(tls)),
        strand_(asio::make_strand(io)),
        diagnostics_(app_id_),
        backoff_(options_.backoff, options_.random),
        acks_(options_.max_in_flight),
        producer_(strand_, options_, diagnostics_),
        stream_ids_(static_cast<uint32_t>(options_.random() % 3843)),
        backoff_timer_(strand_),
        stop_timer_(strand_),
        watchdog_(strand_),
        rejection_log_(options_.rejection_log_per_second, 10, options_.clock),
        store_error_log_(options_.rejection_log_per_second, 10, options_.clock) {}

  const std::string& app_id() const override { return app_id_; }
  ConnectionStats Snapshot() const override { return diagnostics_.Snapshot(); }

  void Start() override {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->started_ || self->stopping_) return;
      self->started_ = true;
      asio::co_spawn(self->strand_, self->Run(), asio::detached);
    });
  }

  void Stop(std::function<void()> done) override {
    asio::post(strand_, [self = shared_from_this(), done = std::move(done)]() mutable {
      self->BeginStop(std::move(done));
    });
  }

  void AsyncSend(std::string msg_api, std::string biz_content, SendCallback done) override {
    asio::post(strand_, [self = shared_from_this(), msg_api = std::move(msg_api),
                         biz = std::move(biz_content), done = std::move(done)]() mutable {
      self->DoSend(msg_api, biz, std::move(done));
    });
  }

  // ---- LinkEvents (on the strand) ----
  void OnText(std::string text, SteadyClock::time_point read_at) override;
  void OnLinkLost(std::string why) override {
    if (!stopping_) Fail("connection lost: " + why, LogLevel::kWarn);
  }
  void OnDeadLink() override {
    diagnostics_.Update([](ConnectionStats& s) { ++s.dead_links; });
  }
  bool ShouldRead() const override { return acks_.ShouldRead(); }
  bool ReadingPaused() const override { return acks_.Paused(); }

 private:
  int64_t Now() const { return options_.clock->NowMs(); }
  void Log(LogLevel level, const std::string& line) const {
    if (options_.logger) options_.logger(level, "[app " + app_id_ + "] " + line);
  }
  void Fail(std::string error, LogLevel level = LogLevel::kError) {
    Log(level, error);
    diagnostics_.SetError(std::move(error), Now());
  }
  void SetState(ConnectionState state) {
    if (diagnostics_.state() != state) Log(LogLevel::kDebug, "state " + std::string(ToString(state)));
    diagnostics_.SetState(state, Now());
  }

  // Runs `fn` on the strand from any thread, unless the Client is gone.
  template <class F>
  void PostFromAnyThread(F&& fn) {
    std::lock_guard lock(shared_->gate_mutex);
    if (shared_->gate_open) asio::post(strand_, std::forward<F>(fn));
  }

  // A callback for a thread the Client does not own (the inbox's writer, a dispatcher worker): it
  // runs continuation(self, link, args...) on the strand, unless the Client is gone. It holds the
  // session and the link only weakly. That thread may let go of the callback after the Client, and
  // its io_context, are destroyed; the last reference to a session or a link dropped there would
  // destroy their timers and sockets after their io_context. A strong reference exists only under the
  // open gate (the io_context lives) and then moves into the posted handler.
  template <class F>
  auto OnStrandFromForeignThread(const std::shared_ptr<Link>& link, F continuation) {
    return [shared = shared_, weak_self = weak_from_this(), weak_link = std::weak_ptr<Link>(link),
            continuation = std::move(continuation)](auto... args) mutable {
      std::lock_guard lock(shared->gate_mutex);
      if (!shared->gate_open) return;
      std::shared_ptr<SessionImpl> self = weak_self.lock();
      if (!self) return;
      auto& strand = self->strand_;
      asio::post(strand, [self = std::move(self), link = weak_link.lock(), continuation = std::move(continuation),
                          ... args = std::move(args)]() mutable {
        continuation(*self, link, std::move(args)...);
      });
    };
  }

  asio::awaitable<void> Run();
  asio::awaitable<Result<Registration>> Register();
  asio::awaitable<Result<std::shared_ptr<Link>>> Connect(const Registration& registration);
  asio::awaitable<Result<tcp::resolver::results_type>> Resolve(tcp::resolver& resolver);
  asio::awaitable<void> WaitBackoff();

  void BeginStop(std::function<void()> done);
  void MaybeFinishDrain();
  void Admit(const std::shared_ptr<Link>& link, std::string_view text, SteadyClock::time_point read_at,
             bool on_strand);
  void Store(const std::shared_ptr<Link>& link, Intake intake, SteadyClock::time_point read_at);
  void ReleaseInFlight(const std::shared_ptr<Link>& link);
  void OnStored(const std::shared_ptr<Link>& link, const Frame& frame, const InboundMessage& message,
                Result<std::vector<StoreOutcome>> result, SteadyClock::time_point read_at);
  void Ack(const std::shared_ptr<Link>& link, const Frame& frame, bool success,
           SteadyClock::time_point read_at);
  // After a rejected CONSUME was answered: a sustained flood of them closes the link (see
  // ClientOptions::forgery_close_threshold).
  void CountForgery(const std::shared_ptr<Link>& link);
  // Logs `line` unless `limiter` holds it back (then it is only counted, and the next line says so).
  void LogLimited(RateLimiter& limiter, LogLevel level, const std::string& line) const;
  void DoSend(const std::string& msg_api, const std::string& biz, SendCallback done);

  std::shared_ptr<SharedContext> shared_;
  const ClientOptions& options_;
  AppOptions app_;
  std::string app_id_;
  Endpoint endpoint_;
  std::unique_ptr<ssl::context> tls_;
  Strand strand_;
  Diagnostics diagnostics_;
  Backoff backoff_;
  AckBook acks_;
  Producer producer_;
  StreamIdGenerator stream_ids_;

  asio::steady_timer backoff_timer_;
  asio::steady_timer stop_timer_;
  StepWatchdog watchdog_;  // over register.do and the WebSocket connect

  RateLimiter rejection_log_;
  RateLimiter store_error_log_;  // "inbox commit failed" lines
  const Link* forgery_link_ = nullptr;  // the link forgeries_ counts for
  int64_t forgery_window_start_ms_ = 0;
  int forgeries_ = 0;

  std::shared_ptr<Link> link_;
  bool started_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  std::vector<std::function<void()>> stop_callbacks_;
};

// ---- The state machine ----------------------------------------------------------------------------

asio::awaitable<void> SessionImpl::Run() {
  auto self = shared_from_this();  // alive until the loop ends
  bool first = true;
  while (!stopping_) {
    if (!first) co_await WaitBackoff();
    first = false;
    if (stopping_) break;

    SetState(ConnectionState::kRegistering);
    Result<Registration> registration = co_await Register();
    if (stopping_) break;
    if (!registration.ok()) {
      diagnostics_.Update([](ConnectionStats& s) { ++s.register_failures; });
      Fail("register.do failed: " + registration.status().ToString());
      continue;
    }

    SetState(ConnectionState::kConnecting);
    Result<std::shared_ptr<Link>> link = co_await Connect(*registration);
    if (stopping_) {
      if (link.ok()) (*link)->Shutdown();
      break;
    }
    if (!link.ok()) {
      Fail("WebSocket connect failed: " + link.status().ToString());
      continue;
    }

    link_ = *link;
    acks_.ResetForNewLink();
    SetState(ConnectionState::kOpen);
    Log(LogLevel::kInfo, "connected to " + endpoint_.host_header);
    co_await link_->Run();
    backoff_.SessionEnded(
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - link_->opened_at));
    link_.reset();
    producer_.FailAll("the connection was lost before the PRODUCE_ACK arrived");
  }
  stop_timer_.cancel();
  stopped_ = true;
  SetState(ConnectionState::kStopped);
  Log(LogLevel::kInfo, "stopped");
  for (auto& done : std::exchange(stop_callbacks_, {}))
    if (done) done();
}

asio::awaitable<void> SessionImpl::WaitBackoff() {
  const auto delay = backoff_.Next();
  SetState(ConnectionState::kBackoff);
  diagnostics_.SetNextAttemptIn(delay.count());
  if (delay.count() > 0) Log(LogLevel::kInfo, "reconnecting in " + std::to_string(delay.count()) + " ms");
  backoff_timer_.expires_after(delay);
  co_await backoff_timer_.async_wait(kUseTuple);  // Stop() cancels it
}

asio::awaitable<Result<tcp::resolver::results_type>> SessionImpl::Resolve(tcp::resolver& resolver) {
  if (endpoint_.host_is_ip) {
    // An IP literal needs no lookup: skipping the resolver saves its getaddrinfo (NSS modules on
    // first use) and the background thread Asio starts for it, which would then stay for good.
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(endpoint_.host, ec);
    const int port = std::atoi(endpoint_.port.c_str());
    if (!ec && port > 0 && port <= 65535)
      co_return tcp::resolver::results_type::create(tcp::endpoint(address, static_cast<uint16_t>(port)),
                                                    endpoint_.host, endpoint_.port);
  }
  const CancelActionScope scope(watchdog_);
  if (!watchdog_.OnCancel([&resolver] { resolver.cancel(); }))
    co_return watchdog_.expired() ? Timeout("resolving " + endpoint_.host + " timed out")
                                  : Unavailable("resolving " + endpoint_.host + " cancelled: stopping");
  auto [ec, results] = co_await resolver.async_resolve(endpoint_.host, endpoint_.port, kUseTuple);
  if (ec) {
    if (watchdog_.expired()) co_return Timeout("resolving " + endpoint_.host + " timed out");
    co_return Unavailable("resolving " + endpoint_.host + ": " + ec.message());
  }
  co_return results;
}

asio::awaitable<Result<Registration>> SessionImpl::Register() {
  diagnostics_.Update([](ConnectionStats& s) { ++s.registers; });
  watchdog_.Arm(shared_from_this(), options_.register_timeout);
  tcp::resolver resolver(strand_);
  Result<tcp::resolver::results_type> endpoints = co_await Resolve(resolver);
  if (!endpoints.ok()) {
    watchdog_.Disarm();
    co_return endpoints.status();
  }
  const RegisterTarget target{endpoint_, tls_.get(), app_.verify_tls, app_.load_test, options_.register_timeout};
  Result<Registration> registration = co_await CallRegister(strand_, *endpoints, target, *app_.credentials, Now(),
                                                            RegisterNonce(options_.random), watchdog_);
  watchdog_.Disarm();
  co_return registration;
}

asio::awaitable<Result<std::shared_ptr<Link>>> SessionImpl::Connect(const Registration& registration) {
  Result<Params> params = BuildConnectParams(*app_.credentials, registration.link_token, Now());
  if (!params.ok()) co_return params.status().WithContext("building the WebSocket parameters");

  LinkSettings settings;
  settings.host = endpoint_.host;
  settings.host_header = endpoint_.host_header;
  settings.host_is_ip = endpoint_.host_is_ip;
  settings.verify_tls = app_.verify_tls;
  settings.zone = registration.zone;
  settings.content_type = "application/x-www-form-urlencoded;charset=" + app_.credentials->charset();
  settings.load_test = app_.load_test;
  settings.connect_timeout = options_.connect_timeout;
  settings.ping_interval = options_.ping_interval;
  settings.pong_timeout = options_.pong_timeout;

  std::shared_ptr<Link> link = MakeLink(*this, strand_, tls_.get(), std::move(settings));

  watchdog_.Arm(shared_from_this(), options_.connect_timeout);
  tcp::resolver resolver(strand_);
  Result<tcp::resolver::results_type> endpoints = co_await Resolve(resolver);
  Status opened = endpoints.status();
  if (endpoints.ok()) {
    if (watchdog_.OnCancel([link] { link->Shutdown(); }))
      opened = co_await link->Open(*endpoints, "/websocket?" + BuildQuery(*params));
    else
      opened = Unavailable("WebSocket connect cancelled: stopping");
  }
  const bool expired = watchdog_.expired();
  watchdog_.Disarm();
  if (!opened.ok()) {
    link->Shutdown();
    if (expired)
      co_return Timeout("WebSocket connect timed out after " +
                        std::to_string(options_.connect_timeout.count()) + " ms waiting for " +
                        link->waiting_for());
    co_return opened;
  }
  co_return link;
}

// ---- Graceful stop ---------------------------------------------------------------------------------

void SessionImpl::BeginStop(std::function<void()> done) {
  if (stopped_ || !started_) {
    stopping_ = true;
    stopped_ = true;
    SetState(ConnectionState::kStopped);
    if (done) done();
    return;
  }
  stop_callbacks_.push_back(std::move(done));
  if (stopping_) return;
  stopping_ = true;
  SetState(ConnectionState::kClosing);
  backoff_timer_.cancel();
  watchdog_.CancelStep();
  if (link_) {
    acks_.StartDraining();  // read no more; frames already read get stored and acked
    MaybeFinishDrain();
    stop_timer_.expires_after(options_.stop_timeout);
    stop_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || !self->link_) return;
      self->Fail("graceful stop timed out; closing the socket", LogLevel::kWarn);
      self->link_->Shutdown();
    });
  }
}

void SessionImpl::MaybeFinishDrain() {
  if (link_ && acks_.DrainComplete()) link_->CloseGracefully();
}

// ---- CONSUME: verify → store → ack ---------------------------------------------------------------
// The strand reads frames and writes acks. Parsing, verification and the hand-over to the inbox run
// on a verify thread (Admit), or right on the strand with verify_threads 0. A frame counts as in
// flight from the moment it is read, so backpressure and the graceful drain (Stop) also wait for
// frames still being verified. Acks leave in commit order, which need not be arrival order.

void SessionImpl::OnText(std::string text, SteadyClock::time_point read_at) {
  if (acks_.draining()) {
    Log(LogLevel::kDebug, "stopping: frame left unanswered (the server redelivers it)");
    return;
  }
  acks_.Begin();
  diagnostics_.Update([&](ConnectionStats& s) {
    s.in_flight = acks_.in_flight();
    s.reading_paused = acks_.Paused();
  });
  if (shared_->verify_pool == nullptr) {
    Admit(link_, text, read_at, /*on_strand=*/true);
    return;
  }
  shared_->verify_pool->Submit([self = shared_from_this(), link = link_, text = std::move(text), read_at] {
    self->Admit(link, text, read_at, /*on_strand=*/false);
  });
}

void SessionImpl::Admit(const std::shared_ptr<Link>& link, std::string_view text,
                        SteadyClock::time_point read_at, bool on_strand) {
  Intake intake = ClassifyFrame(text, *app_.credentials, app_id_, Now());
  switch (intake.kind) {
    case Intake::Kind::kConsume:
      diagnostics_.Update([](ConnectionStats& s) { ++s.received; });
      if (options_.logger)
        Log(LogLevel::kDebug, "msg " + intake.message.msg_id + " (" + intake.message.msg_api +
                                  ") bizContent: " + intake.message.biz_content);
      Store(link, std::move(intake), read_at);
      return;
    case Intake::Kind::kRejected: {
      diagnostics_.Update([](ConnectionStats& s) {
        ++s.received;
        ++s.signature_failures;
      });
      // The ids come from the frame: bounded like the audit's, whatever a forger put there.
      const RejectedMessage shown = BoundedForAudit(intake.rejected, RejectedAuditLimits{});
      LogLimited(rejection_log_, LogLevel::kWarn,
                 "msg " + shown.msg_id + " (" + shown.msg_api + ") rejected, answered FAIL, never dispatched: " +
                     shown.reason);
      auto record = [self = shared_from_this(), link, intake = std::move(intake), read_at]() mutable {
        Status recorded = self->options_.inbox->RecordRejected(intake.rejected);
        self->PostFromAnyThread([self, link, recorded, frame = std::move(intake.frame), read_at] {
          if (!recorded.ok()) {
            const std::string error = "audit record failed: " + recorded.ToString();
            self->diagnostics_.SetError(error, self->Now());
            self->LogLimited(self->rejection_log_, LogLevel::kError, error);
          }
          self->Ack(link, frame, false, read_at);
          self->CountForgery(link);
        });
      };
      // A write transaction: not on the io thread. A verify thread may wait for it.
      if (on_strand) shared_->run_blocking(std::move(record));
      else record();
      return;
    }
    case Intake::Kind::kMalformed:
      diagnostics_.Update([](ConnectionStats& s) { ++s.malformed_frames; });
      Log(LogLevel::kWarn, "malformed frame ignored (no ack): " + intake.reason);
      if (options_.logger) Log(LogLevel::kDebug, "malformed frame text: " + std::string(text));
      break;
    case Intake::Kind::kIgnored:
      Log(LogLevel::kDebug, "frame ignored: " + intake.reason);
      break;
    case Intake::Kind::kProduceAck:
      break;
  }
  // Nothing to answer: give the frame's in-flight slot back (and complete a send) on the strand.
  std::optional<SendResult> produce_ack;
  if (intake.kind == Intake::Kind::kProduceAck) produce_ack = ToSendResult(intake.frame);
  auto finish = [self = shared_from_this(), link, produce_ack = std::move(produce_ack)]() mutable {
    if (produce_ack) {
      const std::string stream_id = produce_ack->stream_id;  // before the result is moved from
      if (!self->producer_.Complete(stream_id, std::move(*produce_ack)))
        self->Log(LogLevel::kWarn, "PRODUCE_ACK for unknown stream-id " + stream_id + " ignored");
    }
    self->ReleaseInFlight(link);
  };
  if (on_strand) finish();
  else PostFromAnyThread(std::move(finish));
}

void SessionImpl::Store(const std::shared_ptr<Link>& link, Intake intake, SteadyClock::time_point read_at) {
  // What OnStored needs of the message: all of it for after-handle, only its id otherwise (the
  // content goes to the inbox without a copy).
  InboundMessage kept;
  if (options_.ack_mode == AckMode::kAfterHandle) kept = intake.message;
  else kept.msg_id = intake.message.msg_id;
  std::vector<InboundMessage> batch;
  batch.push_back(std::move(intake.message));
  // Called on the inbox's writer thread.
  Inbox::StoreCallback stored = OnStrandFromForeignThread(
      link, [frame = std::move(intake.frame), message = std::move(kept), read_at](
                SessionImpl& self, const std::shared_ptr<Link>& link, Result<std::vector<StoreOutcome>> result) {
        self.OnStored(link, frame, message, std::move(result), read_at);
      });
  options_.inbox->StoreAsync(std::move(batch), std::move(stored));
}

void SessionImpl::OnStored(const std::shared_ptr<Link>& link, const Frame& frame,
                           const InboundMessage& message, Result<std::vector<StoreOutcome>> result,
                           SteadyClock::time_point read_at) {
  if (!result.ok() || result->size() != 1) {
    diagnostics_.Update([](ConnectionStats& s) { ++s.store_errors; });
    // Every message fails alike while the disk is full: the line is rate-limited like rejections.
    const std::string error = "inbox commit failed for msg " + message.msg_id + ", answered FAIL: " +
                              (result.ok() ? std::string("wrong outcome count") : result.status().ToString());
    diagnostics_.SetError(error, Now());
    LogLimited(store_error_log_, LogLevel::kError, error);
    Ack(link, frame, false, read_at);
    return;
  }
  const StoreOutcome outcome = (*result)[0];
  if (outcome == StoreOutcome::kNew) {
    diagnostics_.Update([](ConnectionStats& s) { ++s.stored_new; });
    if (options_.on_new_messages) options_.on_new_messages();
  } else {
    diagnostics_.Update([](ConnectionStats& s) { ++s.duplicates; });
    Log(LogLevel::kDebug, "msg " + message.msg_id + " is a redelivery: acked, not dispatched again");
  }
  if (options_.ack_mode == AckMode::kAfterStore) {
    Ack(link, frame, true, read_at);
    return;
  }
  // Called on a dispatcher worker.
  options_.handle_now(message, outcome,
                      OnStrandFromForeignThread(link, [frame, read_at](SessionImpl& self,
                                                                     const std::shared_ptr<Link>& link,
                                                                     bool handled) {
                        self.Ack(link, frame, handled, read_at);
                      }));
}

void SessionImpl::Ack(const std::shared_ptr<Link>& link, const Frame& frame, bool success,
                      SteadyClock::time_point read_at) {
  if (!link || link != link_ || link->closed()) {
    // Stored (or audited) but the link that carried it is gone: Alipay redelivers it, and the
    // inbox absorbs the redelivery as a duplicate.
    diagnostics_.Update([](ConnectionStats& s) { ++s.acks_unsent; });
    return;
  }
  const std::string fallback = frame.has_stream_id ? std::string() : stream_ids_.Next(Now());
  link->Send(BuildConsumeAck(frame, success, fallback));
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - read_at).count();
  diagnostics_.Update([&](ConnectionStats& s) {
    ++(success ? s.acks_success : s.acks_fail);
    s.ack_latency.Record(micros);
  });
  ReleaseInFlight(link);
}

void SessionImpl::LogLimited(RateLimiter& limiter, LogLevel level, const std::string& line) const {
  int64_t suppressed = 0;
  if (!limiter.Admit(&suppressed)) return;
  Log(level, suppressed == 0 ? line
                             : line + " (" + std::to_string(suppressed) +
                                   " more such lines suppressed since the last one)");
}

void SessionImpl::CountForgery(const std::shared_ptr<Link>& link) {
  if (options_.forgery_close_threshold <= 0 || !link || link != link_ || link->closed()) return;
  const int64_t now = Now();
  if (forgery_link_ != link.get() || now - forgery_window_start_ms_ > options_.forgery_window.count()) {
    forgery_link_ = link.get();
    forgery_window_start_ms_ = now;
    forgeries_ = 0;
  }
  if (++forgeries_ < options_.forgery_close_threshold) return;
  Fail("closing the connection: " + std::to_string(forgeries_) +
           " CONSUMEs failed signature verification within " +
           std::to_string(options_.forgery_window.count()) +
           " ms (frames may be injected into it); connecting again",
       LogLevel::kWarn);
  forgery_link_ = nullptr;
  link->Shutdown();
}

void SessionImpl::ReleaseInFlight(const std::shared_ptr<Link>& link) {
  if (!link || link != link_) return;  // read on a link that is gone: its count was reset
  const bool was_paused = acks_.Paused();
  acks_.End();
  diagnostics_.Update([&](ConnectionStats& s) {
    s.in_flight = acks_.in_flight();
    s.reading_paused = acks_.Paused();
  });
  if (was_paused && acks_.ShouldRead() && !link->closed()) link->ResumeReading();
  MaybeFinishDrain();
}

// ---- PRODUCE ---------------------------------------------------------------------------------------

void SessionImpl::DoSend(const std::string& msg_api, const std::string& biz, SendCallback done) {
  if (!link_ || link_->closed() || stopping_) {
    const ConnectionStats stats = diagnostics_.Snapshot();
    producer_.Refuse(std::move(done),
                     Unavailable("app " + app_id_ + " is not connected (state " + std::string(ToString(stats.state)) +
                                 (stats.last_error.empty() ? "" : "; last error: " + stats.last_error) + ")"));
    return;
  }
  const std::string stream_id = stream_ids_.Next(Now());
  if (producer_.Send(shared_from_this(), *link_, *app_.credentials, stream_id, Now(), msg_api, biz, std::move(done)))
    Log(LogLevel::kDebug, "PRODUCE " + msg_api + " stream-id " + stream_id + " bizContent: " + biz);
}

}  // namespace

Result<std::shared_ptr<Session>> Session::Create(asio::io_context& io,
                                                 std::shared_ptr<SharedContext> shared,
                                                 AppOptions app) {
  if (!app.credentials) return InvalidArgument("app options without credentials");
  const std::string& app_id = app.credentials->app_id();
  Result<Endpoint> endpoint = ParseServerHost(app.server_host, app.tls);
  if (!endpoint.ok()) return endpoint.status().WithContext("app " + app_id);
  std::unique_ptr<ssl::context> tls;
  if (app.tls) {
    auto native = alipaymsg::tls::NewClientContext(app.ca_file, app.verify_tls);
    if (!native.ok()) return native.status().WithContext("app " + app_id);
    tls = std::make_unique<ssl::context>(*native);  // takes it over
  }
  return std::shared_ptr<Session>(std::make_shared<SessionImpl>(
      io, std::move(shared), std::move(app), std::move(*endpoint), std::move(tls)));
}

}  // namespace alipaymsg::client
