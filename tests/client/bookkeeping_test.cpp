#include "client/bookkeeping.h"

#include <gtest/gtest.h>

namespace alipaymsg::client {
namespace {

TEST(AckBookTest, PausesAtTheLimitAndResumesBelowIt) {
  AckBook book(2);
  EXPECT_TRUE(book.ShouldRead());
  book.Begin();
  EXPECT_TRUE(book.ShouldRead());
  book.Begin();
  EXPECT_FALSE(book.ShouldRead());
  EXPECT_TRUE(book.Paused());
  book.End();
  EXPECT_TRUE(book.ShouldRead());
  EXPECT_FALSE(book.Paused());
}

TEST(AckBookTest, DrainingStopsReadingAndCompletesWhenNothingIsInFlight) {
  AckBook book(10);
  book.Begin();
  book.StartDraining();
  EXPECT_FALSE(book.ShouldRead());
  EXPECT_FALSE(book.Paused());  // draining is not backpressure
  EXPECT_FALSE(book.DrainComplete());
  book.End();
  EXPECT_TRUE(book.DrainComplete());
}

TEST(AckBookTest, NewLinkStartsEmptyAndEndNeverGoesNegative) {
  AckBook book(1);
  book.Begin();
  book.ResetForNewLink();
  EXPECT_EQ(book.in_flight(), 0);
  book.End();
  EXPECT_EQ(book.in_flight(), 0);
  EXPECT_TRUE(book.ShouldRead());
}

TEST(PendingSendsTest, MatchesByStreamIdOnce) {
  PendingSends sends(10);
  int called = 0;
  ASSERT_TRUE(sends.Add("c1", [&](Result<SendResult>) { ++called; }).ok());
  EXPECT_FALSE(sends.Take("c2").has_value());
  auto done = sends.Take("c1");
  ASSERT_TRUE(done.has_value());
  (*done)(SendResult{});
  EXPECT_EQ(called, 1);
  EXPECT_FALSE(sends.Take("c1").has_value());
}

TEST(PendingSendsTest, LimitAndDuplicateIdsAreErrorsAndKeepTheCallback) {
  PendingSends sends(1);
  ASSERT_TRUE(sends.Add("a", [](Result<SendResult>) {}).ok());
  bool kept = false;
  SendCallback second = [&](Result<SendResult>) { kept = true; };
  Status full = sends.Add("b", std::move(second));
  EXPECT_EQ(full.code(), StatusCode::kUnavailable);
  EXPECT_NE(full.message().find("limit 1"), std::string::npos);
  ASSERT_TRUE(second);  // not consumed: the caller reports the error through it
  second(Status(Unavailable("x")));
  EXPECT_TRUE(kept);

  PendingSends two(2);
  ASSERT_TRUE(two.Add("a", [](Result<SendResult>) {}).ok());
  SendCallback dup = [](Result<SendResult>) {};
  EXPECT_EQ(two.Add("a", std::move(dup)).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(dup);
}

TEST(PendingSendsTest, TakeAllEmpties) {
  PendingSends sends(5);
  for (std::string id : {"a", "b", "c"}) ASSERT_TRUE(sends.Add(id, [](Result<SendResult>) {}).ok());
  EXPECT_EQ(sends.TakeAll().size(), 3u);
  EXPECT_EQ(sends.size(), 0u);
}

}  // namespace
}  // namespace alipaymsg::client
