// Client: the set of app sessions on one io_context, and the thread that runs it when the caller
// does not bring one.
#include "alipaymsg/client.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "base/thread_name.h"
#include "client/session.h"
#include "client/work_pool.h"

namespace alipaymsg {

namespace asio = boost::asio;

struct Client::Impl {
 public:
  // Checks the options and fills in the defaults; runs on `io`, or on an own io thread when null.
  static Result<std::unique_ptr<Impl>> Make(asio::io_context* io, ClientOptions options);

  Impl(asio::io_context* io, std::unique_ptr<asio::io_context> own_io,
       std::shared_ptr<client::SharedContext> shared)
      : io_(io), own_io_(std::move(own_io)), shared_(std::move(shared)) {
    shared_->run_blocking = [this](std::function<void()> work) { blocking_.Submit(std::move(work)); };
    if (shared_->options.verify_threads > 0) {
      verify_pool_ = std::make_unique<client::WorkPool>(shared_->options.verify_threads, "verify");
      shared_->verify_pool = verify_pool_.get();
    }
    if (own_io_) {
      guard_.emplace(own_io_->get_executor());
      thread_ = std::thread([this] {
        NameThisThread("client-io");
        own_io_->run();
      });
    }
  }

  ~Impl() {
    if (!OnIoThread()) StopAndWait();
    {
      std::lock_guard lock(shared_->gate_mutex);
      shared_->gate_open = false;
    }
    // Frames still being verified (a stop that timed out) are stored, not acked: redelivered later.
    if (verify_pool_) verify_pool_->Shutdown();
    blocking_.Shutdown();
    guard_.reset();
    if (thread_.joinable()) {
      if (thread_.get_id() == std::this_thread::get_id()) thread_.detach();
      else thread_.join();
    }
  }

  bool OnIoThread() const { return io_->get_executor().running_in_this_thread(); }

  Status AddApp(AppOptions app) {
    if (!app.credentials) return InvalidArgument("AddApp: no credentials (use Credentials::Load)");
    std::lock_guard lock(mutex_);
    if (stopped_) return Unavailable("AddApp: the client is stopped");
    const std::string app_id = app.credentials->app_id();
    if (app_id.empty()) return InvalidArgument("AddApp: credentials without an app_id");
    if (sessions_.count(app_id)) return InvalidArgument("AddApp: app " + app_id + " was already added");
    Result<std::shared_ptr<client::Session>> session = client::Session::Create(*io_, shared_, std::move(app));
    if (!session.ok()) return session.status();
    sessions_.emplace(app_id, *session);
    if (started_) (*session)->Start();
    return Status::Ok();
  }

  void Start() {
    std::lock_guard lock(mutex_);
    if (started_ || stopped_) return;
    started_ = true;
    for (auto& [id, session] : sessions_) session->Start();
  }

  void Stop(std::function<void()> done) {
    std::vector<std::shared_ptr<client::Session>> sessions;
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      for (auto& [id, session] : sessions_) sessions.push_back(session);
    }
    if (sessions.empty()) {
      if (done) asio::post(*io_, std::move(done));
      return;
    }
    auto remaining = std::make_shared<std::atomic<size_t>>(sessions.size());
    auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
    for (auto& session : sessions) {
      session->Stop([remaining, shared_done] {
        if (remaining->fetch_sub(1) == 1 && *shared_done) (*shared_done)();
      });
    }
  }

  void StopAndWait() {
    if (OnIoThread()) {  // waiting here would deadlock the loop that has to do the stopping
      Stop({});
      return;
    }
    auto finished = std::make_shared<std::promise<void>>();
    std::future<void> wait = finished->get_future();
    Stop([finished] { finished->set_value(); });
    wait.wait();
  }

  void AsyncSend(const std::string& app_id, std::string msg_api, std::string biz, SendCallback done) {
    std::shared_ptr<client::Session> session = Find(app_id);
    if (!session) {
      asio::post(*io_, [done = std::move(done), app_id] {
        done(InvalidArgument("send: unknown app " + app_id));
      });
      return;
    }
    session->AsyncSend(std::move(msg_api), std::move(biz), std::move(done));
  }

  Result<SendResult> Send(const std::string& app_id, std::string msg_api, std::string biz) {
    if (OnIoThread())
      return InvalidArgument("Send() blocks: call it off the io thread, or use AsyncSend()");
    auto promise = std::make_shared<std::promise<Result<SendResult>>>();
    auto future = promise->get_future();
    AsyncSend(app_id, std::move(msg_api), std::move(biz),
              [promise](Result<SendResult> result) { promise->set_value(std::move(result)); });
    try {
      return future.get();
    } catch (const std::future_error&) {
      return Unavailable("send: the client stopped before the send completed");
    }
  }

