// alipaymsg::Receiver against the real alipay-msg-sim: each message reaches its handler once (the
// simulator sends some twice), is acked only once it is in the inbox, and Stop() (from another thread
// or from a handler) and the destructor shut down cleanly.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "alipaymsg/receiver.h"
#include "client/sim_process.h"
#include "testing/postgres_server.h"
#include "testing/test_paths.h"

namespace alipaymsg {
namespace {

using clienttest::SimKeys;
using clienttest::SimProcess;
using clienttest::WaitUntil;
using std::chrono::milliseconds;
constexpr const char* kApp = "2021000000000001";
constexpr const char* kApi = "alipay.open.mini.version.audit.passed";

const SimKeys& Keys() {
  static SimKeys keys = clienttest::Keygen(testing::MakeTempDir("receiver-keys"), kApp);
  return keys;
}

ReceiverOptions OptionsFor(const SimProcess& sim, const std::string& dir, bool cert_mode) {
  ReceiverOptions options;
  ReceiverApp app;
  app.credentials.app_id = kApp;
  app.credentials.app_private_key_path = Keys().app_private_key;
  if (cert_mode) {
    app.credentials.app_cert_path = Keys().app_cert;
    app.credentials.alipay_cert_path = Keys().alipay_cert;
    app.credentials.root_cert_path = Keys().root_cert;
  } else {
    app.credentials.alipay_public_key_path = Keys().alipay_public_key;
  }
  app.connection.server_host = sim.listen();
  app.connection.tls = false;
  options.apps.push_back(std::move(app));
  options.inbox_path = dir + "/state/inbox.db";  // the directory is created
  options.handle_signals = false;                 // a test process keeps its signals
  options.client.ping_interval = milliseconds(200);
  options.client.backoff.initial = milliseconds(50);
  options.client.backoff.min_delay = milliseconds(20);
  options.client.backoff.cap = milliseconds(400);
  return options;
}

std::unique_ptr<SimProcess> StartSim(const std::string& dir, bool cert_mode) {
  return SimProcess::Start(dir, clienttest::SimArgsForApp(Keys(), kApp, cert_mode, nullptr));
}

// Run() on a thread of its own; Finished() waits for it with a deadline.
class RunThread {
 public:
  explicit RunThread(Receiver& receiver) : result_(std::async(std::launch::async, [&] { return receiver.Run(); })) {}
  ~RunThread() {
    if (result_.valid()) result_.wait();
  }
  std::optional<Status> Finished(milliseconds timeout = milliseconds(20000)) {
    if (result_.wait_for(timeout) != std::future_status::ready) return std::nullopt;
    return result_.get();
  }

 private:
  std::future<Status> result_;
};

TEST(ReceiverTest, EachMessageOnceAckedAfterItIsStoredThenStopFromAnotherThread) {
  for (bool cert_mode : {false, true}) {
    SCOPED_TRACE(cert_mode ? "cert mode" : "key mode");
    const std::string dir = testing::MakeTempDir("receiver");
    auto sim = StartSim(dir, cert_mode);
    ASSERT_TRUE(sim);
    auto opened = Receiver::Open(OptionsFor(*sim, dir, cert_mode));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    std::unique_ptr<Receiver> receiver = std::move(*opened);
    std::mutex mu;
    std::map<std::string, int> handled;
    receiver->On(kApi, [&](MessageView& m) {
      std::lock_guard lock(mu);
      ++handled[m.msg_id()];
      return HandlerOutcome::Done();
    });
    RunThread run(*receiver);
    ASSERT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 1; })) << clienttest::ReadFile(sim->log_path());

