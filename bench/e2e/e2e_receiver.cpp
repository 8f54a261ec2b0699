// bench_receiver: the daemon's pipeline assembled from the library, for benchmarks run before (or
// beside) alipay-msgd: Client (verify → SQLite inbox group commit → CONSUME_ACK after-store) →
// Dispatcher → jsonl sink (the daemon's JsonlSink, exactly-once with the inbox transaction).
//
//   bench_receiver --server 127.0.0.1:PORT --alipay-public-key alipay_public_key.pem
//       --app-private-key app_private_key.pem --app 2021000000000001 [--app ...] [--apps-file FILE]
//       --inbox var/inbox.db --jsonl var/messages.jsonl --status-file var/status.json
//   (one command line)
//
// It writes its counters as one JSON object to --status-file (atomically, every
// --status-interval-ms) so bench/run can watch readiness and progress without an admin server.
// SIGTERM / SIGINT: graceful stop (drain, dispatch what is stored), final status, exit 0.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "alipaymsg/client.h"
#include "alipaymsg/credentials.h"
#include "alipaymsg/crypto.h"
#include "alipaymsg/dispatcher.h"
#include "alipaymsg/inbox.h"
#include "alipaymsg/router.h"
#include "daemon/sinks.h"

namespace am = alipaymsg;

namespace {

struct Args {
  std::string server;
  std::string alipay_public_key;
  std::string app_private_key;
  std::vector<std::string> apps;
  std::string inbox;
  std::string jsonl;
  std::string status_file;
  int status_interval_ms = 100;
  int dispatch_threads = 2;
  bool fsync = true;
  bool dispatch = true;
  int verify_threads = am::ClientOptions::kAutoVerifyThreads;
  int complete_linger_ms = am::SqliteInboxOptions{}.complete_linger_ms;
  bool claim_on_store = am::DispatcherOptions{}.claim_on_store;
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void Usage(const std::string& why) {
  std::cerr << "bench_receiver: " << why << "\n"
            << "usage: bench_receiver --server HOST:PORT --alipay-public-key FILE --app-private-key FILE\n"
               "         (--app APP_ID ... | --apps-file FILE) --inbox PATH --jsonl PATH --status-file PATH\n"
               "         [--status-interval-ms N] [--dispatch-threads N] [--no-fsync] [--no-dispatch]\n"
               "         [--verify-threads N] [--complete-linger-ms N] [--no-claim-on-store]\n";
  std::exit(2);
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Usage(k + " needs a value");
      return argv[++i];
    };
    if (k == "--server") a.server = next();
    else if (k == "--alipay-public-key") a.alipay_public_key = next();
    else if (k == "--app-private-key") a.app_private_key = next();
    else if (k == "--app") a.apps.push_back(next());
    else if (k == "--apps-file") {
      std::ifstream in(next());
      for (std::string line; std::getline(in, line);) if (!line.empty()) a.apps.push_back(line);
    } else if (k == "--inbox") a.inbox = next();
    else if (k == "--jsonl") a.jsonl = next();
    else if (k == "--status-file") a.status_file = next();
    else if (k == "--status-interval-ms") a.status_interval_ms = std::stoi(next());
    else if (k == "--dispatch-threads") a.dispatch_threads = std::stoi(next());
    else if (k == "--no-fsync") a.fsync = false;
    else if (k == "--no-dispatch") a.dispatch = false;  // attribution: the ack path alone
    else if (k == "--verify-threads") a.verify_threads = std::stoi(next());  // 0: verify on the io thread
    else if (k == "--complete-linger-ms") a.complete_linger_ms = std::stoi(next());
    else if (k == "--no-claim-on-store") a.claim_on_store = false;  // A/B: the dispatcher claims every message itself
    else Usage("unknown argument " + k);
  }
  if (a.server.empty() || a.alipay_public_key.empty() || a.app_private_key.empty() || a.apps.empty() ||
      a.inbox.empty() || a.jsonl.empty() || a.status_file.empty()) {
    Usage("missing a required argument");
  }
  return a;
}

