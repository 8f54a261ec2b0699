// The dispatcher as the SqliteInbox's StoreClaimer: stores hand it their new messages.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

#include "alipaymsg/dispatcher.h"
#include "inbox/scoped_temp_dir.h"
#include "testing/messages.h"
#include "testing/wait.h"

namespace alipaymsg {
namespace {

using namespace std::chrono_literals;

const std::string kApp = testing::kTestAppId;

InboundMessage Msg(const std::string& msg_id) { return testing::TestMessage(msg_id); }

class ClaimOnStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inbox = OpenSqliteInbox(dir_.path() + "/inbox.db");
    ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
    inbox_ = std::move(*inbox);
    options_.clock = &clock_;
    options_.threads = 2;
    options_.poll_interval = 60s;  // nothing but a store (or Notify) wakes it within a test
    ASSERT_TRUE(router_.On("*", [this](MessageView&) {
                         handled_.fetch_add(1);
                         return HandlerOutcome::Done();
                       }).ok());
  }
  int64_t Commits() { return inbox_->Stats()->commits; }
  // Handlers that count in `started`, then wait for release_ before they finish (counted in handled_).
  Router GatedRouter(std::atomic<int>& started) {
    Router router;
    EXPECT_TRUE(router.On("*", [this, &started](MessageView&) {
                        started.fetch_add(1);
                        released_.wait();
                        handled_.fetch_add(1);
                        return HandlerOutcome::Done();
                      }).ok());
    return router;
  }
  MessageState StateOf(const std::string& msg_id) {
    auto got = inbox_->Get(kApp, msg_id);
    return got.ok() && got->has_value() ? (*got)->state : MessageState::kDead;
  }

  testing::ScopedTempDir dir_{"claim-on-store-test"};
  std::unique_ptr<Inbox> inbox_;
  ManualClock clock_{1'000'000};
  DispatcherOptions options_;
  Router router_;
  std::atomic<int> handled_{0};
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
};

TEST_F(ClaimOnStoreTest, AStoreHandsItsMessagesToASleepingDispatcherWithoutAClaimTransaction) {
  Dispatcher d(*inbox_, router_, options_);
  ASSERT_TRUE(d.Start().ok());
  ASSERT_TRUE(d.WaitIdle(10s));  // asleep: nothing due, next look in 60 s
  EXPECT_TRUE(d.ClaimsOnStore());
  for (int i = 0; i < 5; ++i) {
    const int64_t before = Commits();
    const std::string id = "m" + std::to_string(i);
    ASSERT_TRUE(inbox_->Store({Msg(id)}).ok());  // no Notify()
    ASSERT_TRUE(testing::WaitUntil([&] { return StateOf(id) == MessageState::kDone; }, 10s)) << id;
    ASSERT_TRUE(d.WaitIdle(10s));
    EXPECT_EQ(Commits() - before, 2) << "the store (which claimed it) and the result; no claim of its own";
  }
  EXPECT_EQ(handled_.load(), 5);
  EXPECT_EQ(d.Stats().done, 5);
  d.Stop();
  EXPECT_FALSE(d.ClaimsOnStore());
  ASSERT_TRUE(inbox_->Store({Msg("after-stop")}).ok());
  EXPECT_EQ(StateOf("after-stop"), MessageState::kPending) << "a stopped dispatcher takes nothing";
}

TEST_F(ClaimOnStoreTest, WithoutRoomTheStoreLeavesThemPendingAndTheDispatcherClaimsThemItself) {
  options_.threads = 1;
  options_.prefetch = 0;
  std::atomic<int> started{0};
  Dispatcher d(*inbox_, GatedRouter(started), options_);
  ASSERT_TRUE(d.Start().ok());
  ASSERT_TRUE(d.WaitIdle(10s));
  ASSERT_TRUE(inbox_->Store({Msg("first"), Msg("second"), Msg("third")}).ok());
  ASSERT_TRUE(testing::WaitUntil([&] { return started.load() == 1; }, 10s));
  EXPECT_EQ(StateOf("first"), MessageState::kInFlight);
  EXPECT_EQ(StateOf("second"), MessageState::kPending) << "one slot: the rest waits in the inbox";
  release_.set_value();
  ASSERT_TRUE(testing::WaitUntil([&] { return handled_.load() == 3; }, 10s)) << "claimed later without a Notify()";
  ASSERT_TRUE(d.WaitIdle(10s));
  EXPECT_EQ(inbox_->Stats()->done, 3);
}

TEST_F(ClaimOnStoreTest, DispatchNowOfAMessageAStoreAlreadyHandedOverWaitsForItsResult) {
  // An after-handle client built by hand with claim_on_store left on: the store hands the message
  // over before the client asks for it; the client still gets the handler's result, not "being handled".
  std::atomic<int> calls{0};
  Dispatcher d(*inbox_, GatedRouter(calls), options_);
  ASSERT_TRUE(d.Start().ok());
  ASSERT_TRUE(d.WaitIdle(10s));
  ASSERT_TRUE(inbox_->Store({Msg("m")}).ok());
  ASSERT_TRUE(testing::WaitUntil([&] { return calls.load() == 1; }, 10s));
  StoredMessage stored;
  stored.message = Msg("m");
  std::promise<DispatchResult> result;
  d.DispatchNow(stored, [&](DispatchResult r) { result.set_value(r); });
  auto future = result.get_future();
  EXPECT_EQ(future.wait_for(200ms), std::future_status::timeout) << "answered before the handler finished";
  release_.set_value();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(future.get().kind, DispatchResult::Kind::kDone);
  EXPECT_EQ(calls.load(), 1) << "run once";
  // Once recorded, a redelivery's DispatchNow finds it done.
  std::promise<DispatchResult> again;
  d.DispatchNow(stored, [&](DispatchResult r) { again.set_value(r); });
  EXPECT_EQ(again.get_future().get().kind, DispatchResult::Kind::kDone);
}

TEST_F(ClaimOnStoreTest, OffWhenAskedAndForASecondDispatcherOnTheSameInbox) {
  Dispatcher first(*inbox_, router_, options_);
  ASSERT_TRUE(first.Start().ok());
  Dispatcher second(*inbox_, router_, options_);
  ASSERT_TRUE(second.Start().ok());
  EXPECT_TRUE(first.ClaimsOnStore());
  EXPECT_FALSE(second.ClaimsOnStore()) << "the inbox takes one claimer";
  first.Stop();
  second.Stop();

  DispatcherOptions off = options_;
  off.claim_on_store = false;
  Dispatcher third(*inbox_, router_, off);
  ASSERT_TRUE(third.Start().ok());
  ASSERT_TRUE(third.WaitIdle(10s));
  EXPECT_FALSE(third.ClaimsOnStore());
  ASSERT_TRUE(inbox_->Store({Msg("x")}).ok());
  EXPECT_EQ(StateOf("x"), MessageState::kPending);
  third.Notify();
  ASSERT_TRUE(testing::WaitUntil([&] { return StateOf("x") == MessageState::kDone; }, 10s));
}

}  // namespace
}  // namespace alipaymsg
