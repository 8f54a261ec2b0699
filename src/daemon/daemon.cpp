#include "daemon/daemon.h"

#include <cmath>
#include <filesystem>
#include <mutex>

#include "alipaymsg/notify.h"
#include "base/backoff.h"
#include "base/thread_name.h"

namespace alipaymsg::daemon {
namespace {

void Log(const Logger& logger, LogLevel level, const std::string& line) {
  if (logger) logger(level, line);
}

// A flood of forged notifications must not become a flood of log lines: at most kPerSecond lines a
// second, then one line saying how many were left out.
class RejectionLog {
 public:
  explicit RejectionLog(Logger logger) : logger_(std::move(logger)) {}
  void Line(const std::string& line) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    if (now - window_start_ >= std::chrono::seconds(1)) {
      if (suppressed_ > 0) {
        Log(logger_, LogLevel::kWarn, std::to_string(suppressed_) + " more rejected notifications not logged");
      }
      window_start_ = now;
      in_window_ = 0;
      suppressed_ = 0;
    }
    if (++in_window_ > kPerSecond) {
      ++suppressed_;
      return;
    }
    Log(logger_, LogLevel::kWarn, line);
  }

 private:
  static constexpr int kPerSecond = 20;
  Logger logger_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point window_start_{};
  int in_window_ = 0;
  int64_t suppressed_ = 0;
};

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::Create(const DaemonConfig& config, Logger logger) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->config_ = config;
  d->logger_ = logger;
  d->instance_id_ = EffectiveInstanceId(config);

  // Every app's keys first: all problems reported at once, before anything is opened.
  std::vector<std::shared_ptr<const Credentials>> credentials;
  std::string errors;
  for (const AppConfig& app : config.apps) {
    Result<Credentials> loaded = Credentials::Load(app.credentials);
    if (!loaded.ok()) {
      errors += (errors.empty() ? "" : "\n") + DescribeCredentialsError(config, app, loaded.status());
      continue;
    }
    credentials.push_back(std::make_shared<const Credentials>(std::move(*loaded)));
  }
  if (!errors.empty()) return InvalidArgument(errors);
  d->credentials_ = std::move(credentials);

  auto inbox = d->OpenInbox();
  if (!inbox.ok()) {
    // An unreachable database is waited for (Start); anything else (bad URL, wrong password file,
    // a schema from a newer build) is a configuration problem to report now.
    if (config.inbox_url.empty() || inbox.status().code() != StatusCode::kUnavailable) return inbox.status();
    d->inbox_error_ = inbox.status().ToString();
    Log(logger, LogLevel::kWarn, "inbox not reachable yet (will retry): " + d->inbox_error_);
    return d;
  }
  ALIPAYMSG_RETURN_IF_ERROR(d->Assemble(std::move(*inbox)));
  return d;
}

Result<std::unique_ptr<Inbox>> Daemon::OpenInbox() {
  if (config_.inbox_url.empty()) {
    std::error_code ec;
    std::filesystem::path inbox_dir = std::filesystem::path(config_.inbox_path).parent_path();
    if (!inbox_dir.empty()) std::filesystem::create_directories(inbox_dir, ec);
    if (ec) return IoError("creating the inbox directory " + inbox_dir.string() + ": " + ec.message());
    SqliteInboxOptions options;
    options.rejected = config_.inbox_rejected;
    return OpenSqliteInbox(config_.inbox_path, options);
  }
  auto password = ReadInboxPassword(config_);
  if (!password.ok()) return password.status();
  PostgresInboxOptions options;
  options.instance_id = instance_id_;
  options.lease_ms = config_.inbox_lease_ms;
  options.password = *password;
  options.rejected = config_.inbox_rejected;
  return OpenPostgresInbox(config_.inbox_url, options);
}