std::string StatusJson(const std::vector<am::ConnectionStats>& stats, const am::Dispatcher& dispatcher,
                       int64_t started_ms, int64_t ready_ms, bool stopping) {
  int64_t connected = 0, received = 0, stored_new = 0, duplicates = 0, sig_fail = 0, malformed = 0,
          store_errors = 0, acks_success = 0, acks_fail = 0, acks_unsent = 0, reconnects = 0, in_flight = 0;
  am::LatencyHistogram hist;
  for (const auto& s : stats) {
    connected += s.connected ? 1 : 0;
    received += s.received;
    stored_new += s.stored_new;
    duplicates += s.duplicates;
    sig_fail += s.signature_failures;
    malformed += s.malformed_frames;
    store_errors += s.store_errors;
    acks_success += s.acks_success;
    acks_fail += s.acks_fail;
    acks_unsent += s.acks_unsent;
    reconnects += s.reconnects;
    in_flight += s.in_flight;
    for (size_t i = 0; i < hist.counts.size(); ++i) hist.counts[i] += s.ack_latency.counts[i];
    hist.count += s.ack_latency.count;
    hist.sum_us += s.ack_latency.sum_us;
  }
  am::DispatcherStats d = dispatcher.Stats();
  std::string out = "{";
  auto field = [&](const char* name, int64_t v) { out += "\"" + std::string(name) + "\":" + std::to_string(v) + ","; };
  field("pid", getpid());
  field("now_ms", NowMs());
  field("started_ms", started_ms);
  field("ready_ms", ready_ms);
  field("connected", connected);
  field("received", received);
  field("stored_new", stored_new);
  field("duplicates", duplicates);
  field("signature_failures", sig_fail);
  field("malformed", malformed);
  field("store_errors", store_errors);
  field("acks_success", acks_success);
  field("acks_fail", acks_fail);
  field("acks_unsent", acks_unsent);
  field("reconnects", reconnects);
  field("in_flight", in_flight);
  field("dispatched_done", d.done);
  field("dispatch_retried", d.retried);
  field("dispatch_dead", d.dead);
  field("stopping", stopping ? 1 : 0);
  out += "\"ack_latency\":{\"bounds_us\":[";
  for (size_t i = 0; i < hist.kBoundsUs.size(); ++i) {
    out += (i ? "," : "") + (hist.kBoundsUs[i] == INT64_MAX ? std::string("null") : std::to_string(hist.kBoundsUs[i]));
  }
  out += "],\"counts\":[";
  for (size_t i = 0; i < hist.counts.size(); ++i) out += (i ? "," : "") + std::to_string(hist.counts[i]);
  out += "],\"count\":" + std::to_string(hist.count) + ",\"sum_us\":" + std::to_string(hist.sum_us) + "},";
  field("apps", static_cast<int64_t>(stats.size()));
  out.back() = '}';
  return out;
}

void WriteAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << text << "\n";
  }
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t started_ms = NowMs();
  Args args = Parse(argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto private_key = am::PrivateKey::FromFile(args.app_private_key);
  if (!private_key.ok()) Usage(private_key.status().ToString());
  auto public_key = am::PublicKey::FromFile(args.alipay_public_key);
  if (!public_key.ok()) Usage(public_key.status().ToString());

  am::SqliteInboxOptions inbox_options;
  inbox_options.synchronous_full = args.fsync;
  inbox_options.complete_linger_ms = args.complete_linger_ms;
  auto inbox = am::OpenSqliteInbox(args.inbox, inbox_options);
  if (!inbox.ok()) Usage("inbox: " + inbox.status().ToString());

  auto sink = std::make_shared<am::daemon::JsonlSink>(args.jsonl);
  if (auto recovered = sink->Recover(args.inbox); !recovered.ok()) Usage("jsonl: " + recovered.ToString());
  am::Router router;
  (void)router.On("*", [sink](am::MessageView& m) { return sink->Deliver(m); });
  am::DispatcherOptions dispatcher_options;
  dispatcher_options.threads = args.dispatch_threads;
  dispatcher_options.prefetch = 256;
  dispatcher_options.claim_on_store = args.claim_on_store;
  am::Dispatcher dispatcher(**inbox, std::move(router), dispatcher_options);
  if (args.dispatch) {
    if (auto started = dispatcher.Start(); !started.ok()) Usage("dispatcher: " + started.ToString());
  }

  am::ClientOptions client_options;
  client_options.inbox = inbox->get();
  client_options.verify_threads = args.verify_threads;
  if (args.dispatch) {
    client_options.on_new_messages = [&dispatcher] {
      if (!dispatcher.ClaimsOnStore()) dispatcher.Notify();
    };
  }
  auto client = am::Client::Create(std::move(client_options));
  if (!client.ok()) Usage("client: " + client.status().ToString());
  for (const auto& app_id : args.apps) {
    am::AppOptions app;
    app.credentials = std::make_shared<const am::Credentials>(
        am::Credentials::FromKeys(app_id, am::SignType::kRsa2, *private_key, *public_key));
    app.server_host = args.server;
    app.tls = false;
    if (auto added = (*client)->AddApp(std::move(app)); !added.ok()) Usage("app " + app_id + ": " + added.ToString());
  }
  (*client)->Start();

  // Status writer: until a signal arrives.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> ready_ms{0};
  // Readiness is polled finely (2 ms) for a few apps; for many, snapshotting every connection that
  // often would itself load the machine, so every 20 ms.
  const int ready_poll_ms = args.apps.size() <= 16 ? 2 : 20;
  std::thread reporter([&] {
    while (!stop.load()) {
      auto stats = (*client)->Stats();
      if (ready_ms.load() == 0 &&
          std::all_of(stats.begin(), stats.end(), [](const am::ConnectionStats& s) { return s.connected; })) {
        ready_ms = NowMs();
      }
      WriteAtomically(args.status_file, StatusJson(stats, dispatcher, started_ms, ready_ms.load(), false));
      int sleep_ms = ready_ms.load() == 0 ? ready_poll_ms : args.status_interval_ms;
      std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    }
  });

  int sig = 0;
  sigwait(&signals, &sig);
  stop = true;
  reporter.join();
  (*client)->StopAndWait();
  if (args.dispatch) dispatcher.WaitIdle(std::chrono::seconds(30));
  std::string final_status = StatusJson((*client)->Stats(), dispatcher, started_ms, ready_ms.load(), true);
  dispatcher.Stop();
  (*inbox)->Close();
  WriteAtomically(args.status_file, final_status);
  return 0;
}
