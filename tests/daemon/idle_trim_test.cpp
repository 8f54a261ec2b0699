#include "daemon/idle_trim.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace alipaymsg::daemon {
namespace {

TEST(IdleTrimTest, TrimsOnceAfterStartUpThenOnceAfterEachBurst) {
  int trims = 0;
  IdleTrim idle([&] { ++trims; });
  EXPECT_FALSE(idle.Tick(0));  // the first look: nothing to compare with yet
  EXPECT_TRUE(idle.Tick(0));   // quiet since start-up: what start-up freed goes back
  EXPECT_EQ(trims, 1);
  EXPECT_FALSE(idle.Tick(0));  // still quiet, nothing new freed: no second trim
  EXPECT_FALSE(idle.Tick(0));
  EXPECT_EQ(trims, 1);

  EXPECT_FALSE(idle.Tick(5));    // a burst: never trimmed while the count moves
  EXPECT_FALSE(idle.Tick(900));
  EXPECT_FALSE(idle.Tick(2000));
  EXPECT_EQ(trims, 1);
  EXPECT_TRUE(idle.Tick(2000));  // one interval of quiet after it
  EXPECT_EQ(trims, 2);
  EXPECT_FALSE(idle.Tick(2000));
  EXPECT_EQ(trims, 2);
}

TEST(IdleTrimTest, ABurstThatStartsRightAfterATrimIsTrimmedAgainWhenItEnds) {
  int trims = 0;
  IdleTrim idle([&] { ++trims; });
  idle.Tick(0);
  idle.Tick(0);
  ASSERT_EQ(trims, 1);
  EXPECT_FALSE(idle.Tick(1));  // one message
  EXPECT_TRUE(idle.Tick(1));
  EXPECT_FALSE(idle.Tick(3));
  EXPECT_TRUE(idle.Tick(3));
  EXPECT_EQ(trims, 3);
}

double ResidentMegabytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  ADD_FAILURE() << "no VmRSS in /proc/self/status";
  return 0;
}

TEST(IdleTrimTest, ReleasingFreedMemoryReturnsWhatAnotherThreadFreed) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizer's allocator replaces glibc's arenas; the plain build runs this test";
#elif !defined(__GLIBC__)
  GTEST_SKIP() << "malloc_trim is glibc's; elsewhere ReleaseFreedMemory does nothing";
#else
  // As a dispatch worker does: a thread fills its arena and frees nearly all of it, but the last
  // block keeps the heap's top in use, so glibc's own trimming at free() cannot give it back.
  constexpr int kBlocks = 8192;  // 32 MiB of 4 KiB blocks (past the tcache, below the mmap threshold)
  std::unique_ptr<char[]> last;
  std::thread worker([&] {
    std::vector<std::unique_ptr<char[]>> blocks;
    for (int i = 0; i < kBlocks; ++i) {
      blocks.push_back(std::make_unique<char[]>(4096));
      std::memset(blocks.back().get(), 1, 4096);  // resident
    }
    last = std::move(blocks.back());
  });
  worker.join();
  const double held = ResidentMegabytes();
  ReleaseFreedMemory();
  const double released = ResidentMegabytes();
  EXPECT_GT(held - released, 24.0) << "RSS " << held << " MB before, " << released << " MB after";
  EXPECT_EQ(last[4095], 1);  // the block still in use is untouched
#endif
}

// A thread fills its arena with `bytes` of 4 KiB blocks and frees them all, newest first, so that
// they merge into the arena's top.
void AThreadFillsAndFreesItsArena(size_t bytes) {
  std::thread worker([bytes] {
    std::vector<std::unique_ptr<char[]>> blocks;
    for (size_t i = 0; i < bytes / 4096; ++i) {
      blocks.push_back(std::make_unique<char[]>(4096));
      std::memset(blocks.back().get(), 1, 4096);
    }
    while (!blocks.empty()) blocks.pop_back();
  });
  worker.join();
}

TEST(IdleTrimTest, KeptSmallAnArenasTopGoesBackWhenFreedWhateverLargeBlockCameBefore) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizer's allocator replaces glibc's arenas; the plain build runs this test";
#elif !defined(__GLIBC__)
  GTEST_SKIP() << "M_TRIM_THRESHOLD is glibc's; elsewhere KeepArenaTopsSmall does nothing";
#else
  const double base = ResidentMegabytes();
  // glibc's default: freeing a 16 MiB block (mmapped) raises the trim threshold to 32 MiB, so the
  // 8 MiB a thread then frees into its arena's top stay resident. This part runs first: mallopt
  // cannot be undone.
  {
    auto big = std::make_unique<char[]>(16 << 20);
    big[0] = 1;
  }
  AThreadFillsAndFreesItsArena(8 << 20);
  EXPECT_GT(ResidentMegabytes() - base, 6.0) << "glibc kept no freed top: this test shows nothing here";
  KeepArenaTopsSmall();
  // The next thread gets the same arena (glibc hands a finished thread's arena to the next one), and
  // its frees now give the whole top back.
  AThreadFillsAndFreesItsArena(8 << 20);
  EXPECT_LT(ResidentMegabytes() - base, 2.0);
#endif
}

}  // namespace
}  // namespace alipaymsg::daemon
