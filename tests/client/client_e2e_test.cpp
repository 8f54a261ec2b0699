// The client against the real alipay-msg-sim process: key and cert mode, plain and TLS; deliver,
// verify, store, ack, dispatch; duplicates, bad signatures, malformed frames, dead links, dropped
// connections, register errors; PRODUCE; many apps on one io_context; after-handle acks.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "alipaymsg/client.h"
#include "alipaymsg/credentials.h"
#include "alipaymsg/dispatcher.h"
#include "alipaymsg/inbox.h"
#include "alipaymsg/router.h"
#include "receiver/wiring.h"
#include "sim_process.h"
#include "testing/test_paths.h"

namespace alipaymsg::clienttest {
namespace {

using std::chrono::milliseconds;
constexpr const char* kApp = "2021000000000001";
constexpr const char* kApi = "alipay.open.mini.version.audit.passed";

const SimKeys& Keys() { return SharedKeys(kApp); }
const TlsKeys& Tls() {
  static TlsKeys keys = TlsKeygen(testing::MakeTempDir("client-e2e-tls"));
  return keys;
}

enum class Mode { kKey, kCert };

std::vector<std::string> SimArgs(Mode mode, bool tls, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = SimArgsForApp(Keys(), kApp, mode == Mode::kCert, tls ? &Tls() : nullptr);
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::shared_ptr<const Credentials> LoadCredentials(Mode mode, const std::string& app_id = kApp,
                                                   const std::string& alipay_public_key = "") {
  const SimKeys& k = Keys();
  CredentialsConfig config;
  config.app_id = app_id;
  config.app_private_key_path = k.app_private_key;
  if (mode == Mode::kCert) {
    config.app_cert_path = k.app_cert;
    config.alipay_cert_path = k.alipay_cert;
    config.root_cert_path = k.root_cert;
  } else {
    config.alipay_public_key_path = alipay_public_key.empty() ? k.alipay_public_key : alipay_public_key;
  }
  auto credentials = Credentials::Load(config);
  EXPECT_TRUE(credentials.ok()) << credentials.status().ToString();
  if (!credentials.ok()) return nullptr;
  return std::make_shared<const Credentials>(std::move(*credentials));
}

ClientOptions FastOptions() {
  ClientOptions o;
  o.ping_interval = milliseconds(200);
  o.pong_timeout = milliseconds(1500);
  o.register_timeout = milliseconds(3000);
  o.connect_timeout = milliseconds(3000);
  o.send_timeout = milliseconds(3000);
  o.backoff.initial = milliseconds(50);
  o.backoff.cap = milliseconds(400);
  o.backoff.min_delay = milliseconds(20);
  o.backoff.stable_after = milliseconds(2000);
  return o;
}

// One client process-in-a-test: a SqliteInbox, a dispatcher with a recording handler, the client.
class Harness {
 public:
  explicit Harness(std::string dir) : dir_(std::move(dir)) {}
  ~Harness() { Shutdown(); }

  // `fail_first`: the handler answers RetryLater the first time it sees each message.
  void Open(ClientOptions options, bool fail_first = false) {
    auto inbox = OpenSqliteInbox(dir_ + "/inbox.db");
    ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
    inbox_ = std::move(*inbox);
    Router router;
    ASSERT_TRUE(router
                    .On("*",
                        [this, fail_first](MessageView& m) {
                          std::lock_guard lock(mu_);
                          if (fail_first && !seen_.count(m.msg_id())) {
                            seen_.insert(m.msg_id());
                            return HandlerOutcome::RetryLater("first attempt fails");
                          }
                          ++handled_[m.msg_id()];
                          bodies_[m.msg_id()] = m.biz_content();
                          apps_[m.msg_id()] = m.app_id();
                          return HandlerOutcome::Done();
                        })
                    .ok());
    DispatcherOptions dispatch_options;
    dispatch_options.threads = 2;
    dispatch_options.initial_backoff = milliseconds(50);
    dispatch_options.max_backoff = milliseconds(200);
    dispatcher_ = std::make_unique<Dispatcher>(*inbox_, std::move(router), dispatch_options);
    ASSERT_TRUE(dispatcher_->Start().ok());
    options.inbox = inbox_.get();
    UseDispatcher(options, *dispatcher_);
    options.logger = [this](LogLevel level, std::string_view line) {
      std::lock_guard lock(mu_);
      log_.push_back(std::to_string(static_cast<int>(level)) + " " + std::string(line));
    };
    auto client = io_ ? Client::Create(*io_, std::move(options)) : Client::Create(std::move(options));
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
  }

  void UseIoContext(boost::asio::io_context& io) { io_ = &io; }

  // Every stored message done and none pending or in flight: no dispatch can still happen.
  bool InboxSettled(int64_t done) {
    auto stats = inbox_->Stats();
    return stats.ok() && stats->done == done && stats->pending == 0 && stats->in_flight == 0;
  }

  void AddApp(std::shared_ptr<const Credentials> credentials, const SimProcess& sim, bool tls) {
    AppOptions app;
    app.credentials = std::move(credentials);
    app.server_host = sim.listen();
    app.tls = tls;
    if (tls) app.ca_file = Tls().ca;
    Status added = client_->AddApp(std::move(app));
    ASSERT_TRUE(added.ok()) << added.ToString();
  }

  void Shutdown() {
    if (client_) client_->StopAndWait();
    client_.reset();
    if (dispatcher_) dispatcher_->Stop();
    dispatcher_.reset();
    if (inbox_) inbox_->Close();
  }

  int Handled(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = handled_.find(id);
    return it == handled_.end() ? 0 : it->second;
  }
  std::string Body(const std::string& id) {
    std::lock_guard lock(mu_);
    return bodies_[id];
  }
  std::string AppOf(const std::string& id) {
    std::lock_guard lock(mu_);
    return apps_[id];
  }
  bool AllHandled(const std::vector<std::string>& ids) {
    std::lock_guard lock(mu_);
    for (const auto& id : ids)
      if (!handled_.count(id)) return false;
    return true;
  }
  // Every id handled exactly once, and nothing else handled.
  void ExpectExactlyOnce(const std::vector<std::string>& ids) {
    std::lock_guard lock(mu_);
    for (const auto& id : ids) EXPECT_EQ(handled_[id], 1) << "msg " << id;
    EXPECT_EQ(handled_.size(), std::set<std::string>(ids.begin(), ids.end()).size());
  }
  std::string Log() {
    std::lock_guard lock(mu_);
    std::string all;
    for (const auto& l : log_) all += l + "\n";
    return all;
  }

  ConnectionStats Stats(const std::string& app_id = kApp) {
    auto stats = client_->Stats(app_id);
    EXPECT_TRUE(stats.has_value());
    return stats.value_or(ConnectionStats{});
  }
  Client& client() { return *client_; }
  Inbox& inbox() { return *inbox_; }

 private:
  std::string dir_;
  boost::asio::io_context* io_ = nullptr;
  std::unique_ptr<Inbox> inbox_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<Client> client_;
  std::mutex mu_;
  std::map<std::string, int> handled_;
  std::map<std::string, std::string> bodies_, apps_;
  std::set<std::string> seen_;
  std::vector<std::string> log_;
};

std::string Content(int i) {
  return R"({"mini_app_id":"2021)" + std::to_string(i) + R"(","note":"中文 {x} \"q\"","amount":12.50})";
}

// ---- The whole pipeline, in each mode and transport -----------------------------------------------

class DeliveryTest : public ::testing::TestWithParam<std::tuple<Mode, bool>> {};

TEST_P(DeliveryTest, DeliversVerifiesStoresAcksAndDispatchesEachMessageOnce) {
  const auto [mode, tls] = GetParam();
  const std::string dir = testing::MakeTempDir("client-e2e");
  auto sim = SimProcess::Start(dir, SimArgs(mode, tls));
  ASSERT_TRUE(sim);
  Harness h(dir);
  h.Open(FastOptions());
  h.AddApp(LoadCredentials(mode), *sim, tls);
  h.client().Start();
  ASSERT_TRUE(WaitUntil([&] { return h.client().AllConnected(); })) << h.Log();

  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(sim->AddMessage(kApp, kApi, Content(i)));
  ASSERT_TRUE(WaitUntil([&] { return h.AllHandled(ids); })) << h.Log();
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("acked_messages") == 20; }));
  h.ExpectExactlyOnce(ids);
  // bizContent exactly as on the wire: the signed data text the sim sent ends with it. (The sim's
  // admin API re-serialises the posted content, e.g. 12.50 becomes 1.25E1, so compare with that.)
  const std::string wire_data(sim->Get("/messages/" + ids[3]).at("data").as_string());
  const std::string body = h.Body(ids[3]);
  EXPECT_NE(body.find("中文 {x} \\\"q\\\""), std::string::npos) << body;
  EXPECT_TRUE(wire_data.size() > body.size() &&
              wire_data.compare(wire_data.size() - body.size() - 1, body.size(), body) == 0 &&
              wire_data.find("\"content\":" + body + "}") != std::string::npos)
      << "handler got " << body << "\nwire data " << wire_data;
  EXPECT_EQ(h.AppOf(ids[3]), kApp);
  for (const auto& id : ids) {
    auto m = sim->Get("/messages/" + id);
    EXPECT_EQ(m.at("state").as_string(), "acked");
    auto stored = h.inbox().Get(kApp, id);
    ASSERT_TRUE(stored.ok() && stored->has_value());
    EXPECT_EQ((*stored)->message.msg_api, kApi);
  }
  EXPECT_EQ(sim->Stat("acked.FAIL"), 0);

  ConnectionStats s = h.Stats();
  EXPECT_EQ(s.state, ConnectionState::kOpen);
  EXPECT_EQ(s.received, 20);
  EXPECT_EQ(s.stored_new, 20);
  EXPECT_EQ(s.acks_success, 20);
  EXPECT_EQ(s.ack_latency.count, 20);
  EXPECT_EQ(s.signature_failures, 0);
  EXPECT_EQ(s.connects, 1);

  // PRODUCE: signed by the app, matched to its PRODUCE_ACK.
  Result<SendResult> sent =
      h.client().Send(kApp, "alipay.open.app.openbizmock.message.send", R"({"shop_id":"1001"})");
  ASSERT_TRUE(sent.ok()) << sent.status().ToString() << "\n" << h.Log();
  EXPECT_TRUE(sent->success) << sent->status << " " << sent->code << " " << sent->error;
  EXPECT_EQ(sim->Stat("produce_received"), 1);
  EXPECT_EQ(sim->Stat("produce_rejected"), 0);

  // Graceful stop: the sim sees the connection go away cleanly.
  h.client().StopAndWait();
  EXPECT_EQ(h.Stats().state, ConnectionState::kStopped);
  EXPECT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 0; }));
}

