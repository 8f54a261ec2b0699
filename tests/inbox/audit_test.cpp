// The rejected-message audit stays within its RejectedAuditLimits however many forgeries arrive,
// while the count of rejections stays exact: on every backend (one parameterised suite).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "alipaymsg/inbox.h"
#include "inbox/inbox_backend.h"

namespace alipaymsg {
namespace {

using testing::Backend;
using testing::TestOptions;

RejectedMessage Forged(int i, size_t frame_bytes) {
  RejectedMessage r;
  r.app_id = "2021000000000001";
  r.msg_id = "forged-" + std::to_string(i);
  r.msg_api = "alipay.open.mini.version.audit.passed";
  r.reason = "signature mismatch: the CONSUME signature does not verify";
  r.raw_frame = std::string(frame_bytes, 'x');
  r.channel = "websocket";
  r.received_at_ms = 1700000000000 + i;
  return r;
}

int64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

class RejectedAuditTest : public testing::InboxBackendTest {};

INSTANTIATE_TEST_SUITE_P(Backends, RejectedAuditTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendTestName);

TEST_P(RejectedAuditTest, RowsAreCappedOldestFirstAndTheCountStaysExact) {
  TestOptions options;
  options.rejected.max_rows = 100;
  auto inbox = OpenInbox(options);
  ASSERT_TRUE(inbox);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(inbox->RecordRejected(Forged(i, 100)).ok()) << i;
  auto stats = inbox->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_LE(stats->rejected, 100);
  EXPECT_GE(stats->rejected, 90);
  EXPECT_EQ(stats->rejected_total, 1000);
  // The newest are the ones kept.
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM " + T("rejected") + " WHERE msg_id = 'forged-999'"), 1);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM " + T("rejected") + " WHERE msg_id = 'forged-0'"), 0);
  inbox->Close();

  // The exact count survives a reopen; a reopen with a smaller cap prunes at once.
  options.rejected.max_rows = 10;
  inbox = OpenInbox(options);
  ASSERT_TRUE(inbox);
  stats = inbox->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_LE(stats->rejected, 10);
  EXPECT_EQ(stats->rejected_total, 1000);
  ASSERT_TRUE(inbox->RecordRejected(Forged(1000, 100)).ok());
  EXPECT_EQ(inbox->Stats()->rejected_total, 1001);
}

TEST_P(RejectedAuditTest, BytesAreCappedAndHugeFramesCut) {
  TestOptions options;
  options.rejected.max_rows = 1000000;
  options.rejected.max_bytes = 1 << 20;
  options.rejected.max_frame_bytes = 4096;
  options.fsync = false;
  auto inbox = OpenInbox(options);
  ASSERT_TRUE(inbox);
  // 5,000 frames of 1 MB each: 5 GB if kept whole.
  const RejectedMessage huge = Forged(0, 1 << 20);
  for (int i = 0; i < 5000; ++i) {
    RejectedMessage r = huge;
    r.msg_id = "forged-" + std::to_string(i);
    ASSERT_TRUE(inbox->RecordRejected(r).ok()) << i;
  }
  auto stats = inbox->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rejected_total, 5000);
  EXPECT_GT(stats->rejected, 100);
  EXPECT_LE(QueryInt("SELECT SUM(" + Bytes("raw_frame") + " + " + Bytes("reason") + " + " + Bytes("msg_id") + " + " +
                     Bytes("msg_api") + " + " + Bytes("app_id") + " + " + Bytes("channel") + ") FROM " + T("rejected")),
            1 << 20);
  EXPECT_LE(QueryInt("SELECT MAX(" + Bytes("raw_frame") + ") FROM " + T("rejected")), 4096);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM " + T("rejected") + " WHERE " + AsText("raw_frame") +
                     " LIKE '%[cut, 1048576 bytes in all]'"),
            stats->rejected);
  inbox->Close();
  if (GetParam() == Backend::kSqlite) {
    // The file (and its log) stayed small: a few MB, not gigabytes.
    EXPECT_LT(FileSize(path_) + FileSize(path_ + "-wal"), 8 << 20) << FileSize(path_) << " + " << FileSize(path_ + "-wal");
  }
}

TEST(RejectedAuditCutTest, CutKeepsWholeUtf8CharactersAndShortFieldsWhole) {
  RejectedAuditLimits limits;
  limits.max_frame_bytes = 100;
  RejectedMessage r = Forged(1, 0);
  for (int i = 0; i < 100; ++i) r.raw_frame += "支付";  // 3 bytes per character
  RejectedMessage kept = BoundedForAudit(r, limits);
  EXPECT_LE(kept.raw_frame.size(), 100u);
  const std::string note = "...[cut, 600 bytes in all]";
  ASSERT_TRUE(kept.raw_frame.ends_with(note)) << kept.raw_frame;
  EXPECT_EQ((kept.raw_frame.size() - note.size()) % 3, 0u) << kept.raw_frame;
  EXPECT_EQ(kept.msg_id, r.msg_id);
  EXPECT_EQ(kept.reason, r.reason);
  r.msg_id = std::string(10000, 'm');
  EXPECT_LE(BoundedForAudit(r, limits).msg_id.size(), 256u);
}

TEST_P(RejectedAuditTest, UnusableLimitsAreRefused) {
  TestOptions options;
  options.rejected.max_rows = 0;
  auto inbox = TryOpen(options);
  ASSERT_FALSE(inbox.ok());
  EXPECT_NE(inbox.status().message().find("max_rows"), std::string::npos) << inbox.status().ToString();
}

}  // namespace
}  // namespace alipaymsg
