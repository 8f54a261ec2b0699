// Callbacks the client hands to threads it does not own (the inbox's writer, a dispatcher worker)
// may be called and dropped after the Client is destroyed. Dropping them then must not destroy a
// session or a link: their timers and sockets would outlive their io_context (AddressSanitizer
// reports the use after free; CI runs this suite under it).
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "alipaymsg/client.h"
#include "alipaymsg/credentials.h"
#include "alipaymsg/inbox.h"
#include "sim_process.h"
#include "testing/test_paths.h"
#include "testing/wait.h"

namespace alipaymsg::clienttest {
namespace {

using std::chrono::milliseconds;
constexpr const char* kApp = "2021000000000001";
constexpr const char* kApi = "alipay.open.mini.version.audit.passed";

Status NotHere() { return Status(StatusCode::kUnavailable, "not in this test"); }

// An inbox whose commits never finish while the test holds them: like a disk that hangs until the
// Client is gone. Only StoreAsync is used by the client here.
class HeldCommitInbox final : public Inbox {
 public:
  void StoreAsync(std::vector<InboundMessage>, StoreCallback done) override {
    std::lock_guard lock(mu_);
    held_.push_back(std::move(done));
    cv_.notify_all();
  }
  bool WaitForOne() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [this] { return !held_.empty(); });
  }
  std::vector<StoreCallback> TakeHeld() {
    std::lock_guard lock(mu_);
    return std::move(held_);
  }

  Result<std::vector<StoreOutcome>> Store(std::vector<InboundMessage>) override { return NotHere(); }
  Status RecordRejected(const RejectedMessage&) override { return NotHere(); }
  Result<std::vector<StoredMessage>> Claim(int, int64_t) override { return NotHere(); }
  Status Complete(const std::string&, const std::string&, const DispatchResult&, int64_t,
                  const std::function<Status(InboxTransaction&)>&) override {
    return NotHere();
  }
  Result<int> Replay(std::optional<std::string>, std::optional<std::string>, int64_t) override {
    return NotHere();
  }
  Result<std::optional<StoredMessage>> Get(const std::string&, const std::string&) override { return NotHere(); }
  Result<std::vector<StoredMessage>> List(std::optional<MessageState>, int) override { return NotHere(); }
  Result<InboxStats> Stats() override { return NotHere(); }
  void Close() override {}

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StoreCallback> held_;
};

class ClientLifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("client-lifetime");
    sim_ = SimProcess::Start(dir_, SimArgsForApp(SharedKeys(kApp), kApp, /*cert_mode=*/false, nullptr));
    ASSERT_TRUE(sim_);
  }

  // A client connected to the simulator, with a short graceful stop (the held message never acks).
  std::unique_ptr<Client> StartClient(ClientOptions options) {
    options.verify_threads = 0;
    options.stop_timeout = milliseconds(200);
    auto client = Client::Create(std::move(options));
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    if (!client.ok()) return nullptr;
    std::shared_ptr<const Credentials> credentials = KeyModeCredentials(SharedKeys(kApp), kApp);
    if (!credentials) return nullptr;
    AppOptions app;
    app.credentials = std::move(credentials);
    app.server_host = sim_->listen();
    app.tls = false;
    EXPECT_TRUE((*client)->AddApp(std::move(app)).ok());
    (*client)->Start();
    return std::move(*client);
  }

  std::string dir_;
  std::unique_ptr<SimProcess> sim_;
};

TEST_F(ClientLifetimeTest, AStoreCallbackDroppedByTheInboxAfterTheClientIsGoneIsHarmless) {
  HeldCommitInbox inbox;
  ClientOptions options;
  options.inbox = &inbox;
  std::unique_ptr<Client> client = StartClient(std::move(options));
  ASSERT_TRUE(client);
  sim_->AddMessage(kApp, kApi, R"({"n":1})");
  ASSERT_TRUE(inbox.WaitForOne());

  client->StopAndWait();
  client.reset();
  // The commit completes late, on a thread of the inbox's, which then drops the callback.
  std::thread writer([&inbox] {
    for (Inbox::StoreCallback& done : inbox.TakeHeld()) {
      done(std::vector<StoreOutcome>{StoreOutcome::kNew});
      done = nullptr;
    }
  });
  writer.join();
  // Not acked: the simulator redelivers it to the next client.
  EXPECT_EQ(sim_->Stat("acked.SUCCESS"), 0);
}

TEST_F(ClientLifetimeTest, AnAfterHandleCallbackDroppedByTheDispatcherAfterTheClientIsGoneIsHarmless) {
  auto real = OpenSqliteInbox(dir_ + "/inbox.db");
  ASSERT_TRUE(real.ok()) << real.status().ToString();
  std::mutex mu;
  std::vector<std::function<void(bool)>> held;
  ClientOptions options;
  options.inbox = real->get();
  options.ack_mode = AckMode::kAfterHandle;
  options.handle_now = [&](const InboundMessage&, StoreOutcome, std::function<void(bool)> done) {
    std::lock_guard lock(mu);
    held.push_back(std::move(done));
  };
  std::unique_ptr<Client> client = StartClient(std::move(options));
  ASSERT_TRUE(client);
  sim_->AddMessage(kApp, kApi, R"({"n":2})");
  ASSERT_TRUE(testing::WaitUntil([&] {
    std::lock_guard lock(mu);
    return !held.empty();
  }));

  client->StopAndWait();
  client.reset();
  // The handler finishes late, on a worker of the dispatcher's, which then drops the callback.
  std::thread worker([&] {
    std::lock_guard lock(mu);
    for (auto& done : held) {
      done(true);
      done = nullptr;
    }
  });
  worker.join();
  EXPECT_EQ(sim_->Stat("acked.SUCCESS"), 0);
  (*real)->Close();
}

}  // namespace
}  // namespace alipaymsg::clienttest