INSTANTIATE_TEST_SUITE_P(ModesAndTransports, DeliveryTest,
                         ::testing::Combine(::testing::Values(Mode::kKey, Mode::kCert),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == Mode::kKey ? "Key" : "Cert") +
                                  (std::get<1>(info.param) ? "Tls" : "Plain");
                         });

// ---- Faults --------------------------------------------------------------------------------------

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("client-e2e");
    sim_ = SimProcess::Start(dir_, SimArgs(Mode::kKey, false));
    ASSERT_TRUE(sim_);
  }
  void StartClient(ClientOptions options = FastOptions(), bool fail_first = false) {
    h_ = std::make_unique<Harness>(dir_);
    h_->Open(std::move(options), fail_first);
    h_->AddApp(LoadCredentials(Mode::kKey), *sim_, false);
    h_->client().Start();
    ASSERT_TRUE(WaitUntil([&] { return h_->client().AllConnected(); })) << h_->Log();
    // The simulator registers a connection just after its upgrade response: a fault posted before
    // that would reach no connection.
    ASSERT_TRUE(WaitUntil([&] { return sim_->Stat("connections") == 1; })) << h_->Log();
  }
  void TearDown() override {
    h_.reset();
    sim_.reset();
  }
  std::string dir_;
  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<Harness> h_;
};

