// What both inbox backends (SQLite, PostgreSQL) share: the rejected-message audit's limits and how far
// a prune goes, the bookkeeping behind Inbox::Health(), the writer thread's wait for work and how it
// takes a group, and how a message and a result's state are named.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "alipaymsg/inbox.h"

namespace alipaymsg::inbox {

// InvalidArgument naming the bad limit, or Ok.
Status CheckAuditLimits(const RejectedAuditLimits& limits);

// "message (app_id A, msg_id M)", as errors about one message name it.
inline std::string MessageKey(const std::string& app_id, const std::string& msg_id) {
  return "message (app_id " + app_id + ", msg_id " + msg_id + ")";
}

// The state column's value for a dispatch result: a retry is pending again.
inline const char* StateOfResult(DispatchResult::Kind kind) {
  switch (kind) {
    case DispatchResult::Kind::kDone: return "done";
    case DispatchResult::Kind::kRetry: return "pending";
    case DispatchResult::Kind::kDead: return "dead";
    case DispatchResult::Kind::kUnhandled: return "unhandled";
  }
  return "dead";
}

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

// The writer's next group, under the lock: lingering completions first when they are due (they are
// the older, and the group is theirs), then queued writes, up to `max_batch` of weight (a lone op
// heavier than that still goes, alone).
template <class Lingering, class Op>
std::vector<Op> TakeWriteGroup(std::deque<Lingering>& lingering, std::deque<Op>& queue, bool take_lingering,
                               int64_t max_batch) {
  std::vector<Op> ops;
  int64_t weight = 0;
  while (take_lingering && !lingering.empty() && (ops.empty() || weight + lingering.front().op.weight <= max_batch)) {
    weight += lingering.front().op.weight;
    ops.push_back(std::move(lingering.front().op));
    lingering.pop_front();
  }
  while (!queue.empty() && (ops.empty() || weight + queue.front().weight <= max_batch)) {
    weight += queue.front().weight;
    ops.push_back(std::move(queue.front()));
    queue.pop_front();
  }
  return ops;
}

// The writer thread's wait for its next group, under `lock` (the mutex guarding `lingering`, `queue`
// and `closing`): takes it into `group` (TakeWriteGroup); false once closing and drained. Lingering
// completions are due when the oldest has waited `linger`, when there are `max_batch` of them, or at
// close; other writes go at once, without the lingering ones when those are not due. While `health`
// is unhealthy and nothing is queued for a kProbeInterval, runs `probe` (a small write that finds out
// whether commits work again) with the lock released.
template <class Lingering, class Op, class Probe>
bool WaitForWriteGroup(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                       std::deque<Lingering>& lingering, std::deque<Op>& queue, const bool& closing,
                       int64_t max_batch, std::chrono::milliseconds linger, const CommitHealth& health,
                       const Probe& probe, std::vector<Op>& group) {
  while (true) {
    const bool lingering_due = !lingering.empty() &&
                               (closing || static_cast<int64_t>(lingering.size()) >= max_batch ||
                                std::chrono::steady_clock::now() >= lingering.front().since + linger);
    if (lingering_due || !queue.empty()) {
      group = TakeWriteGroup(lingering, queue, lingering_due, max_batch);
      return true;
    }
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
