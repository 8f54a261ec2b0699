// SqliteInbox with a StoreClaimer: stores claim their new messages in their own transaction.
#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <vector>

#include "alipaymsg/inbox.h"
#include "inbox/scoped_temp_dir.h"
#include "testing/messages.h"

namespace alipaymsg {
namespace {

InboundMessage Msg(const std::string& msg_id) { return testing::TestMessage(msg_id); }

// Grants up to `room` per Reserve and records what it is handed.
class RecordingClaimer final : public StoreClaimer {
 public:
  explicit RecordingClaimer(int room) : room_(room) {}
  int Reserve(int count) override {
    std::lock_guard lock(mu_);
    ++reserves;
    return std::min(count, room_);
  }
  void Claimed(std::vector<StoredMessage> messages, int reserved, bool left_pending) override {
    std::lock_guard lock(mu_);
    calls.push_back({std::move(messages), reserved, left_pending});
  }
  struct Call {
    std::vector<StoredMessage> messages;
    int reserved;
    bool left_pending;
  };
  std::vector<Call> Calls() {
    std::lock_guard lock(mu_);
    return calls;
  }
  int Reserves() {
    std::lock_guard lock(mu_);
    return reserves;
  }

 private:
  std::mutex mu_;
  const int room_;
  int reserves = 0;
  std::vector<Call> calls;
};

class StoreClaimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inbox = OpenSqliteInbox(dir_.path() + "/inbox.db");
    ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
    inbox_ = std::move(*inbox);
  }
  StoredMessage Get(const std::string& msg_id) {
    auto got = inbox_->Get("2021000000000001", msg_id);
    EXPECT_TRUE(got.ok() && got->has_value()) << msg_id;
    return got.ok() && got->has_value() ? **got : StoredMessage{};
  }

  testing::ScopedTempDir dir_{"store-claim-test"};
  std::unique_ptr<Inbox> inbox_;
};

TEST_F(StoreClaimTest, AStoreClaimsItsNewMessagesUpToTheRoomGrantedAndLeavesTheRestPending) {
  ASSERT_TRUE(inbox_->Store({Msg("old")}).ok());  // before any claimer: stays pending
  RecordingClaimer claimer(2);
  ASSERT_TRUE(inbox_->AddStoreClaimer(&claimer));
  RecordingClaimer second(5);
  EXPECT_FALSE(inbox_->AddStoreClaimer(&second)) << "one claimer at a time";

  std::promise<size_t> calls_seen_by_callback;
  std::promise<Result<std::vector<StoreOutcome>>> stored;
  inbox_->StoreAsync({Msg("old"), Msg("a"), Msg("b"), Msg("c")}, [&](Result<std::vector<StoreOutcome>> r) {
    calls_seen_by_callback.set_value(claimer.Calls().size());
    stored.set_value(std::move(r));
  });
  auto outcomes = stored.get_future().get();
  ASSERT_TRUE(outcomes.ok()) << outcomes.status().ToString();
  EXPECT_EQ((*outcomes)[0], StoreOutcome::kDuplicate);
  EXPECT_EQ(calls_seen_by_callback.get_future().get(), 1u) << "handed over before the store's callback runs";

  auto calls = claimer.Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].reserved, 2);
  EXPECT_TRUE(calls[0].left_pending) << "c was new and not claimed";
  ASSERT_EQ(calls[0].messages.size(), 2u);
  EXPECT_EQ(calls[0].messages[0].message.msg_id, "a") << "new ones in order; the duplicate is never claimed";
  EXPECT_EQ(calls[0].messages[1].message.msg_id, "b");
  EXPECT_EQ(calls[0].messages[0].message.biz_content, Msg("a").biz_content);
  EXPECT_EQ(calls[0].messages[0].state, MessageState::kInFlight);
  EXPECT_EQ(calls[0].messages[0].attempts, 1);

  // In the database as a claim would leave them: in flight, first attempt; the others pending.
  EXPECT_EQ(Get("a").state, MessageState::kInFlight);
  EXPECT_EQ(Get("a").attempts, 1);
  EXPECT_EQ(Get("b").state, MessageState::kInFlight);
  EXPECT_EQ(Get("c").state, MessageState::kPending);
  EXPECT_EQ(Get("old").state, MessageState::kPending);
  EXPECT_EQ(Get("old").delivery_count, 2);

  // Claim() takes only what the store left; a completion of a store-claimed message records as usual.
  auto claimed = inbox_->Claim(10, 1700000000000);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].message.msg_id, "old");
  EXPECT_EQ((*claimed)[1].message.msg_id, "c");
  ASSERT_TRUE(inbox_->Complete("2021000000000001", "a", DispatchResult{}, 1700000000001).ok());
  EXPECT_EQ(Get("a").state, MessageState::kDone);

  // A store of duplicates only claims nothing and leaves nothing pending.
  ASSERT_TRUE(inbox_->Store({Msg("a")}).ok());
  calls = claimer.Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(calls[1].messages.empty());
  EXPECT_FALSE(calls[1].left_pending);
  inbox_->RemoveStoreClaimer(&claimer);
}

