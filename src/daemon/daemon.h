// The daemon assembled: config → credentials → inbox → a Receiver (router, dispatcher, client) whose
// handlers are the sinks, plus the notification listener and the admin server. apps/alipay-msgd/main.cpp only parses flags, sets up logging and handles signals.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "alipaymsg/notify_receiver.h"
#include "alipaymsg/receiver.h"
#include "daemon/admin.h"
#include "daemon/config.h"
#include "daemon/sinks.h"

namespace alipaymsg::daemon {

class Daemon {
 public:
  // Loads every app's credentials (reporting all failures together), opens the inbox, recovers the
  // jsonl sinks, creates the dispatcher and the client. Nothing connects yet. A PostgreSQL inbox
  // that cannot be reached yet is not an error: Start() then serves /readyz (503, with the reason)
  // and keeps trying with backoff; nothing connects to Alipay, so nothing is acked, until it opens.
  static Result<std::unique_ptr<Daemon>> Create(const DaemonConfig& config, Logger logger);
  ~Daemon();

  // Starts dispatching, the admin server and the connections.
  Status Start();
  // Drains: closes the connections (in-flight messages are stored and acked), lets running sink
  // deliveries finish, closes the inbox. Messages not finished stay in the inbox for the next start.
  void Stop();

  int admin_port() const { return admin_ ? admin_->port() : 0; }
  int notify_port() const { return notify_server_ ? notify_server_->port() : 0; }
  const std::string& instance_id() const { return instance_id_; }
  std::vector<AppHealth> Health() const;
  MetricsSnapshot Metrics() const;
  std::vector<ListenerMetrics> Listeners() const;  // the notification listener, when configured
  // Grows with every handler call (WebSocket messages and notifications alike): how the app tells a
  // quiet daemon from a working one (IdleTrim). Cheap: one lock, no inbox query.
  uint64_t ActivityCount() const;

 private:
  Status BuildNotifyReceiver(const std::vector<std::shared_ptr<const Credentials>>& credentials);
  Status StartNotifyListener();

  Daemon() = default;
  Result<std::unique_ptr<Inbox>> OpenInbox();
  // Everything that needs the inbox: the receiver (client, its apps, the dispatcher) and the sinks.
  Status Assemble(std::unique_ptr<Inbox> inbox);
  Status StartAssembled();
  void OpenInboxInBackground();

  DaemonConfig config_;
  Logger logger_;
  std::string instance_id_;
  std::vector<std::shared_ptr<const Credentials>> credentials_;
  // Set once Assemble succeeded (the admin thread reads the parts below only then).
  std::atomic<bool> assembled_{false};
  std::mutex opener_mu_;
  std::condition_variable opener_cv_;
  bool opener_stop_ = false;
  std::string inbox_error_;  // why the inbox is not open yet (guarded by opener_mu_)
  std::thread opener_;
  std::unique_ptr<Receiver> receiver_;  // owns the inbox
  std::unique_ptr<SinkRouter> sinks_;
  std::unique_ptr<AdminServer> admin_;
  // After the receiver: destroyed before its inbox (the server waits for answers pending in the inbox).
  std::unique_ptr<NotifyReceiver> notify_receiver_;
  std::unique_ptr<NotifyServer> notify_server_;
  bool stopped_ = false;
};

}  // namespace alipaymsg::daemon
