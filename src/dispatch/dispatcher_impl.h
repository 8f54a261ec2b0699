// Dispatcher::Impl, shared by dispatcher.cpp (starting, claiming, the scheduler and the workers) and
// dispatcher_attempt.cpp (one handler call and recording its result). Not installed.
#pragma once

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alipaymsg/dispatcher.h"
#include "base/retired_threads.h"

namespace alipaymsg {
namespace dispatch {

inline DispatchResult MakeResult(DispatchResult::Kind kind, std::string error, int64_t retry_at_ms = 0) {
  DispatchResult r;
  r.kind = kind;
  r.retry_at_ms = retry_at_ms;
  r.error = std::move(error);
  return r;
}

// The key of a message held for its DispatchNow callers (Impl::held_).
inline std::string HeldKey(const std::string& app_id, const std::string& msg_id) { return app_id + '\n' + msg_id; }
inline std::string HeldKey(const InboundMessage& m) { return HeldKey(m.app_id, m.msg_id); }

}  // namespace dispatch

// Everything behind the public Dispatcher: the threads, the queue and the locks. As the inbox's
// StoreClaimer it takes new messages from the stores themselves (claim_on_store).
struct Dispatcher::Impl final : StoreClaimer {
  Impl(Inbox& inbox, Router router, DispatcherOptions options);

  Status Start();
  void Notify();
  bool ClaimsOnStore() const;
  int Reserve(int count) override;
  void Claimed(std::vector<StoredMessage> messages, int reserved, bool left_pending) override;
  void DispatchNow(const StoredMessage& message, std::function<void(DispatchResult)> done);
  void Stop();
  bool WaitIdle(std::chrono::milliseconds timeout);
  DispatcherStats Stats() const;
  std::chrono::milliseconds Backoff(int attempt);

  struct Task {
    std::optional<StoredMessage> claimed;  // from the scheduler: already in flight
    std::string app_id, msg_id;            // DispatchNow: still to claim
    std::function<void(DispatchResult)> done;
  };

  struct Attempt;  // one handler run, until its result is committed

  void SchedulerLoop();
  void WorkerLoop();
  // Under mu_, after queueing: starts a worker when the queue holds more tasks than workers wait
  // for work, up to options_.threads. Workers start on demand and leave after worker_idle_exit
  // without work (the scheduler joins them), or at Stop(). An error when the system refuses a
  // thread (RLIMIT_NPROC, a pids cgroup): the scheduler reports it and tries again at its next poll.
  Status AddWorkersLocked();
  bool WorkersMissingLocked() const;
  void RunTask(Task& task);
  std::shared_ptr<Attempt> RunHandler(StoredMessage message);
  void Record(std::shared_ptr<Attempt> attempt);
  void RecordInInbox(const std::shared_ptr<Attempt>& attempt);
  // Under `lock` (released meanwhile): records again the results in unrecorded_ that are due (all).
  void RecordAgainDue(std::unique_lock<std::mutex>& lock, bool all);
  void OnRecorded(const std::shared_ptr<Attempt>& attempt, const Status& status);
  DispatchResult RetryOrDead(int attempt, const std::string& reason,
                             std::optional<std::chrono::milliseconds> delay, int64_t now_ms);
  DispatchResult ResultOfUnclaimable(const std::string& app_id, const std::string& msg_id);
  void ReportError(const Status& status);
  // Under mu_: queues a message claimed for this dispatcher (by the scheduler or a store).
  void QueueClaimedLocked(StoredMessage message);
  int FreeSlotsLocked() const;
  bool IdleLocked() const;

  Inbox& inbox_;
  const Router router_;
  DispatcherOptions options_;
  const Clock& clock_;

  std::mutex stop_mu_;  // one Stop() at a time
  mutable std::mutex mu_;
  std::condition_variable scheduler_cv_;  // Notify, stop, a free slot
  std::condition_variable worker_cv_;     // a task, stop
  std::condition_variable idle_cv_;       // for WaitIdle
  std::condition_variable committed_cv_;  // a result committed (awaiting_commit_ went down)
  std::deque<Task> queue_;
  int running_ = 0;
  int idle_workers_ = 0;  // waiting on worker_cv_ (a notified one counts until it wakes)
  int awaiting_commit_ = 0;  // handled, result not yet committed (bounded: workers wait)
  int reserved_ = 0;         // slots promised to stores being committed (Reserve, until Claimed)
  // The messages this dispatcher has claimed (scheduler, store or DispatchNow), until their results
  // commit, with the DispatchNow requests that came for them meanwhile: those get that result
  // instead of failing to claim it (after-handle: the scheduler woken by the store may claim a
  // message before its DispatchNow does; a redelivery may arrive while the first copy runs).
  std::unordered_map<std::string, std::vector<std::function<void(DispatchResult)>>> held_;
  bool claims_on_store_ = false;  // registered with the inbox as its StoreClaimer
  // Results whose commit failed, with when to record them again (they count in awaiting_commit_).
  std::vector<std::pair<int64_t, std::shared_ptr<Attempt>>> unrecorded_;
  bool notified_ = false;
  bool scheduler_waiting_ = false;  // the scheduler found nothing due and sleeps
  bool started_ = false;
  bool stopping_ = false;
  bool workers_stop_ = false;
  std::mt19937_64 rng_;
  DispatcherStats stats_;

  std::thread scheduler_;
  std::vector<std::thread> workers_;
  RetiredThreads retired_;  // workers that left after worker_idle_exit; the scheduler joins them
};

}  // namespace alipaymsg