TEST_F(StoreClaimTest, StoresSharingACommitShareOneReservationAndOneHandOver) {
  RecordingClaimer claimer(100);
  ASSERT_TRUE(inbox_->AddStoreClaimer(&claimer));
  // Hold the writer in a callback so that the next three stores queue up and go as one group.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> holding;
  inbox_->StoreAsync({Msg("holder")}, [&](Result<std::vector<StoreOutcome>>) {
    holding.set_value();
    released.wait();
  });
  holding.get_future().wait();
  std::vector<std::future<Result<std::vector<StoreOutcome>>>> results;
  std::vector<std::promise<Result<std::vector<StoreOutcome>>>> promises(3);
  const std::vector<std::vector<InboundMessage>> batches = {{Msg("a")}, {Msg("b"), Msg("")}, {Msg("c"), Msg("d")}};
  for (size_t i = 0; i < batches.size(); ++i) {
    results.push_back(promises[i].get_future());
    inbox_->StoreAsync(batches[i], [&promises, i](Result<std::vector<StoreOutcome>> r) { promises[i].set_value(std::move(r)); });
  }
  release.set_value();
  EXPECT_TRUE(results[0].get().ok());
  EXPECT_FALSE(results[1].get().ok()) << "a message without msg_id fails its own batch";
  EXPECT_TRUE(results[2].get().ok());
  auto calls = claimer.Calls();
  ASSERT_EQ(calls.size(), 2u) << "the holder's commit, then one for the three queued stores";
  EXPECT_EQ(claimer.Reserves(), 2);
  EXPECT_EQ(calls[1].reserved, 5) << "every message of the group's stores";
  ASSERT_EQ(calls[1].messages.size(), 3u) << "b's claim rolled back with its batch";
  EXPECT_EQ(calls[1].messages[0].message.msg_id, "a");
  EXPECT_EQ(calls[1].messages[1].message.msg_id, "c");
  EXPECT_EQ(calls[1].messages[2].message.msg_id, "d");
  EXPECT_FALSE(calls[1].left_pending);
  inbox_->RemoveStoreClaimer(&claimer);
}

TEST_F(StoreClaimTest, AFailedStoreHandsNothingOverButReleasesItsReservation) {
  RecordingClaimer claimer(10);
  ASSERT_TRUE(inbox_->AddStoreClaimer(&claimer));
  InboundMessage no_id = Msg("");
  auto outcomes = inbox_->Store({Msg("x"), no_id});
  EXPECT_FALSE(outcomes.ok());
  auto calls = claimer.Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].reserved, 2);
  EXPECT_TRUE(calls[0].messages.empty()) << "x was rolled back with its batch";
  EXPECT_FALSE(calls[0].left_pending);
  auto x = inbox_->Get("2021000000000001", "x");
  ASSERT_TRUE(x.ok());
  EXPECT_FALSE(x->has_value());
  inbox_->RemoveStoreClaimer(&claimer);
}

TEST_F(StoreClaimTest, AfterRemovalStoresLeaveEverythingPendingAndAClaimedMessageRecoversAfterACrash) {
  {
    RecordingClaimer claimer(10);
    ASSERT_TRUE(inbox_->AddStoreClaimer(&claimer));
    ASSERT_TRUE(inbox_->Store({Msg("claimed")}).ok());
    inbox_->RemoveStoreClaimer(&claimer);
    inbox_->RemoveStoreClaimer(&claimer);  // twice: nothing
    ASSERT_TRUE(inbox_->Store({Msg("after")}).ok());
    EXPECT_EQ(claimer.Reserves(), 1);
  }  // the claimer is gone: a store must not touch it (ASan would see it)
  ASSERT_TRUE(inbox_->Store({Msg("later")}).ok());
  EXPECT_EQ(Get("after").state, MessageState::kPending);
  EXPECT_EQ(Get("claimed").state, MessageState::kInFlight);
  // The process dies with it in flight: the next owner dispatches it again, as after any claim.
  inbox_.reset();
  auto reopened = OpenSqliteInbox(dir_.path() + "/inbox.db");
  ASSERT_TRUE(reopened.ok());
  auto got = (*reopened)->Get("2021000000000001", "claimed");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->state, MessageState::kPending);
  EXPECT_EQ((*got)->attempts, 1);
}

TEST_F(StoreClaimTest, AReadOnlyInboxTakesNoClaimer) {
  ASSERT_TRUE(inbox_->Store({Msg("x")}).ok());
  SqliteInboxOptions options;
  options.read_only = true;
  auto reader = OpenSqliteInbox(dir_.path() + "/inbox.db", options);
  ASSERT_TRUE(reader.ok());
  RecordingClaimer claimer(1);
  EXPECT_FALSE((*reader)->AddStoreClaimer(&claimer));
}

}  // namespace
}  // namespace alipaymsg
