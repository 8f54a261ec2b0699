#include "sim/message_store.h"

#include <gtest/gtest.h>

namespace alipaymsg::sim {
namespace {

std::shared_ptr<Payload> P(const std::string& app = "app1") {
  auto p = std::make_shared<Payload>();
  p->app_id = app;
  p->msg_api = "alipay.test";
  p->data = "{}";
  return p;
}

// Schedule: first delivery immediately, then after 100 and 200 ms: 3 deliveries.
MessageStore Store(size_t retain = 100) { return MessageStore(RedeliverySchedule({0, 100, 200}), retain); }

TEST(MessageStore, NewMessageIsReadyAtOnceAndAckSuccessFinishesIt) {
  MessageStore s = Store();
  auto m = s.Add("m1", P(), 1000);
  ASSERT_TRUE(m.ok());
  Message* ready = s.PopReady("app1");
  ASSERT_EQ(ready, *m);
  EXPECT_EQ(s.PopReady("app1"), nullptr);
  s.MarkDelivered(*ready, 7, "s1", 1000);
  EXPECT_EQ(s.InflightCount(7), 1u);
  EXPECT_EQ(ready->next_at_ms, 1100);
  EXPECT_EQ(s.OnAck("m1", "app1", 7, true, 1010), AckOutcome::kAcked);
  EXPECT_EQ(ready->state, MessageState::kAcked);
  EXPECT_EQ(s.InflightCount(7), 0u);
  EXPECT_TRUE(s.Advance(5000).empty());  // nothing comes back
  EXPECT_EQ(s.counters().acked, 1u);
  EXPECT_EQ(s.unfinished(), 0u);
  EXPECT_EQ(s.OnAck("m1", "app1", 7, true, 1020), AckOutcome::kAlreadyFinished);
  EXPECT_EQ(ready->acks.size(), 2u);
}

TEST(MessageStore, DuplicateIdIsRefused) {
  MessageStore s = Store();
  ASSERT_TRUE(s.Add("m1", P(), 0).ok());
  auto again = s.Add("m1", P(), 0);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("m1"), std::string::npos);
}

TEST(MessageStore, FailIsRedeliveredOnScheduleThenGivenUp) {
  MessageStore s = Store();
  ASSERT_TRUE(s.Add("m1", P(), 0).ok());
  Message* m = s.PopReady("app1");
  s.MarkDelivered(*m, 1, "s1", 0);
  EXPECT_EQ(s.OnAck("m1", "app1", 1, false, 5), AckOutcome::kFailed);
  EXPECT_EQ(m->state, MessageState::kFailed);
  EXPECT_TRUE(s.Advance(99).empty());
  EXPECT_EQ(s.NextDueMs(), 100);
  EXPECT_EQ(s.Advance(100), std::vector<std::string>{"app1"});
  ASSERT_EQ(s.PopReady("app1"), m);
  s.MarkDelivered(*m, 1, "s2", 100);
  EXPECT_EQ(m->next_at_ms, 300);  // second delivery + 200
  EXPECT_EQ(s.OnAck("m1", "app1", 1, false, 101), AckOutcome::kFailed);
  EXPECT_EQ(s.Advance(300).size(), 1u);
  ASSERT_EQ(s.PopReady("app1"), m);
  s.MarkDelivered(*m, 1, "s3", 300);
  // The third (last) delivery fails: given up at once.
  EXPECT_EQ(s.OnAck("m1", "app1", 1, false, 301), AckOutcome::kGivenUp);
  EXPECT_EQ(m->state, MessageState::kGivenUp);
  EXPECT_EQ(m->delivered, 3);
  EXPECT_EQ(s.counters().redelivered, 2u);
  EXPECT_EQ(s.counters().given_up, 1u);
}

TEST(MessageStore, NoAckIsRedeliveredAndGivenUpAfterTheLastWait) {
  MessageStore s = Store();
  ASSERT_TRUE(s.Add("m1", P(), 0).ok());
  for (int64_t at : {0, 100, 300}) {
    EXPECT_TRUE(at == 0 || s.Advance(at).size() == 1u) << at;
    Message* m = s.PopReady("app1");
    ASSERT_NE(m, nullptr) << at;
    s.MarkDelivered(*m, 1, "s", at);
  }
  Message* m = s.Find("m1");
  EXPECT_EQ(m->next_at_ms, 500);  // after the last delivery: wait the last delay again
  EXPECT_TRUE(s.Advance(499).empty());
  s.Advance(500);
  EXPECT_EQ(m->state, MessageState::kGivenUp);
  EXPECT_EQ(s.PopReady("app1"), nullptr);
}

TEST(MessageStore, ConnectionLossMakesInflightReadyAtOnce) {
  MessageStore s = Store();
  ASSERT_TRUE(s.Add("a", P(), 0).ok());
  ASSERT_TRUE(s.Add("b", P(), 0).ok());
  Message* a = s.PopReady("app1");
  Message* b = s.PopReady("app1");
  s.MarkDelivered(*a, 1, "s1", 0);
  s.MarkDelivered(*b, 2, "s2", 0);
  EXPECT_EQ(s.OnConnectionLost(1, 10), std::vector<std::string>{"app1"});
  EXPECT_EQ(s.PopReady("app1"), a);  // only the lost connection's message
  EXPECT_EQ(s.PopReady("app1"), nullptr);
  s.MarkDelivered(*a, 2, "s3", 10);
  EXPECT_EQ(a->delivered, 2);
  EXPECT_EQ(a->deliveries.back().connection, 2u);
  // The stale timer of the first delivery (at 100) does not fire a second redelivery.
  EXPECT_TRUE(s.Advance(100).size() == 1u);  // b's no-ack timer
  EXPECT_EQ(s.PopReady("app1"), b);
  EXPECT_EQ(s.PopReady("app1"), nullptr);
}

TEST(MessageStore, LateAckFromOtherAppIsRejected) {
  MessageStore s = Store();
  ASSERT_TRUE(s.Add("m1", P("app1"), 0).ok());
  EXPECT_EQ(s.OnAck("m1", "app2", 1, true, 0), AckOutcome::kWrongApp);
  EXPECT_EQ(s.OnAck("nope", "app1", 1, true, 0), AckOutcome::kUnknownMessage);
  EXPECT_EQ(s.counters().acks_unknown, 2u);
}

TEST(MessageStore, UnpopKeepsOrderAndAppsAreSeparate) {
  MessageStore s = Store();
  ASSERT_TRUE(s.Add("a1", P("A"), 0).ok());
  ASSERT_TRUE(s.Add("b1", P("B"), 0).ok());
  ASSERT_TRUE(s.Add("a2", P("A"), 0).ok());
  Message* first = s.PopReady("A");
  s.Unpop(*first);
  EXPECT_EQ(s.PopReady("A")->msg_id, "a1");
  EXPECT_EQ(s.PopReady("A")->msg_id, "a2");
  EXPECT_EQ(s.PopReady("B")->msg_id, "b1");
}

TEST(MessageStore, FinishedMessagesBeyondRetentionAreForgotten) {
  MessageStore s = Store(2);
  for (const char* id : {"m1", "m2", "m3"}) {
    ASSERT_TRUE(s.Add(id, P(), 0).ok());
    Message* m = s.PopReady("app1");
    s.MarkDelivered(*m, 1, "s", 0);
    s.OnAck(id, "app1", 1, true, 0);
  }
  EXPECT_EQ(s.Find("m1"), nullptr);
  EXPECT_NE(s.Find("m2"), nullptr);
  EXPECT_NE(s.Find("m3"), nullptr);
}

TEST(MessageStore, DelayedFirstDelivery) {
  MessageStore s(RedeliverySchedule({50, 100}), 10);
  ASSERT_TRUE(s.Add("m1", P(), 0).ok());
  EXPECT_EQ(s.PopReady("app1"), nullptr);
  EXPECT_EQ(s.Advance(50).size(), 1u);
  EXPECT_NE(s.PopReady("app1"), nullptr);
}

TEST(MessageStore, RecordsMicrosecondTimesAndAckLatency) {
  MessageStore s = Store();
  ASSERT_TRUE(s.Add("m1", P(), 1000).ok());
  ASSERT_TRUE(s.Add("m2", P(), 1000).ok());
  Message* m1 = s.PopReady("app1");
  Message* m2 = s.PopReady("app1");
  s.MarkDelivered(*m1, 1, "s1", 1000, false, false, 1'000'250);
  s.MarkDelivered(*m2, 1, "s2", 1000);  // no µs given: the ms time
  EXPECT_EQ(m1->deliveries.back().at_us, 1'000'250);
  EXPECT_EQ(m2->deliveries.back().at_us, 1'000'000);
  EXPECT_EQ(s.OnAck("m1", "app1", 1, true, 1000, false, 1'000'730), AckOutcome::kAcked);
  EXPECT_EQ(m1->acks.back().at_us, 1'000'730);
  EXPECT_EQ(s.OnAck("m2", "app1", 1, true, 1003, /*late=*/true, 1'003'000), AckOutcome::kAcked);
  // The late (held back) ack is not a latency sample.
  EXPECT_EQ(s.ack_latency().count(), 1u);
  EXPECT_EQ(s.ack_latency().Percentile(0.5), 480u);
  EXPECT_EQ(s.ack_latency().max(), 480u);
  s.ResetAckLatency();
  EXPECT_EQ(s.ack_latency().count(), 0u);
}

TEST(LatencyHistogramTest, PercentilesAreWithinTheBucketPrecision) {
  LatencyHistogram h;
  EXPECT_EQ(h.Percentile(0.5), 0u);
  for (int64_t v = 1; v <= 100000; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.max(), 100000u);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = q * 100000;
    const double got = static_cast<double>(h.Percentile(q));
    EXPECT_GE(got, exact * 0.999) << q;
    EXPECT_LE(got, exact * 1.016 + 1) << q;
  }
  EXPECT_EQ(h.Percentile(1.0), 100000u);
  LatencyHistogram small;
  for (int64_t v : {3, 7, 7, 40}) small.Record(v);
  EXPECT_EQ(small.Percentile(0.5), 7u);  // exact below 64
  EXPECT_EQ(small.Percentile(1.0), 40u);
  EXPECT_DOUBLE_EQ(small.mean(), 14.25);
}

}  // namespace
}  // namespace alipaymsg::sim