    constexpr int kCount = 40;
    sim->Fault(R"({"kind":"duplicate","count":10})");  // ten of them arrive twice
    std::vector<std::string> ids = sim->AddMessages(kApp, kApi, R"({"n":1})", kCount);
    ASSERT_EQ(ids.size(), static_cast<size_t>(kCount));
    // The ack follows the commit: whenever the simulator has a message acked, the inbox has it.
    std::set<std::string> acked;
    ASSERT_TRUE(WaitUntil([&] {
      for (const std::string& id : ids) {
        if (acked.count(id)) continue;
        if (sim->Get("/messages/" + id).at("state").as_string() != "acked") continue;
        auto stored = receiver->inbox().Get(kApp, id);
        EXPECT_TRUE(stored.ok() && stored->has_value()) << id << " acked but not in the inbox";
        acked.insert(id);
      }
      return acked.size() == ids.size();
    })) << acked.size() << " of " << kCount << " acked";
    // Every copy is answered SUCCESS; the second copies are absorbed by the inbox.
    ASSERT_TRUE(WaitUntil([&] { return receiver->Connections().at(0).duplicates >= 10; }));
    ASSERT_TRUE(WaitUntil([&] { return sim->Stat("acked.SUCCESS") >= kCount + 10; }));
    EXPECT_EQ(sim->Stat("acked.FAIL"), 0);
    ASSERT_TRUE(WaitUntil([&] { return receiver->Dispatching().done == kCount; }));

    receiver->Stop();
    std::optional<Status> ran = run.Finished();
    ASSERT_TRUE(ran.has_value()) << "Run() did not return after Stop()";
    EXPECT_TRUE(ran->ok()) << ran->ToString();
    // Run() returned: the connection is closed and nothing is running or left in flight.
    EXPECT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 0; }));
    EXPECT_EQ(receiver->Dispatching().running, 0);
    auto stats = receiver->inbox().Stats();
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(stats->done, kCount);
    EXPECT_EQ(stats->in_flight, 0);
    EXPECT_GE(stats->duplicates, 10);
    {
      std::lock_guard lock(mu);
      EXPECT_EQ(handled.size(), static_cast<size_t>(kCount));
      for (const auto& [id, times] : handled) EXPECT_EQ(times, 1) << id;
    }
    const auto connections = receiver->Connections();
    ASSERT_EQ(connections.size(), 1u);
    EXPECT_EQ(connections[0].state, ConnectionState::kStopped);
    EXPECT_EQ(connections[0].acks_fail, 0);
    receiver.reset();  // closes the inbox: another owner can open it and finds everything done
    auto reopened = OpenSqliteInbox(dir + "/state/inbox.db");
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    auto after = (*reopened)->Stats();
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->done, kCount);
    EXPECT_EQ(after->pending + after->in_flight, 0);
  }
}

TEST(ReceiverTest, StopFromAHandlerEndsRunAfterThatHandlerFinished) {
  const std::string dir = testing::MakeTempDir("receiver");
  auto sim = StartSim(dir, false);
  ASSERT_TRUE(sim);
  auto receiver = Receiver::Open(OptionsFor(*sim, dir, false));
  ASSERT_TRUE(receiver.ok()) << receiver.status().ToString();
  Receiver* r = receiver->get();
  std::atomic<int> calls{0};
  r->On("*", [&](MessageView&) {
    ++calls;
    r->Stop();
    return HandlerOutcome::Done();
  });
  RunThread run(*r);
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 1; }));
  const std::string id = sim->AddMessage(kApp, kApi, R"({"stop":true})");
  std::optional<Status> ran = run.Finished();
  ASSERT_TRUE(ran.has_value()) << "Run() did not return after Stop() from a handler";
  EXPECT_TRUE(ran->ok()) << ran->ToString();
  EXPECT_EQ(calls.load(), 1);
  auto stored = r->inbox().Get(kApp, id);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->state, MessageState::kDone);  // its result was recorded before Run() returned
  EXPECT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 0; }));
  EXPECT_EQ(sim->Get("/messages/" + id).at("state").as_string(), "acked");
}

