// The receiver: everything a program needs to take Alipay messages, on one object. It owns the
// credentials, the inbox, the router, the dispatcher and the client, and shuts them down in the
// order that loses nothing (connections first: in-flight messages are stored and acked; then the
// handlers finish; the inbox closes last).
//
//   auto receiver = alipaymsg::Receiver::Open(alipaymsg::ReceiverOptions::FromEnvironment());
//   if (!receiver.ok()) { /* receiver.status() names the cause */ }
//   (*receiver)->On("alipay.open.mini.version.audit.passed", [](alipaymsg::MessageView& m) {
//     ... m.biz_content() ...
//     return alipaymsg::HandlerOutcome::Done();
//   });
//   (*receiver)->Run();   // until SIGINT/SIGTERM or Stop()
//
// A message is acked only after it is durably in the inbox, its signature was verified (a forged
// one is never handed to a handler), and a redelivered message runs its handler once.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alipaymsg/client.h"
#include "alipaymsg/credentials.h"
#include "alipaymsg/dispatcher.h"
#include "alipaymsg/inbox.h"
#include "alipaymsg/router.h"
#include "alipaymsg/status.h"

namespace alipaymsg {

// One app: where its keys are (key mode: the Alipay public key; cert mode: the three certificates,
// see CredentialsConfig) and how to reach the open channel.
struct ReceiverApp {
  CredentialsConfig credentials;
  // Server, TLS. `connection.credentials`, when set, is used instead of loading `credentials`.
  AppOptions connection;
  // Names the app in errors ("" : "app <app_id>"), e.g. the config block it came from.
  std::string label;
};

struct ReceiverOptions {
  std::vector<ReceiverApp> apps;  // one or many, each with its own app_id

  // The inbox: a SQLite file (created with its directory if needed), or, when inbox_url is set, a
  // PostgreSQL database ("postgresql://user@host/db") shared by several receivers.
  std::string inbox_path = "alipay-msg.db";
  std::string inbox_url;
  SqliteInboxOptions sqlite;
  PostgresInboxOptions postgres;

  // after-store (default): SUCCESS once stored. after-handle: SUCCESS only once a handler succeeded.
  AckMode ack_mode = AckMode::kAfterStore;
  Logger logger;  // none: silent (the library never prints)

  // Run() returns on SIGINT or SIGTERM. It installs handlers for them (an asio signal_set) only while
  // it waits, and puts back what the process had before (its own handler, SIG_IGN, SIG_DFL) before
  // it drains; false leaves the process's signals alone (the application calls Stop()).
  bool handle_signals = true;

  // Tuning. The Receiver sets client.inbox, ack_mode, handle_now, on_new_messages (and logger, when
  // `logger` is given); the rest is used as given.
  DispatcherOptions dispatch;
  ClientOptions client;
  // Called during the shutdown after the connections closed and before the running handlers are
  // waited for (e.g. tell slow handlers to give up: what they leave undone runs at the next start).
  std::function<void()> before_dispatch_stop;

  // One app from the environment, with the names alipay-msgd reads: ALIPAY_APP_ID, ALIPAY_SIGN_TYPE,
  // ALIPAY_CHARSET, ALIPAY_APP_PRIVATE_KEY_PATH, and ALIPAY_ALIPAY_PUBLIC_KEY_PATH (key mode) or
  // ALIPAY_APP_CERT_PUBLIC_KEY_PATH + ALIPAY_ALIPAY_CERT_PUBLIC_KEY_PATH +
  // ALIPAY_ALIPAY_ROOT_CERT_PATH (cert mode); ALIPAY_SERVER_HOST, ALIPAY_SSL (false: plain ws, for a
  // local simulator), ALIPAY_CA_FILE; ALIPAY_INBOX_PATH or ALIPAY_INBOX_URL; ALIPAY_ACK
  // (after-store, after-handle). Unset variables keep the defaults; Open() names what is missing.
  static ReceiverOptions FromEnvironment();
  // Set by FromEnvironment for a variable it cannot use (e.g. ALIPAY_ACK=sometimes); Open() reports it.
  std::string error;
};

class Receiver {
 public:
  // Loads every app's credentials (all problems reported together), opens the inbox, prepares the
  // connections. Nothing connects until Start() or Run().
  static Result<std::unique_ptr<Receiver>> Open(ReceiverOptions options);
  // The same on an inbox the caller opened (e.g. after waiting for its database); options.inbox_* unused.
  static Result<std::unique_ptr<Receiver>> Open(ReceiverOptions options, std::unique_ptr<Inbox> inbox);

  // Shutdown().
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Registers `handler` for a msgApi pattern (exact, "prefix.*" or "*": see Router::On), before
  // Start()/Run(). A message no pattern matches stays in the inbox as unhandled (replayable). A
  // malformed or repeated pattern, or On() after the start, makes Start()/Run() fail naming it.
  Receiver& On(std::string_view pattern, Handler handler);
  // Every handler of `router` at once (before Start()/Run() only; replaces those given so far).
  Status SetRouter(Router router);

  // Starts dispatching (including what a previous run left pending) and connecting; returns at once.
  Status Start();
  // Start() if needed, then blocks until Stop() or (handle_signals) SIGINT/SIGTERM; then closes the
  // connections (in-flight messages are stored and acked) and lets running handlers finish. No
  // handler runs after it returns. Messages not finished stay in the inbox for the next start.
  Status Run();
  // Makes Run() return (or keeps it from blocking, if it has not started yet). Non-blocking; from any
  // thread, including a handler and a signal-handling thread of the application.
  void Stop();
  // The whole shutdown, in order: connections, before_dispatch_stop, handlers, inbox. Blocking and
  // idempotent; not from a handler (use Stop()).
  void Shutdown();

  // Something new may be in the inbox (stored by another channel, e.g. a NotifyReceiver, or replayed):
  // dispatch it now rather than at the next poll. Cheap; from any thread.
  void DispatchPending();

  Inbox& inbox();
  // PRODUCE (Send/AsyncSend), per-connection diagnostics.
  Client& client();
  std::vector<ConnectionStats> Connections() const;
  DispatcherStats Dispatching() const;
  // The signal that ended Run() (SIGINT/SIGTERM), 0 if none did.
  int stop_signal() const;

 private:
  Receiver();
  Status AddApps(std::vector<ReceiverApp> apps);
  void Drain();

  struct Impl;  // the parts, their lock and the run state (receiver_impl.h)
  std::unique_ptr<Impl> impl_;
};

}  // namespace alipaymsg