TEST_F(FaultTest, DuplicatesAreAckedButDispatchedOnce) {
  StartClient();
  sim_->Fault(R"({"kind":"duplicate","count":5})");
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(sim_->AddMessage(kApp, kApi, Content(i)));
  ASSERT_TRUE(WaitUntil([&] { return h_->AllHandled(ids) && h_->Stats().duplicates >= 5; }))
      << h_->Log();
  ASSERT_TRUE(WaitUntil([&] { return sim_->Stat("acked_messages") == 8 && sim_->Stat("pending") == 0; }));
  // Nothing left to deliver, claim or retry: a double dispatch would have to come from here.
  ASSERT_TRUE(WaitUntil([&] { return h_->InboxSettled(8); })) << h_->Log();
  h_->ExpectExactlyOnce(ids);
  EXPECT_EQ(h_->Stats().stored_new, 8);
  EXPECT_EQ(sim_->Stat("acked.FAIL"), 0);
}

TEST_F(FaultTest, BadSignatureIsAnsweredFailAuditedAndNeverDispatched) {
  StartClient();
  sim_->Fault(R"({"kind":"bad_signature","count":1})");
  const std::string id = sim_->AddMessage(kApp, kApi, Content(1));
  // The badly signed delivery is answered FAIL; the sim redelivers it correctly signed.
  auto first_ack_fail = [&] {
    auto m = sim_->Get("/messages/" + id);
    const auto& acks = m.at("acks").as_array();
    return !acks.empty() && acks[0].at("status").as_string() == "FAIL";
  };
  ASSERT_TRUE(WaitUntil(first_ack_fail)) << boost::json::serialize(sim_->Get("/messages/" + id));
  EXPECT_EQ(h_->Stats().signature_failures, 1);
  auto inbox_stats = h_->inbox().Stats();
  ASSERT_TRUE(inbox_stats.ok());
  EXPECT_EQ(inbox_stats->rejected, 1);
  // The bad delivery never reached a handler; the good redelivery does, once.
  ASSERT_TRUE(WaitUntil([&] { return h_->Handled(id) == 1; })) << h_->Log();
  auto m = sim_->Get("/messages/" + id);
  EXPECT_EQ(m.at("deliveries").as_array().size(), 2u);
  EXPECT_TRUE(m.at("deliveries").as_array()[0].at("bad_signature").as_bool());
  ASSERT_TRUE(WaitUntil([&] { return sim_->Stat("pending") == 0 && h_->InboxSettled(1); })) << h_->Log();
  EXPECT_EQ(h_->Handled(id), 1);
  EXPECT_EQ(h_->Stats().acks_fail, 1);
}