// Without Run(): Start() and the destructor. Messages still arriving when it runs are acked or not
// (then redelivered), never lost: the next receiver on the same inbox finishes every one, once.
TEST(ReceiverTest, DestructorStopsInOrderAndTheNextOneFinishesTheRest) {
  const std::string dir = testing::MakeTempDir("receiver");
  auto sim = StartSim(dir, false);
  ASSERT_TRUE(sim);
  std::mutex mu;
  std::map<std::string, int> handled;
  auto count = [&](MessageView& m) {
    std::lock_guard lock(mu);
    ++handled[m.msg_id()];
    return HandlerOutcome::Done();
  };
  constexpr int kCount = 200;
  std::vector<std::string> ids;
  {
    auto receiver = Receiver::Open(OptionsFor(*sim, dir, false));
    ASSERT_TRUE(receiver.ok()) << receiver.status().ToString();
    (*receiver)->On(kApi, count);
    ASSERT_TRUE((*receiver)->Start().ok());
    ASSERT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 1; }));
    ids = sim->AddMessages(kApp, kApi, R"({"n":2})", kCount);
    ASSERT_TRUE(WaitUntil([&] { return (*receiver)->Dispatching().done > 0; }));
  }  // destroyed while messages are still coming
  EXPECT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 0; }));
  {
    auto receiver = Receiver::Open(OptionsFor(*sim, dir, false));
    ASSERT_TRUE(receiver.ok()) << receiver.status().ToString();
    (*receiver)->On(kApi, count);
    ASSERT_TRUE((*receiver)->Start().ok());
    ASSERT_TRUE(WaitUntil([&] { return sim->Stat("acked_messages") == kCount; }, std::chrono::seconds(30)));
    ASSERT_TRUE(WaitUntil([&] {
      auto stats = (*receiver)->inbox().Stats();
      return stats.ok() && stats->done == kCount;
    }));
  }
  std::lock_guard lock(mu);
  EXPECT_EQ(handled.size(), static_cast<size_t>(kCount));
  for (const auto& [id, times] : handled) EXPECT_EQ(times, 1) << id;
}

// inbox_url: two receivers (two instances) on one PostgreSQL inbox, both connected for the same app,
// the simulator sending some messages twice: every message is handled once across both.
TEST(ReceiverTest, TwoReceiversOnOnePostgresInboxHandleEachMessageOnce) {
  testing::PostgresServer* pg = testing::SharedPostgres();
  ASSERT_TRUE(pg);
  const std::string url = pg->FreshDatabaseUrl("receiver");
  ASSERT_FALSE(url.empty());
  const std::string dir = testing::MakeTempDir("receiver");
  auto sim = StartSim(dir, false);
  ASSERT_TRUE(sim);
  std::mutex mu;
  std::map<std::string, int> handled;
  std::vector<std::unique_ptr<Receiver>> receivers;
  std::vector<std::unique_ptr<RunThread>> runs;
  for (const char* instance : {"a", "b"}) {
    ReceiverOptions options = OptionsFor(*sim, dir, false);
    options.inbox_url = url;
    options.postgres.instance_id = instance;
    auto receiver = Receiver::Open(options);
    ASSERT_TRUE(receiver.ok()) << receiver.status().ToString();
    (*receiver)->On(kApi, [&](MessageView& m) {
      std::lock_guard lock(mu);
      ++handled[m.msg_id()];
      return HandlerOutcome::Done();
    });
    receivers.push_back(std::move(*receiver));
    runs.push_back(std::make_unique<RunThread>(*receivers.back()));
  }
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 2; })) << clienttest::ReadFile(sim->log_path());
  constexpr int kCount = 60;
  sim->Fault(R"({"kind":"duplicate","count":20})");
  const std::vector<std::string> ids = sim->AddMessages(kApp, kApi, R"({"n":3})", kCount);
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("acked_messages") == kCount; }, std::chrono::seconds(30)));
  ASSERT_TRUE(WaitUntil([&] {
    auto stats = receivers[0]->inbox().Stats();
    return stats.ok() && stats->done == kCount && stats->pending + stats->in_flight == 0;
  }, std::chrono::seconds(30)));
  for (auto& receiver : receivers) receiver->Stop();
  for (auto& run : runs) {
    std::optional<Status> ran = run->Finished();
    ASSERT_TRUE(ran.has_value() && ran->ok());
  }
  EXPECT_EQ(sim->Stat("acked.FAIL"), 0);
  std::lock_guard lock(mu);
  EXPECT_EQ(handled.size(), static_cast<size_t>(kCount));
  for (const std::string& id : ids) EXPECT_EQ(handled[id], 1) << id;
}

