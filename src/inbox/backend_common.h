// What both inbox backends (SQLite, PostgreSQL) share: the rejected-message audit's limits and how far
// a prune goes, the bookkeeping behind Inbox::Health(), and the writer thread's wait for work.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>

#include "alipaymsg/inbox.h"

namespace alipaymsg::inbox {

// InvalidArgument naming the bad limit, or Ok.
Status CheckAuditLimits(const RejectedAuditLimits& limits);

// Whether an audit of `rows` rows and `bytes` bytes is over `limits` (time to prune).
bool AuditOverLimits(int64_t rows, int64_t bytes, const RejectedAuditLimits& limits);
// While pruning: how many of the oldest rows to delete next, 0 once the audit is down to 90% of each
// bound (so that a flood prunes once per tenth of the cap, not once per row). Over on rows: exactly
// the excess; over on bytes only: a tenth of the rows at a time.
int64_t AuditRowsToPrune(int64_t rows, int64_t bytes, const RejectedAuditLimits& limits);

// Inbox::Health() of a backend: unhealthy from a commit that failed on a storage fault until a
// commit writes again. Thread-safe; Get() is cheap.
class CommitHealth {
 public:
  // A commit (or a request in it) failed on a storage fault: `fault` says which.
  void NoteFault(const Status& fault);
  // A commit that wrote went through.
  void NoteWritten();
  bool unhealthy() const { return unhealthy_.load(); }
  InboxHealth Get() const;

 private:
  mutable std::mutex mu_;
  InboxHealth health_;  // guarded by mu_
  std::atomic<bool> unhealthy_{false};
};

// How often an unhealthy, idle inbox tries a small write to find out whether commits work again.
inline constexpr auto kProbeInterval = std::chrono::milliseconds(500);

// The writer thread's wait for work, under `lock` (the mutex guarding `lingering`, `queue` and
// `closing`); false once closing and drained. Lingering completions are due (`lingering_due`) when the
// oldest has waited `linger`, when there are `max_batch` of them, or at close; other writes go at
// once. While `health` is unhealthy and nothing is queued for a kProbeInterval, runs `probe` (a small
// write that finds out whether commits work again) with the lock released.
template <class Lingering, class Op, class Probe>
bool WaitForWrites(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                   const std::deque<Lingering>& lingering, const std::deque<Op>& queue, const bool& closing,
                   int64_t max_batch, std::chrono::milliseconds linger, const CommitHealth& health,
                   const Probe& probe, bool& lingering_due) {
  while (true) {
    lingering_due = !lingering.empty() &&
                    (closing || static_cast<int64_t>(lingering.size()) >= max_batch ||
                     std::chrono::steady_clock::now() >= lingering.front().since + linger);
    if (lingering_due || !queue.empty()) return true;
    if (closing) return false;
    if (!lingering.empty()) {
      cv.wait_until(lock, lingering.front().since + linger);
    } else if (!health.unhealthy()) {
      cv.wait(lock);
    } else if (cv.wait_for(lock, kProbeInterval) == std::cv_status::timeout && queue.empty() &&
               lingering.empty() && !closing) {
      lock.unlock();
      probe();
      lock.lock();
    }
  }
}

}  // namespace alipaymsg::inbox