TEST_F(FaultTest, MalformedFramesAreCountedAndTheConnectionSurvives) {
  StartClient();
  for (const char* variant : {"bad_json", "no_separator", "numeric_timestamp", "no_type"})
    sim_->Fault(std::string(R"({"kind":"malformed_frame","variant":")") + variant + "\"}");
  ASSERT_TRUE(WaitUntil([&] { return h_->Stats().malformed_frames >= 4; })) << h_->Log();
  const std::string id = sim_->AddMessage(kApp, kApi, Content(1));
  ASSERT_TRUE(WaitUntil([&] { return h_->Handled(id) == 1; })) << h_->Log();
  ConnectionStats s = h_->Stats();
  EXPECT_EQ(s.connects, 1);  // never reconnected
  EXPECT_EQ(s.state, ConnectionState::kOpen);
  EXPECT_EQ(s.acks_success + s.acks_fail, 1);  // malformed frames got no ack
}

TEST_F(FaultTest, DeadLinkIsDetectedAndReplacedWithoutLosingMessages) {
  StartClient();
  std::vector<std::string> ids = sim_->AddMessages(kApp, kApi, Content(0), 50);
  sim_->Fault(R"({"kind":"stop_pong"})");
  ASSERT_TRUE(WaitUntil([&] { return h_->Stats().dead_links >= 1; })) << h_->Log();
  EXPECT_NE(h_->Stats().last_error.find("no pong"), std::string::npos) << h_->Stats().last_error;
  for (auto& id : sim_->AddMessages(kApp, kApi, Content(1), 50)) ids.push_back(id);
  sim_->Fault(R"({"kind":"resume_pong"})");
  ASSERT_TRUE(WaitUntil([&] { return h_->AllHandled(ids) && h_->client().AllConnected(); }))
      << h_->Log();
  ASSERT_TRUE(WaitUntil([&] { return sim_->Stat("pending") == 0; }));
  h_->ExpectExactlyOnce(ids);
  EXPECT_GE(h_->Stats().reconnects, 1);
}