Status Daemon::Assemble(std::unique_ptr<Inbox> inbox) {
  const DaemonConfig& config = config_;
  const Logger& logger = logger_;
  ReceiverOptions options;
  for (size_t i = 0; i < config.apps.size(); ++i) {
    const AppConfig& app = config.apps[i];
    ReceiverApp a;
    a.connection.credentials = credentials_[i];
    a.connection.server_host = app.server_host;
    a.connection.tls = app.ssl;
    a.connection.ca_file = app.ca_file;
    a.label = app.key_name + " (app " + app.credentials.app_id + ")";
    options.apps.push_back(std::move(a));
  }
  options.ack_mode = config.ack;
  options.logger = logger;
  options.handle_signals = false;  // apps/alipay-msgd/main.cpp waits for them (SIGHUP too)
  options.client.stop_timeout = std::chrono::milliseconds(std::max(1000, config.shutdown_timeout_ms / 2));
  options.client.ping_interval = std::chrono::milliseconds(config.heartbeat.ping_interval_ms);
  options.client.pong_timeout = std::chrono::milliseconds(config.heartbeat.pong_timeout_ms);

  DispatcherOptions& dispatch = options.dispatch;
  dispatch.threads = config.dispatch_concurrency;
  // Claims ahead of the workers: one claim per inbox commit must cover a whole commit's worth of
  // messages (hundreds at full speed), or the claims, not the sinks, bound the dispatch rate.
  dispatch.prefetch = 1024;
  dispatch.max_attempts = config.retry.max_attempts;
  dispatch.initial_backoff = std::chrono::milliseconds(config.retry.initial_backoff_ms);
  dispatch.max_backoff = std::chrono::milliseconds(config.retry.max_backoff_ms);
  dispatch.on_result = [logger](const StoredMessage& m, const DispatchResult& r) {
    const std::string what = m.message.app_id + " " + m.message.msg_api + " msg_id=" + m.message.msg_id;
    switch (r.kind) {
      // Debug: at thousands of messages per second an info line (flushed) per message would cost
      // more than the delivery itself; failures below stay visible.
      case DispatchResult::Kind::kDone: Log(logger, LogLevel::kDebug, "delivered " + what); break;
      case DispatchResult::Kind::kRetry:
        Log(logger, LogLevel::kWarn, "delivery failed, will retry: " + what + ": " + r.error);
        break;
      case DispatchResult::Kind::kDead: Log(logger, LogLevel::kError, "dead: " + what + ": " + r.error); break;
      case DispatchResult::Kind::kUnhandled:
        Log(logger, LogLevel::kWarn, "no sink matches, kept as unhandled: " + what);
        break;
    }
  };
  dispatch.on_error = [logger](const Status& s) { Log(logger, LogLevel::kError, "dispatcher: " + s.ToString()); };
  // Deliveries not yet started give up once the connections are closed (retried at the next start).
  options.before_dispatch_stop = [this] {
    if (sinks_) sinks_->CancelAll();
  };

  auto receiver = Receiver::Open(std::move(options), std::move(inbox));
  if (!receiver.ok()) return receiver.status();
  receiver_ = std::move(*receiver);
  auto sinks = BuildSinks(config, &receiver_->inbox());
  if (!sinks.ok()) return sinks.status();
  sinks_ = std::move(*sinks);
  Router router;
  ALIPAYMSG_RETURN_IF_ERROR(sinks_->RegisterOn(router));
  ALIPAYMSG_RETURN_IF_ERROR(receiver_->SetRouter(std::move(router)));
  if (config.notify.enabled) ALIPAYMSG_RETURN_IF_ERROR(BuildNotifyReceiver(credentials_));
  assembled_.store(true, std::memory_order_release);
  return Status::Ok();
}

// Verification keys per app from the app blocks: key mode the Alipay public key; cert mode every
// certificate of alipay-cert-public-key-path by SN (alipay_cert_sn picks one), the first as default.
Status Daemon::BuildNotifyReceiver(const std::vector<std::shared_ptr<const Credentials>>& credentials) {
  std::vector<NotifyApp> apps;
  for (size_t i = 0; i < config_.apps.size(); ++i) {
    const AppConfig& app = config_.apps[i];
    NotifyApp a;
    a.app_id = app.credentials.app_id;
    a.alipay_public_key = credentials[i]->alipay_public_key();
    if (app.cert_mode()) {
      auto keys = LoadAlipayCertKeys(app.credentials.alipay_cert_path);
      if (!keys.ok()) return keys.status().WithContext(app.key_name + ".alipay-cert-public-key-path");
      a.alipay_keys_by_cert_sn = std::move(*keys);
    }
    a.aes_key_base64 = app.encrypt_key;
    apps.push_back(std::move(a));
  }
  Receiver* receiver = receiver_.get();
  notify_receiver_ = std::make_unique<NotifyReceiver>(receiver->inbox(), std::move(apps), /*clock=*/nullptr,
                                                      [receiver] { receiver->DispatchPending(); });
  auto log = std::make_shared<RejectionLog>(logger_);
  notify_receiver_->set_on_rejected([log](const RejectedMessage& m, NotifyOutcome outcome) {
    log->Line("notification rejected (" + std::string(ToString(outcome)) + ", answered fail, not dispatched): app_id=" +
              m.app_id.substr(0, 64) + " notify_id=" + m.msg_id.substr(0, 64) + ": " + m.reason);
  });
  return Status::Ok();
}

