// The rejected-message audit stays within its RejectedAuditLimits however many forgeries arrive,
// while the count of rejections stays exact.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <string>

#include "alipaymsg/inbox.h"
#include "inbox/scoped_temp_dir.h"
#include "inbox/sqlite_query.h"

namespace alipaymsg {
namespace {

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

TEST(RejectedAuditTest, RowsAreCappedOldestFirstAndTheCountStaysExact) {
  testing::ScopedTempDir dir;
  const std::string path = dir.path() + "/inbox.db";
  SqliteInboxOptions options;
  options.rejected.max_rows = 100;
  auto inbox = OpenSqliteInbox(path, options);
  ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE((*inbox)->RecordRejected(Forged(i, 100)).ok()) << i;
  auto stats = (*inbox)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_LE(stats->rejected, 100);
  EXPECT_GE(stats->rejected, 90);
  EXPECT_EQ(stats->rejected_total, 1000);
  // The newest are the ones kept.
  EXPECT_EQ(testing::SqliteQueryInt(path, "SELECT COUNT(*) FROM rejected WHERE msg_id = 'forged-999'"), 1);
  EXPECT_EQ(testing::SqliteQueryInt(path, "SELECT COUNT(*) FROM rejected WHERE msg_id = 'forged-0'"), 0);
  (*inbox)->Close();

  // The exact count survives a reopen; a reopen with a smaller cap prunes at once.
  options.rejected.max_rows = 10;
  inbox = OpenSqliteInbox(path, options);
  ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
  stats = (*inbox)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_LE(stats->rejected, 10);
  EXPECT_EQ(stats->rejected_total, 1000);
}

TEST(RejectedAuditTest, BytesAreCappedAndHugeFramesCut) {
  testing::ScopedTempDir dir;
  const std::string path = dir.path() + "/inbox.db";
  SqliteInboxOptions options;
  options.rejected.max_rows = 1000000;
  options.rejected.max_bytes = 1 << 20;
  options.rejected.max_frame_bytes = 4096;
  options.synchronous_full = false;
  auto inbox = OpenSqliteInbox(path, options);
  ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
  // 5,000 frames of 1 MB each: 5 GB if kept whole.
  const RejectedMessage huge = Forged(0, 1 << 20);
  for (int i = 0; i < 5000; ++i) {
    RejectedMessage r = huge;
    r.msg_id = "forged-" + std::to_string(i);
    ASSERT_TRUE((*inbox)->RecordRejected(r).ok()) << i;
  }
  auto stats = (*inbox)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rejected_total, 5000);
  EXPECT_GT(stats->rejected, 100);
  EXPECT_LE(testing::SqliteQueryInt(path, "SELECT SUM(length(CAST(raw_frame AS BLOB)) + length(CAST(reason AS BLOB)) + "
                           "length(msg_id) + length(msg_api) + length(app_id) + length(channel)) FROM rejected"),
            1 << 20);
  EXPECT_LE(testing::SqliteQueryInt(path, "SELECT MAX(length(CAST(raw_frame AS BLOB))) FROM rejected"), 4096);
  EXPECT_EQ(testing::SqliteQueryInt(path, "SELECT COUNT(*) FROM rejected WHERE raw_frame LIKE '%[cut, 1048576 bytes in all]'"),
            stats->rejected);
  (*inbox)->Close();
  // The file (and its log) stayed small: a few MB, not gigabytes.
  EXPECT_LT(FileSize(path) + FileSize(path + "-wal"), 8 << 20) << FileSize(path) << " + " << FileSize(path + "-wal");
}

TEST(RejectedAuditTest, CutKeepsWholeUtf8CharactersAndShortFieldsWhole) {
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

TEST(RejectedAuditTest, UnusableLimitsAreRefused) {
  testing::ScopedTempDir dir;
  SqliteInboxOptions options;
  options.rejected.max_rows = 0;
  auto inbox = OpenSqliteInbox(dir.path() + "/inbox.db", options);
  ASSERT_FALSE(inbox.ok());
  EXPECT_NE(inbox.status().message().find("max_rows"), std::string::npos) << inbox.status().ToString();
}

}  // namespace
}  // namespace alipaymsg