TEST_F(FaultTest, DroppedConnectionsRecoverByThemselvesNothingLostOrDoubled) {
  StartClient();
  std::vector<std::string> ids;
  for (int round = 0; round < 5; ++round) {
    const int64_t stored_before = h_->Stats().stored_new;
    for (auto& id : sim_->AddMessages(kApp, kApi, Content(round), 200)) ids.push_back(id);
    // Drop mid-stream: once this round's messages have started to arrive.
    ASSERT_TRUE(WaitUntil([&] { return h_->Stats().stored_new > stored_before; })) << h_->Log();
    const int64_t connects = h_->Stats().connects;
    sim_->Fault(R"({"kind":"drop_connections"})");
    // A new session opened by itself (not just "still connected" before the drop was noticed).
    ASSERT_TRUE(WaitUntil([&] { return h_->Stats().connects > connects && h_->client().AllConnected(); }))
        << h_->Log();
  }
  ASSERT_EQ(ids.size(), 1000u);
  ASSERT_TRUE(WaitUntil([&] { return h_->AllHandled(ids); }, std::chrono::seconds(30))) << h_->Log();
  ASSERT_TRUE(WaitUntil([&] { return sim_->Stat("pending") == 0; }, std::chrono::seconds(30)));
  h_->ExpectExactlyOnce(ids);
  ConnectionStats s = h_->Stats();
  EXPECT_GE(s.reconnects, 5);
  EXPECT_EQ(s.stored_new, 1000);
}

TEST_F(FaultTest, BackpressureBoundsInFlightMessagesAndLosesNone) {
  ClientOptions options = FastOptions();
  options.max_in_flight = 2;  // reading pauses whenever two CONSUMEs await their commit
  StartClient(options);
  std::vector<std::string> ids = sim_->AddMessages(kApp, kApi, Content(0), 300);
  int max_seen = 0;
  ASSERT_TRUE(WaitUntil([&] {
    max_seen = std::max(max_seen, h_->Stats().in_flight);
    return h_->AllHandled(ids);
  })) << h_->Log();
  EXPECT_LE(max_seen, 2);
  ASSERT_TRUE(WaitUntil([&] { return sim_->Stat("pending") == 0; }));
  h_->ExpectExactlyOnce(ids);
  EXPECT_EQ(h_->Stats().connects, 1);  // pausing the reads did not cost the link (pongs)
}