  std::shared_ptr<client::Session> Find(const std::string& app_id) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(app_id);
    return it == sessions_.end() ? nullptr : it->second;
  }

  std::vector<ConnectionStats> Stats() const {
    std::vector<std::shared_ptr<client::Session>> sessions;
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, session] : sessions_) sessions.push_back(session);
    }
    std::vector<ConnectionStats> stats;
    for (auto& session : sessions) stats.push_back(session->Snapshot());
    return stats;
  }

 private:
  asio::io_context* io_;
  std::unique_ptr<asio::io_context> own_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::shared_ptr<client::SharedContext> shared_;
  client::WorkPool blocking_{1, "audit"};  // rare blocking work (audit writes); its thread starts on first use
  std::unique_ptr<client::WorkPool> verify_pool_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<client::Session>> sessions_;
  bool started_ = false;
  bool stopped_ = false;
};

namespace {

Status FillDefaults(ClientOptions& options) {
  if (!options.inbox) return InvalidArgument("client options: an inbox is required");
  if (options.ack_mode == AckMode::kAfterHandle && !options.handle_now)
    return InvalidArgument("client options: ack mode after-handle needs handle_now");
  if (options.max_in_flight < 1) return InvalidArgument("client options: max_in_flight must be >= 1");
  if (options.verify_threads == ClientOptions::kAutoVerifyThreads)
    options.verify_threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  if (options.verify_threads < 0 || options.verify_threads > 256)
    return InvalidArgument("client options: verify_threads must be from 0 to 256 (or kAutoVerifyThreads), not " +
                           std::to_string(options.verify_threads));
  if (options.max_pending_sends < 1)
    return InvalidArgument("client options: max_pending_sends must be >= 1");
  if (options.ping_interval.count() <= 0 || options.pong_timeout.count() <= 0)
    return InvalidArgument("client options: ping_interval and pong_timeout must be positive");
  if (options.register_timeout.count() <= 0 || options.connect_timeout.count() <= 0 ||
      options.send_timeout.count() <= 0 || options.stop_timeout.count() <= 0)
    return InvalidArgument("client options: timeouts must be positive");
  if (options.clock == nullptr) options.clock = &SystemClock::Instance();
  if (!options.random) {
    struct Source {
      std::mutex mutex;
      std::mt19937_64 engine{std::random_device{}()};
    };
    auto source = std::make_shared<Source>();
    options.random = [source] {
      std::lock_guard lock(source->mutex);
      return source->engine();
    };
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Client::Impl>> Client::Impl::Make(asio::io_context* io, ClientOptions options) {
  ALIPAYMSG_RETURN_IF_ERROR(FillDefaults(options));
  auto shared = std::make_shared<client::SharedContext>();
  shared->options = std::move(options);
  std::unique_ptr<asio::io_context> own;
  if (!io) {
    own = std::make_unique<asio::io_context>(1);
    io = own.get();
  }
  return std::make_unique<Impl>(io, std::move(own), std::move(shared));
}

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  Result<std::unique_ptr<Impl>> impl = Impl::Make(nullptr, std::move(options));
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<Client>(new Client(std::move(*impl)));
}

Result<std::unique_ptr<Client>> Client::Create(asio::io_context& io, ClientOptions options) {
  Result<std::unique_ptr<Impl>> impl = Impl::Make(&io, std::move(options));
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<Client>(new Client(std::move(*impl)));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Status Client::AddApp(AppOptions app) { return impl_->AddApp(std::move(app)); }
void Client::Start() { impl_->Start(); }
void Client::Stop(std::function<void()> done) { impl_->Stop(std::move(done)); }
void Client::StopAndWait() { impl_->StopAndWait(); }
void Client::AsyncSend(const std::string& app_id, std::string msg_api, std::string biz_content,
                       SendCallback done) {
  impl_->AsyncSend(app_id, std::move(msg_api), std::move(biz_content), std::move(done));
}
Result<SendResult> Client::Send(const std::string& app_id, std::string msg_api,
                                std::string biz_content) {
  return impl_->Send(app_id, std::move(msg_api), std::move(biz_content));
}
std::vector<ConnectionStats> Client::Stats() const { return impl_->Stats(); }
std::optional<ConnectionStats> Client::Stats(const std::string& app_id) const {
  auto session = impl_->Find(app_id);
  if (!session) return std::nullopt;
  return session->Snapshot();
}
bool Client::AllConnected() const {
  auto stats = impl_->Stats();
  if (stats.empty()) return false;
  for (const auto& s : stats)
    if (!s.connected) return false;
  return true;
}

}  // namespace alipaymsg
