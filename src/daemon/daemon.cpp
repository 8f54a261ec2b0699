#include "daemon/daemon.h"

#include <cmath>
#include <filesystem>

namespace alipaymsg::daemon {
namespace {

void Log(const Logger& logger, LogLevel level, const std::string& line) {
  if (logger) logger(level, line);
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::Create(const DaemonConfig& config, Logger logger) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->config_ = config;
  d->logger_ = logger;

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

  std::error_code ec;
  std::filesystem::path inbox_dir = std::filesystem::path(config.inbox_path).parent_path();
  if (!inbox_dir.empty()) std::filesystem::create_directories(inbox_dir, ec);
  if (ec) return IoError("creating the inbox directory " + inbox_dir.string() + ": " + ec.message());
  SqliteInboxOptions inbox_options;
  inbox_options.rejected = config.inbox_rejected;
  auto inbox = OpenSqliteInbox(config.inbox_path, inbox_options);
  if (!inbox.ok()) return inbox.status();
  d->inbox_ = std::move(*inbox);

  auto sinks = BuildSinks(config);
  if (!sinks.ok()) return sinks.status();
  d->sinks_ = std::move(*sinks);
  Router router;
  ALIPAYMSG_RETURN_IF_ERROR(d->sinks_->RegisterOn(router));

  DispatcherOptions dispatch;
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
  d->dispatcher_ = std::make_unique<Dispatcher>(*d->inbox_, std::move(router), dispatch);

  ClientOptions options;
  options.inbox = d->inbox_.get();
  options.ack_mode = config.ack;
  options.logger = logger;
  options.stop_timeout = std::chrono::milliseconds(std::max(1000, config.shutdown_timeout_ms / 2));
  options.ping_interval = std::chrono::milliseconds(config.heartbeat.ping_interval_ms);
  options.pong_timeout = std::chrono::milliseconds(config.heartbeat.pong_timeout_ms);
  Dispatcher* dispatcher = d->dispatcher_.get();
  options.on_new_messages = [dispatcher] { dispatcher->Notify(); };
  if (config.ack == AckMode::kAfterHandle) {
    options.handle_now = [dispatcher](const InboundMessage& message, StoreOutcome, std::function<void(bool)> done) {
      StoredMessage stored;
      stored.message = message;
      dispatcher->DispatchNow(stored, [done = std::move(done)](DispatchResult r) {
        done(r.kind == DispatchResult::Kind::kDone);
      });
    };
  }
  auto client = Client::Create(std::move(options));
  if (!client.ok()) return client.status();
  d->client_ = std::move(*client);
  for (size_t i = 0; i < config.apps.size(); ++i) {
    const AppConfig& app = config.apps[i];
    AppOptions a;
    a.credentials = credentials[i];
    a.server_host = app.server_host;
    a.tls = app.ssl;
    a.ca_file = app.ca_file;
    Status added = d->client_->AddApp(std::move(a));
    if (!added.ok()) return added.WithContext(app.key_name + " (app " + app.credentials.app_id + ")");
  }
  return d;
}

Daemon::~Daemon() { Stop(); }

Status Daemon::Start() {
  ALIPAYMSG_RETURN_IF_ERROR(dispatcher_->Start());
  if (!config_.admin_host.empty()) {
    AdminServer::Callbacks callbacks;
    callbacks.health = [this] { return Health(); };
    callbacks.metrics = [this] { return Metrics(); };
    callbacks.inbox = [this] { return inbox_->Health(); };
    auto admin = AdminServer::Start(config_.admin_host, config_.admin_port, std::move(callbacks));
    if (!admin.ok()) return admin.status();
    admin_ = std::move(*admin);
    Log(logger_, LogLevel::kInfo,
        "admin on http://" + config_.admin_host + ":" + std::to_string(admin_->port()) + " (/healthz /readyz /metrics)");
  }
  client_->Start();
  dispatcher_->Notify();  // whatever a previous run left pending
  return Status::Ok();
}

void Daemon::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (client_) client_->StopAndWait();  // in-flight CONSUMEs stored and acked first
  if (sinks_) sinks_->CancelAll();      // deliveries not yet started give up (retried next start)
  if (dispatcher_) dispatcher_->Stop();
  if (admin_) admin_->Stop();
  if (inbox_) inbox_->Close();
}

std::vector<AppHealth> Daemon::Health() const {
  std::vector<AppHealth> out;
  for (const ConnectionStats& s : client_->Stats()) {
    out.push_back(AppHealth{s.app_id, std::string(ToString(s.state)), s.connected, s.last_error, s.reconnects});
  }
  return out;
}

MetricsSnapshot Daemon::Metrics() const {
  MetricsSnapshot m;
  for (const ConnectionStats& s : client_->Stats()) {
    AppMetrics a;
    a.app_id = s.app_id;
    a.connected = s.connected;
    a.received = s.received;
    a.stored_new = s.stored_new;
    a.duplicates = s.duplicates;
    a.signature_failures = s.signature_failures;
    a.malformed_frames = s.malformed_frames;
    a.acks_success = s.acks_success;
    a.acks_fail = s.acks_fail;
    a.acks_unsent = s.acks_unsent;
    a.reconnects = s.reconnects;
    for (size_t i = 0; i < LatencyHistogram::kBoundsUs.size(); ++i) {
      const int64_t bound = LatencyHistogram::kBoundsUs[i];
      a.latency_bounds_s.push_back(bound == INT64_MAX ? INFINITY : static_cast<double>(bound) / 1e6);
      a.latency_counts.push_back(s.ack_latency.counts[i]);
    }
    a.latency_count = s.ack_latency.count;
    a.latency_sum_s = static_cast<double>(s.ack_latency.sum_us) / 1e6;
    m.apps.push_back(std::move(a));
  }
  if (auto stats = inbox_->Stats(); stats.ok()) {
    m.inbox_pending = stats->pending;
    m.inbox_in_flight = stats->in_flight;
    m.inbox_done = stats->done;
    m.inbox_dead = stats->dead;
    m.inbox_unhandled = stats->unhandled;
    m.inbox_rejected = stats->rejected;
    m.inbox_rejected_total = stats->rejected_total;
  }
  DispatcherStats d = dispatcher_->Stats();
  m.dispatch_done = d.done;
  m.dispatch_retry = d.retried;
  m.dispatch_dead = d.dead;
  m.dispatch_unhandled = d.unhandled;
  m.sinks = sinks_->Counters();
  return m;
}

}  // namespace alipaymsg::daemon