Daemon::~Daemon() { Stop(); }

// The listener first: a notification it stores before the receiver starts is dispatched by the start.
Status Daemon::StartAssembled() {
  ALIPAYMSG_RETURN_IF_ERROR(StartNotifyListener());
  return receiver_->Start();
}

// Retries opening the (PostgreSQL) inbox with backoff until it opens or Stop(); then starts the rest.
void Daemon::OpenInboxInBackground() {
  for (int attempt = 1;; ++attempt) {
    const auto delay = CappedExponential(std::chrono::milliseconds(500), 2.0, std::chrono::seconds(30), attempt);
    {
      std::unique_lock lock(opener_mu_);
      if (opener_cv_.wait_for(lock, delay, [this] { return opener_stop_; })) return;
    }
    auto inbox = OpenInbox();
    if (!inbox.ok()) {
      std::lock_guard lock(opener_mu_);
      if (inbox_error_ != inbox.status().ToString()) {
        Log(logger_, LogLevel::kWarn, "inbox still not reachable (will retry): " + inbox.status().ToString());
      }
      inbox_error_ = inbox.status().ToString();
      continue;
    }
    std::lock_guard lock(opener_mu_);  // Stop() waits for this to finish, or it stops us before
    if (opener_stop_) return;
    Status status = Assemble(std::move(*inbox));
    if (status.ok()) status = StartAssembled();
    if (!status.ok()) {
      // Not a connectivity problem: nothing will fix it by waiting. Stay not ready, say why.
      inbox_error_ = status.ToString();
      Log(logger_, LogLevel::kError, "cannot start on the inbox: " + inbox_error_);
      return;
    }
    inbox_error_.clear();
    Log(logger_, LogLevel::kInfo, "inbox " + RedactInboxUrl(config_.inbox_url) + " open; connecting");
    return;
  }
}

// The notification listener needs the inbox (its receiver stores there): started once assembled.
Status Daemon::StartNotifyListener() {
  if (!notify_receiver_) return Status::Ok();
  const NotifyConfig& n = config_.notify;
  NotifyServerOptions options;
  const bool v6 = n.host.find(':') != std::string::npos;
  options.listen = (v6 ? "[" + n.host + "]" : n.host) + ":" + std::to_string(n.port);
  options.paths = n.paths;
  options.cert_file = n.cert_file;
  options.key_file = n.key_file;
  options.limits = n.limits;
  auto server = NotifyServer::Start(options, *notify_receiver_);
  if (!server.ok()) return server.status().WithContext("notify.listen");
  notify_server_ = std::move(*server);
  std::string paths;
  for (const std::string& p : n.paths) paths += (paths.empty() ? "" : " ") + p;
  Log(logger_, LogLevel::kInfo,
      std::string("notify listener on ") + (n.cert_file.empty() ? "http" : "https") + "://" +
          (v6 ? "[" + n.host + "]" : n.host) + ":" + std::to_string(notify_server_->port()) + " (" + paths + ")");
  return Status::Ok();
}

Status Daemon::Start() {
  // A notification listener that cannot listen stops the start before anything connects.
  if (assembled_.load(std::memory_order_acquire)) ALIPAYMSG_RETURN_IF_ERROR(StartNotifyListener());
  if (!config_.admin_host.empty()) {
    AdminServer::Callbacks callbacks;
    callbacks.health = [this] { return Health(); };
    callbacks.metrics = [this] { return Metrics(); };
    callbacks.listeners = [this] { return Listeners(); };
    callbacks.inbox = [this] {
      // Nothing to commit to before the (PostgreSQL) inbox opened: readiness says so per app.
      return assembled_.load(std::memory_order_acquire) ? receiver_->inbox().Health() : InboxHealth{};
    };
    auto admin = AdminServer::Start(config_.admin_host, config_.admin_port, std::move(callbacks));
    if (!admin.ok()) return admin.status();
    admin_ = std::move(*admin);
    Log(logger_, LogLevel::kInfo,
        "admin on http://" + config_.admin_host + ":" + std::to_string(admin_->port()) + " (/healthz /readyz /metrics)");
  }
  if (!assembled_.load(std::memory_order_acquire)) {
    opener_ = std::thread([this] {
      NameThisThread("inbox-open");
      OpenInboxInBackground();
    });
    return Status::Ok();
  }
  return receiver_->Start();
}

