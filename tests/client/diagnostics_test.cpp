#include "client/diagnostics.h"

#include <gtest/gtest.h>

#include <thread>

namespace alipaymsg::client {
namespace {

TEST(DiagnosticsTest, StateNamesAreReadable) {
  EXPECT_EQ(ToString(ConnectionState::kIdle), "idle");
  EXPECT_EQ(ToString(ConnectionState::kRegistering), "registering");
  EXPECT_EQ(ToString(ConnectionState::kConnecting), "connecting");
  EXPECT_EQ(ToString(ConnectionState::kOpen), "open");
  EXPECT_EQ(ToString(ConnectionState::kBackoff), "backoff");
  EXPECT_EQ(ToString(ConnectionState::kClosing), "closing");
  EXPECT_EQ(ToString(ConnectionState::kStopped), "stopped");
}

TEST(DiagnosticsTest, OpeningCountsConnectsAndReconnects) {
  Diagnostics d("app1");
  d.SetState(ConnectionState::kRegistering, 1);
  d.SetState(ConnectionState::kConnecting, 2);
  d.SetState(ConnectionState::kOpen, 3);
  auto s = d.Snapshot();
  EXPECT_EQ(s.app_id, "app1");
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.connected_since_ms, 3);
  EXPECT_EQ(s.connects, 1);
  EXPECT_EQ(s.reconnects, 0);
  d.SetState(ConnectionState::kBackoff, 4);
  d.SetNextAttemptIn(1500);
  s = d.Snapshot();
  EXPECT_FALSE(s.connected);
  EXPECT_EQ(s.connected_since_ms, 0);
  EXPECT_EQ(s.next_attempt_in_ms, 1500);
  d.SetState(ConnectionState::kRegistering, 5);
  EXPECT_EQ(d.Snapshot().next_attempt_in_ms, 0);
  d.SetState(ConnectionState::kOpen, 6);
  d.SetState(ConnectionState::kOpen, 7);  // no double count
  s = d.Snapshot();
  EXPECT_EQ(s.connects, 2);
  EXPECT_EQ(s.reconnects, 1);
  EXPECT_EQ(s.connected_since_ms, 6);
}

TEST(DiagnosticsTest, LastErrorIsKept) {
  Diagnostics d("a");
  d.SetError("register.do failed: SignatureMismatch: ...", 42);
  auto s = d.Snapshot();
  EXPECT_EQ(s.last_error, "register.do failed: SignatureMismatch: ...");
  EXPECT_EQ(s.last_error_at_ms, 42);
}

TEST(DiagnosticsTest, CountersAreSafeAcrossThreads) {
  Diagnostics d("a");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) d.Update([](ConnectionStats& s) { ++s.received; });
    });
  for (int i = 0; i < 1000; ++i) (void)d.Snapshot();
  for (auto& t : threads) t.join();
  EXPECT_EQ(d.Snapshot().received, 40000);
}

TEST(LatencyHistogramTest, BucketsByUpperBound) {
  LatencyHistogram h;
  h.Record(50);       // <= 100
  h.Record(100);      // <= 100
  h.Record(101);      // <= 250
  h.Record(5000000);  // +Inf
  h.Record(-3);       // clock went backwards: counted as 0
  EXPECT_EQ(h.counts[0], 3);
  EXPECT_EQ(h.counts[1], 1);
  EXPECT_EQ(h.counts.back(), 1);
  EXPECT_EQ(h.count, 5);
  EXPECT_EQ(h.sum_us, 50 + 100 + 101 + 5000000);
}

}  // namespace
}  // namespace alipaymsg::client
