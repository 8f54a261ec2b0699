// client_crash_worker: a minimal receiving process for the SIGKILL test. Inbox + dispatcher + client;
// its one handler records each message into an `effects` table in the same SQLite transaction that
// marks the message done, so the table shows exactly what was dispatched. SIGTERM: graceful stop.
//
//   client_crash_worker INBOX_DB HOST:PORT APP_ID APP_PRIVATE_KEY ALIPAY_PUBLIC_KEY
#include <signal.h>
#include <sqlite3.h>

#include <cstdio>
#include <memory>

#include "alipaymsg/client.h"
#include "alipaymsg/dispatcher.h"
#include "alipaymsg/router.h"
#include "receiver/wiring.h"

using namespace alipaymsg;

namespace {

Status RecordEffect(InboxTransaction& tx, const std::string& app_id, const std::string& msg_id) {
  auto* db = static_cast<sqlite3*>(tx.native());
  if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS effects(app_id TEXT NOT NULL, msg_id TEXT NOT NULL)",
                   nullptr, nullptr, nullptr) != SQLITE_OK)
    return Internal(std::string("create effects: ") + sqlite3_errmsg(db));
  sqlite3_stmt* insert = nullptr;
  if (sqlite3_prepare_v2(db, "INSERT INTO effects(app_id, msg_id) VALUES(?, ?)", -1, &insert,
                         nullptr) != SQLITE_OK)
    return Internal(std::string("prepare: ") + sqlite3_errmsg(db));
  sqlite3_bind_text(insert, 1, app_id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(insert, 2, msg_id.c_str(), -1, SQLITE_TRANSIENT);
  const int rc = sqlite3_step(insert);
  sqlite3_finalize(insert);
  if (rc != SQLITE_DONE) return Internal(std::string("insert effect: ") + sqlite3_errmsg(db));
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s INBOX_DB HOST:PORT APP_ID APP_PRIVATE_KEY ALIPAY_PUBLIC_KEY\n", argv[0]);
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  CredentialsConfig config;
  config.app_id = argv[3];
  config.app_private_key_path = argv[4];
  config.alipay_public_key_path = argv[5];
  auto credentials = Credentials::Load(config);
  if (!credentials.ok()) {
    std::fprintf(stderr, "credentials: %s\n", credentials.status().ToString().c_str());
    return 1;
  }
  auto inbox = OpenSqliteInbox(argv[1]);
  if (!inbox.ok()) {
    std::fprintf(stderr, "inbox: %s\n", inbox.status().ToString().c_str());
    return 1;
  }
  Router router;
  (void)router.On("*", [](MessageView& m) {
    m.InTransaction([app = m.app_id(), id = m.msg_id()](InboxTransaction& tx) {
      return RecordEffect(tx, app, id);
    });
    return HandlerOutcome::Done();
  });
  DispatcherOptions dispatch_options;
  dispatch_options.threads = 2;
  dispatch_options.initial_backoff = std::chrono::milliseconds(50);
  Dispatcher dispatcher(**inbox, std::move(router), dispatch_options);
  if (Status started = dispatcher.Start(); !started.ok()) {
    std::fprintf(stderr, "dispatcher: %s\n", started.ToString().c_str());
    return 1;
  }
  ClientOptions options;
  options.inbox = inbox->get();
  options.ping_interval = std::chrono::milliseconds(500);
  options.backoff.initial = std::chrono::milliseconds(50);
  options.backoff.cap = std::chrono::milliseconds(500);
  options.backoff.min_delay = std::chrono::milliseconds(20);
  options.logger = [](LogLevel level, std::string_view line) {
    if (level >= LogLevel::kWarn) std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  };
  UseDispatcher(options, dispatcher);
  auto client = Client::Create(std::move(options));
  if (!client.ok()) {
    std::fprintf(stderr, "client: %s\n", client.status().ToString().c_str());
    return 1;
  }
  AppOptions app;
  app.credentials = std::make_shared<const Credentials>(std::move(*credentials));
  app.server_host = argv[2];
  app.tls = false;
  if (Status added = (*client)->AddApp(std::move(app)); !added.ok()) {
    std::fprintf(stderr, "app: %s\n", added.ToString().c_str());
    return 1;
  }
  (*client)->Start();
  int sig = 0;
  sigwait(&signals, &sig);
  (*client)->StopAndWait();
  dispatcher.Stop();
  (*inbox)->Close();
  return 0;
}