TEST_F(FaultTest, RegisterErrorsAreRetriedWithBackoffAndDiagnosed) {
  StartClient();
  sim_->Fault(R"({"kind":"register_error","count":3,"code":"40004","sub_code":"isv.invalid-app","sub_msg":"no such app"})");
  sim_->Fault(R"({"kind":"drop_connections"})");
  const std::string id = sim_->AddMessage(kApp, kApi, Content(7));
  ASSERT_TRUE(WaitUntil([&] { return h_->Stats().register_failures >= 3; })) << h_->Log();
  ConnectionStats failing = h_->Stats();
  EXPECT_NE(failing.last_error.find("40004"), std::string::npos) << failing.last_error;
  ASSERT_TRUE(WaitUntil([&] { return h_->client().AllConnected() && h_->Handled(id) == 1; }))
      << h_->Log();
  EXPECT_EQ(h_->Stats().register_failures, 3);
  EXPECT_EQ(sim_->Stat("register_errors"), 3);
}

TEST_F(FaultTest, AfterHandleAcksFailUntilTheHandlerSucceeds) {
  ClientOptions options = FastOptions();
  options.ack_mode = AckMode::kAfterHandle;
  StartClient(options, /*fail_first=*/true);
  const std::string id = sim_->AddMessage(kApp, kApi, Content(2));
  ASSERT_TRUE(WaitUntil([&] { return sim_->Get("/messages/" + id).at("state").as_string() == "acked"; }))
      << h_->Log();
  auto acks = sim_->Get("/messages/" + id).at("acks").as_array();
  ASSERT_GE(acks.size(), 2u);
  EXPECT_EQ(acks[0].at("status").as_string(), "FAIL");
  EXPECT_EQ(acks.back().at("status").as_string(), "SUCCESS");
  EXPECT_EQ(h_->Handled(id), 1);
}

TEST_F(FaultTest, SendFailsAsAValueWhenNotConnectedAndForUnknownApps) {
  StartClient();
  auto unknown = h_->client().Send("2021999", "x.y", "{}");
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  auto bad_json = h_->client().Send(kApp, "x.y", "not json");
  EXPECT_FALSE(bad_json.ok());
  h_->client().StopAndWait();
  auto stopped = h_->client().Send(kApp, "x.y", "{}");
  EXPECT_EQ(stopped.status().code(), StatusCode::kUnavailable);
}

// ---- Diagnosis of configuration mistakes ---------------------------------------------------------

TEST(DiagnosisTest, SwappedAlipayKeyIsReportedNotLooped) {
  const std::string dir = testing::MakeTempDir("client-e2e");
  auto sim = SimProcess::Start(dir, SimArgs(Mode::kKey, false));
  ASSERT_TRUE(sim);
  Harness h(dir);
  h.Open(FastOptions());
  // The app's own public key where the Alipay public key belongs: register.do cannot verify.
  CredentialsConfig config;
  config.app_id = kApp;
  config.app_private_key_path = Keys().app_private_key;
  config.alipay_public_key_path = Keys().app_public_key;
  auto loaded = Credentials::Load(config);
  if (!loaded.ok()) {
    // Credentials::Load already refuses the swap, naming it: that is the diagnosis.
    EXPECT_NE(loaded.status().message().find("public"), std::string::npos) << loaded.status().ToString();
    return;
  }
  h.AddApp(std::make_shared<const Credentials>(std::move(*loaded)), *sim, false);
  h.client().Start();
  ASSERT_TRUE(WaitUntil([&] { return h.Stats().register_failures >= 2; })) << h.Log();
  ConnectionStats s = h.Stats();
  EXPECT_FALSE(s.connected);
  EXPECT_NE(s.last_error.find("register.do"), std::string::npos) << s.last_error;
  EXPECT_LT(s.registers, 20);  // backoff, not a tight loop
}