void Daemon::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(opener_mu_);
    opener_stop_ = true;
  }
  opener_cv_.notify_all();
  if (opener_.joinable()) opener_.join();
  // No new notifications. One being stored is still committed (the inbox closes last), but its
  // answer goes with its connection: Alipay's retry is then a duplicate, answered success.
  if (notify_server_) notify_server_->Stop();
  // In-flight CONSUMEs stored and acked first, then sink deliveries cancelled (before_dispatch_stop),
  // running ones finished, the inbox closed.
  if (receiver_) receiver_->Shutdown();
  if (admin_) admin_->Stop();
}

std::vector<AppHealth> Daemon::Health() const {
  std::vector<AppHealth> out;
  if (!assembled_.load(std::memory_order_acquire)) {
    // Not connected to Alipay at all until the inbox opens: say why on every app.
    std::lock_guard lock(const_cast<std::mutex&>(opener_mu_));
    for (const AppConfig& app : config_.apps) {
      out.push_back(AppHealth{app.credentials.app_id, "waiting-for-inbox", false, inbox_error_, 0});
    }
    return out;
  }
  for (const ConnectionStats& s : receiver_->Connections()) {
    out.push_back(AppHealth{s.app_id, std::string(ToString(s.state)), s.connected, s.last_error, s.reconnects});
  }
  return out;
}

uint64_t Daemon::ActivityCount() const {
  if (!assembled_.load(std::memory_order_acquire)) return 0;
  const DispatcherStats d = receiver_->Dispatching();
  return static_cast<uint64_t>(d.handled + d.unhandled);
}

MetricsSnapshot Daemon::Metrics() const {
  MetricsSnapshot m;
  // The label matters where several instances run; a lone SQLite daemon keeps its series unchanged
  // unless it was given an id.
  if (!config_.inbox_url.empty() || !config_.instance_id.empty()) m.instance = instance_id_;
  if (!config_.inbox_url.empty()) m.shared_inbox = RedactInboxUrl(config_.inbox_url);
  if (!assembled_.load(std::memory_order_acquire)) return m;
  m.apps = receiver_->Connections();
  if (auto stats = receiver_->inbox().Stats(); stats.ok()) {
    m.inbox_pending = stats->pending;
    m.inbox_in_flight = stats->in_flight;
    m.inbox_done = stats->done;
    m.inbox_dead = stats->dead;
    m.inbox_unhandled = stats->unhandled;
    m.inbox_rejected = stats->rejected;
    m.report_inbox = stats->reports_inbox_wide;
    m.inbox_rejected_total = stats->rejected_total;
    m.inbox_store_waiting = stats->store_waiting;
  }
  DispatcherStats d = receiver_->Dispatching();
  m.dispatch_done = d.done;
  m.dispatch_retry = d.retried;
  m.dispatch_dead = d.dead;
  m.dispatch_unhandled = d.unhandled;
  m.sinks = sinks_->Counters();
  m.listeners = Listeners();
  if (notify_receiver_) {
    for (const NotifyOutcomeCount& c : notify_receiver_->CountsByApp()) {
      m.notifications.push_back(NotifyOutcomeMetric{c.app_id, std::string(ToString(c.outcome)), c.count});
    }
  }
  return m;
}

std::vector<ListenerMetrics> Daemon::Listeners() const {
  std::vector<ListenerMetrics> out;
  // A daemon waiting for its (PostgreSQL) inbox builds the receiver and starts the listener on the
  // opener thread, holding opener_mu_.
  std::lock_guard lock(const_cast<std::mutex&>(opener_mu_));
  if (!notify_receiver_) return out;
  ListenerMetrics l;
  l.name = "notify";
  l.address = config_.notify.host + ":" + std::to_string(config_.notify.port);
  if (notify_server_) {
    l.address = config_.notify.host + ":" + std::to_string(notify_server_->port());
    l.stats = notify_server_->stats();
  }
  out.push_back(std::move(l));
  return out;
}

}  // namespace alipaymsg::daemon