// handle_signals: SIGTERM ends Run(), and the process's own disposition (here SIG_IGN) is back after.
TEST(ReceiverTest, SigtermEndsRunAndThePreviousDispositionIsPutBack) {
  const std::string dir = testing::MakeTempDir("receiver");
  auto sim = StartSim(dir, false);
  ASSERT_TRUE(sim);
  ReceiverOptions options = OptionsFor(*sim, dir, false);
  options.handle_signals = true;
  auto receiver = Receiver::Open(options);
  ASSERT_TRUE(receiver.ok()) << receiver.status().ToString();
  (*receiver)->On("*", [](MessageView&) { return HandlerOutcome::Done(); });
  struct sigaction ignore = {}, before = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGTERM, &ignore, &before);
  auto disposition = [] {
    struct sigaction now = {};
    sigaction(SIGTERM, nullptr, &now);
    return now.sa_handler;
  };
  RunThread run(**receiver);
  // The signal_set is installed once SIGTERM is no longer ignored.
  ASSERT_TRUE(WaitUntil([&] { return disposition() != SIG_IGN; }));
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 1; }));
  kill(getpid(), SIGTERM);
  std::optional<Status> ran = run.Finished();
  ASSERT_TRUE(ran.has_value()) << "Run() did not return on SIGTERM";
  EXPECT_TRUE(ran->ok()) << ran->ToString();
  EXPECT_EQ((*receiver)->stop_signal(), SIGTERM);
  EXPECT_EQ(disposition(), SIG_IGN);
  EXPECT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 0; }));
  sigaction(SIGTERM, &before, nullptr);
}

TEST(ReceiverTest, OpenNamesEveryAppWhoseKeysAreMissing) {
  const std::string dir = testing::MakeTempDir("receiver");
  ReceiverOptions options;
  for (const char* id : {"2021000000000001", "2021000000000002"}) {
    ReceiverApp app;
    app.credentials.app_id = id;
    app.credentials.app_private_key_path = dir + "/missing-" + id + ".pem";
    app.credentials.alipay_public_key_path = Keys().alipay_public_key;
    options.apps.push_back(std::move(app));
  }
  options.inbox_path = dir + "/inbox.db";
  auto receiver = Receiver::Open(options);
  ASSERT_FALSE(receiver.ok());
  const std::string message = receiver.status().message();
  EXPECT_NE(message.find("app 2021000000000001: "), std::string::npos) << message;
  EXPECT_NE(message.find("missing-2021000000000002.pem"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(dir + "/inbox.db")) << "nothing is opened before the keys load";
  EXPECT_FALSE(Receiver::Open(ReceiverOptions{}).ok());
}

TEST(ReceiverTest, BadPatternFailsRunBeforeAnythingConnects) {
  const std::string dir = testing::MakeTempDir("receiver");
  auto sim = StartSim(dir, false);
  ASSERT_TRUE(sim);
  auto receiver = Receiver::Open(OptionsFor(*sim, dir, false));
  ASSERT_TRUE(receiver.ok()) << receiver.status().ToString();
  (*receiver)->On(kApi, [](MessageView&) { return HandlerOutcome::Done(); })
      .On("alipay.open.*.passed", [](MessageView&) { return HandlerOutcome::Done(); });
  Status ran = (*receiver)->Run();
  EXPECT_EQ(ran.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ran.message().find("alipay.open.*.passed"), std::string::npos) << ran.ToString();
  // Start() failed before the client started: it never registered (a state, not a wait).
  EXPECT_EQ((*receiver)->Connections().at(0).state, ConnectionState::kIdle);
  EXPECT_EQ((*receiver)->Connections().at(0).registers, 0);
}

}  // namespace
}  // namespace alipaymsg