TEST(DiagnosisTest, UntrustedTlsCertificateIsNamed) {
  const std::string dir = testing::MakeTempDir("client-e2e");
  auto sim = SimProcess::Start(dir, SimArgs(Mode::kKey, true));
  ASSERT_TRUE(sim);
  Harness h(dir);
  h.Open(FastOptions());
  AppOptions app;
  app.credentials = LoadCredentials(Mode::kKey);
  app.server_host = sim->listen();
  app.tls = true;  // no ca_file: the sim's throwaway CA is not trusted
  ASSERT_TRUE(h.client().AddApp(std::move(app)).ok());
  h.client().Start();
  ASSERT_TRUE(WaitUntil([&] { return h.Stats().register_failures >= 1; })) << h.Log();
  EXPECT_NE(h.Stats().last_error.find("certificate"), std::string::npos) << h.Stats().last_error;
  EXPECT_FALSE(h.Stats().connected);
}

TEST(DiagnosisTest, BadAppOptionsAreRefusedUpFront) {
  const std::string dir = testing::MakeTempDir("client-e2e");
  auto inbox = OpenSqliteInbox(dir + "/inbox.db");
  ASSERT_TRUE(inbox.ok());
  EXPECT_EQ(Client::Create(ClientOptions{}).status().code(), StatusCode::kInvalidArgument);
  ClientOptions after_handle;
  after_handle.inbox = inbox->get();
  after_handle.ack_mode = AckMode::kAfterHandle;
  EXPECT_FALSE(Client::Create(after_handle).ok());
  ClientOptions options;
  options.inbox = inbox->get();
  auto client = Client::Create(options);
  ASSERT_TRUE(client.ok());
  AppOptions app;
  EXPECT_FALSE((*client)->AddApp(app).ok());  // no credentials
  app.credentials = LoadCredentials(Mode::kKey);
  app.server_host = "wss://openchannel.alipay.com";
  EXPECT_NE((*client)->AddApp(app).message().find("scheme"), std::string::npos);
  app.server_host = "127.0.0.1:1";
  app.ca_file = dir + "/missing-ca.pem";
  EXPECT_NE((*client)->AddApp(app).message().find("missing-ca.pem"), std::string::npos);
  app.ca_file.clear();
  EXPECT_TRUE((*client)->AddApp(app).ok());
  EXPECT_FALSE((*client)->AddApp(app).ok());  // the same app twice
  (*client)->StopAndWait();
  (*inbox)->Close();
}

// ---- Many apps on the caller's io_context ------------------------------------------------------

TEST(ManyAppsTest, SeveralAppIdsShareOneIoContext) {
  const std::string dir = testing::MakeTempDir("client-e2e");
  const std::vector<std::string> apps = {kApp, "2021000000000002", "2021000000000003"};
  std::vector<std::string> args = SimArgs(Mode::kKey, false);
  for (size_t i = 1; i < apps.size(); ++i) args.insert(args.end(), {"--app", apps[i] + "=" + Keys().app_public_key});
  auto sim = SimProcess::Start(dir, args);
  ASSERT_TRUE(sim);

  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  {
    Harness h(dir);
    h.UseIoContext(io);
    h.Open(FastOptions());
    for (const auto& app : apps) h.AddApp(LoadCredentials(Mode::kKey, app), *sim, false);
    h.client().Start();
    ASSERT_TRUE(WaitUntil([&] { return h.client().AllConnected(); })) << h.Log();
    std::map<std::string, std::string> owner;
    std::vector<std::string> ids;
    for (int i = 0; i < 30; ++i) {
      const std::string& app = apps[i % apps.size()];
      const std::string id = sim->AddMessage(app, kApi, Content(i));
      owner[id] = app;
      ids.push_back(id);
    }
    ASSERT_TRUE(WaitUntil([&] { return h.AllHandled(ids); })) << h.Log();
    h.ExpectExactlyOnce(ids);
    for (const auto& [id, app] : owner) EXPECT_EQ(h.AppOf(id), app);
    EXPECT_EQ(h.client().Stats().size(), 3u);
    for (const auto& s : h.client().Stats()) EXPECT_EQ(s.received, 10) << s.app_id;
    h.Shutdown();
  }
  guard.reset();
  runner.join();
}

}  // namespace
}  // namespace alipaymsg::clienttest
