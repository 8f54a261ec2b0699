#include "alipaymsg/dispatcher.h"

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

#include "base/backoff.h"
#include "base/thread_name.h"

namespace alipaymsg {
namespace {

DispatchResult MakeResult(DispatchResult::Kind kind, std::string error, int64_t retry_at_ms = 0) {
  DispatchResult r;
  r.kind = kind;
  r.retry_at_ms = retry_at_ms;
  r.error = std::move(error);
  return r;
}

}  // namespace

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
  // for work, up to options_.threads. Workers start on demand and stay until Stop(). An error when
  // the system refuses a thread (RLIMIT_NPROC, a pids cgroup): the scheduler reports it and tries
  // again at its next poll.
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
};

Dispatcher::Impl::Impl(Inbox& inbox, Router router, DispatcherOptions options)
    : inbox_(inbox),
      router_(std::move(router)),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : SystemClock::Instance()),
      rng_(std::random_device{}()) {}

Status Dispatcher::Impl::Start() {
  if (options_.threads < 1) return InvalidArgument("dispatcher threads must be at least 1");
  if (options_.prefetch < 0) return InvalidArgument("dispatcher prefetch must not be negative");
  if (options_.max_attempts < 1) return InvalidArgument("dispatcher max_attempts must be at least 1");
  if (options_.initial_backoff.count() < 0 || options_.max_backoff < options_.initial_backoff ||
      options_.backoff_multiplier < 1.0 || options_.jitter < 0.0 || options_.jitter > 1.0) {
    return InvalidArgument(
        "dispatcher backoff: need 0 <= initial_backoff <= max_backoff, multiplier >= 1 and "
        "0 <= jitter <= 1");
  }
  if (options_.poll_interval.count() < 1) {
    return InvalidArgument("dispatcher poll_interval must be at least 1 ms");
  }
  std::lock_guard lock(mu_);
  if (started_) return InvalidArgument("dispatcher already started");
  if (stopping_) return Unavailable("dispatcher is stopped");
  started_ = true;
  (void)AddWorkersLocked();  // for DispatchNow requests made before Start; the scheduler retries
  // Under mu_, so that Reserve (which takes mu_) sees claims_on_store_ set; registering calls nothing back.
  claims_on_store_ = options_.claim_on_store && inbox_.AddStoreClaimer(this);
  scheduler_ = std::thread([this] {
    NameThisThread("dispatch-timer");
    SchedulerLoop();
  });
  return Status::Ok();
}

void Dispatcher::Impl::Notify() {
  {
    std::lock_guard lock(mu_);
    notified_ = true;
  }
  scheduler_cv_.notify_one();
}

bool Dispatcher::Impl::ClaimsOnStore() const {
  std::lock_guard lock(mu_);
  return claims_on_store_ && !stopping_;
}

// Only while the scheduler sleeps with nothing due (no backlog that new messages would overtake)
// and there is room; otherwise the store leaves them pending and the scheduler claims them in order.
int Dispatcher::Impl::Reserve(int count) {
  std::lock_guard lock(mu_);
  if (!claims_on_store_ || !scheduler_waiting_ || notified_) return 0;
  const int granted = std::clamp(FreeSlotsLocked(), 0, count);
  reserved_ += granted;
  return granted;
}

void Dispatcher::Impl::Claimed(std::vector<StoredMessage> messages, int reserved, bool left_pending) {
  {
    std::lock_guard lock(mu_);
    reserved_ -= reserved;
    for (StoredMessage& message : messages) QueueClaimedLocked(std::move(message));
    // A worker that cannot start is reported, and tried again, by the scheduler.
    if (!messages.empty() && !AddWorkersLocked().ok()) left_pending = true;
    if (left_pending) notified_ = true;
  }
  if (messages.size() == 1) worker_cv_.notify_one();
  if (messages.size() > 1) worker_cv_.notify_all();
  // Slots given back unused (duplicates, a failed store or commit) may be what a scheduler waiting
  // for room needs.
  if (left_pending || static_cast<int>(messages.size()) < reserved) scheduler_cv_.notify_one();
  idle_cv_.notify_all();
}

namespace {
std::string HeldKey(const std::string& app_id, const std::string& msg_id) { return app_id + '\n' + msg_id; }
std::string HeldKey(const InboundMessage& m) { return HeldKey(m.app_id, m.msg_id); }
}  // namespace

void Dispatcher::Impl::QueueClaimedLocked(StoredMessage message) {
  held_.try_emplace(HeldKey(message.message));
  Task task;
  task.claimed = std::move(message);
  queue_.push_back(std::move(task));
}

void Dispatcher::Impl::DispatchNow(const StoredMessage& message,
                                   std::function<void(DispatchResult)> done) {
  {
    std::lock_guard lock(mu_);
    if (auto held = held_.find(HeldKey(message.message)); held != held_.end()) {
      held->second.push_back(std::move(done));  // answered with the result of the claim we hold
      return;
    }
    if (!stopping_) {
      Task task;
      task.app_id = message.message.app_id;
      task.msg_id = message.message.msg_id;
      task.done = std::move(done);
      queue_.push_front(std::move(task));  // ahead of claimed work: someone waits for its ack
      if (!AddWorkersLocked().ok()) {
        notified_ = true;  // the scheduler reports it and tries again
        scheduler_cv_.notify_one();
      }
      worker_cv_.notify_one();
      return;
    }
  }
  if (done) done(MakeResult(DispatchResult::Kind::kRetry, "dispatcher is stopped"));
}

void Dispatcher::Impl::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  bool unregister = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !scheduler_.joinable() && workers_.empty()) return;
    stopping_ = true;
    unregister = std::exchange(claims_on_store_, false);
  }
  // Not under mu_: the inbox waits for a store in progress, whose Claimed takes mu_. After this no
  // store hands us messages; those handed before are queued and run below.
  if (unregister) inbox_.RemoveStoreClaimer(this);
  scheduler_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();  // may push its last claim into the queue
  {
    // Results still to be recorded get one last try (OnRecorded no longer retries once stopping).
    std::unique_lock lock(mu_);
    RecordAgainDue(lock, /*all=*/true);
  }
  {
    std::lock_guard lock(mu_);
    workers_stop_ = true;
  }
  worker_cv_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  {
    // Results handed to the inbox are committed (or refused, if it was closed first) before we go.
    std::unique_lock lock(mu_);
    committed_cv_.wait(lock, [this] { return awaiting_commit_ == 0; });
  }
  // Never started: DispatchNow requests are still queued; they get an answer all the same.
  std::deque<Task> left;
  {
    std::lock_guard lock(mu_);
    left.swap(queue_);
  }
  std::unordered_map<std::string, std::vector<std::function<void(DispatchResult)>>> held;
  {
    std::lock_guard lock(mu_);
    held.swap(held_);  // claims that never ran (no worker could start): their followers too
  }
  for (Task& task : left) {
    if (task.done) task.done(MakeResult(DispatchResult::Kind::kRetry, "dispatcher is stopped"));
  }
  for (auto& [key, followers] : held) {
    for (auto& follower : followers) {
      if (follower) follower(MakeResult(DispatchResult::Kind::kRetry, "dispatcher is stopped"));
    }
  }
  idle_cv_.notify_all();
}

bool Dispatcher::Impl::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return IdleLocked(); });
}

bool Dispatcher::Impl::IdleLocked() const {
  return running_ == 0 && awaiting_commit_ == 0 && reserved_ == 0 && queue_.empty() && !notified_ &&
         (scheduler_waiting_ || !started_ || stopping_);
}

DispatcherStats Dispatcher::Impl::Stats() const {
  std::lock_guard lock(mu_);
  DispatcherStats stats = stats_;
  stats.running = running_;
  return stats;
}

std::chrono::milliseconds Dispatcher::Impl::Backoff(int attempt) {
  const auto capped = static_cast<double>(
      CappedExponential(options_.initial_backoff, options_.backoff_multiplier, options_.max_backoff, attempt).count());
  double r;
  {
    std::lock_guard lock(mu_);
    r = options_.random ? options_.random() : std::uniform_real_distribution<double>(0, 1)(rng_);
  }
  r = std::clamp(r, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(capped * (1.0 - options_.jitter * r)));
}

int Dispatcher::Impl::FreeSlotsLocked() const {
  return options_.threads + options_.prefetch - running_ - reserved_ - static_cast<int>(queue_.size());
}

void Dispatcher::Impl::ReportError(const Status& status) {
  {
    std::lock_guard lock(mu_);
    ++stats_.errors;
  }
  if (options_.on_error) options_.on_error(status);
}

// ---- scheduler: claims as much as the pool can take, sleeps until Notify() or the next due time

void Dispatcher::Impl::RecordAgainDue(std::unique_lock<std::mutex>& lock, bool all) {
  const int64_t now = clock_.NowMs();
  std::vector<std::shared_ptr<Attempt>> due;
  for (auto it = unrecorded_.begin(); it != unrecorded_.end();) {
    if (all || it->first <= now) {
      due.push_back(std::move(it->second));
      it = unrecorded_.erase(it);
    } else {
      ++it;
    }
  }
  if (due.empty()) return;
  lock.unlock();
  for (auto& attempt : due) RecordInInbox(attempt);
  lock.lock();
}

void Dispatcher::Impl::SchedulerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (Status started = AddWorkersLocked(); !started.ok()) {
      lock.unlock();
      ReportError(started);
      lock.lock();
      scheduler_cv_.wait_for(lock, options_.poll_interval, [this] { return stopping_; });
      continue;
    }
    RecordAgainDue(lock, /*all=*/false);
    if (stopping_) break;
    const int free = FreeSlotsLocked();
    if (free <= 0) {
      auto room = [this] { return stopping_ || FreeSlotsLocked() > 0; };
      if (WorkersMissingLocked()) {  // a worker could not start: try again at the next poll
        scheduler_cv_.wait_for(lock, options_.poll_interval, room);
      } else if (unrecorded_.empty()) {
        scheduler_cv_.wait(lock, room);
      } else {  // workers may all wait for those commits: record them again when due
        int64_t until = INT64_MAX;
        for (const auto& entry : unrecorded_) until = std::min(until, entry.first);
        scheduler_cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(until - clock_.NowMs(), 1)), room);
      }
      continue;
    }
    notified_ = false;
    lock.unlock();
    auto claimed = inbox_.Claim(free, clock_.NowMs());
    if (!claimed.ok()) {
      ReportError(claimed.status().WithContext("dispatcher: claiming from the inbox"));
      lock.lock();
      scheduler_cv_.wait_for(lock, options_.poll_interval, [this] { return stopping_; });
      continue;
    }
    const bool maybe_more = static_cast<int>(claimed->size()) == free;
    lock.lock();
    for (StoredMessage& message : *claimed) QueueClaimedLocked(std::move(message));
    if (!claimed->empty()) {
      const bool started = AddWorkersLocked().ok();
      worker_cv_.notify_all();
      if (!started) continue;  // reported, and tried again, at the top of the loop
    }
    if (maybe_more || notified_) continue;

    // Nothing else due now: sleep until the earliest retry, a Notify(), or the poll interval.
    lock.unlock();
    auto next_due = inbox_.NextDueMs();
    const int64_t now = clock_.NowMs();
    lock.lock();
    int64_t wait_ms = options_.poll_interval.count();
    if (next_due.ok() && next_due->has_value()) {
      wait_ms = std::clamp<int64_t>(**next_due - now, 0, wait_ms);
    }
    for (const auto& [at_ms, attempt] : unrecorded_) wait_ms = std::min(wait_ms, std::max<int64_t>(at_ms - now, 1));
    if (wait_ms == 0 || notified_) continue;
    scheduler_waiting_ = true;
    idle_cv_.notify_all();
    scheduler_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                           [this] { return stopping_ || notified_; });
    scheduler_waiting_ = false;
  }
}

// ---- workers

bool Dispatcher::Impl::WorkersMissingLocked() const {
  return started_ && !workers_stop_ && static_cast<int>(queue_.size()) > idle_workers_ &&
         static_cast<int>(workers_.size()) < options_.threads;
}

Status Dispatcher::Impl::AddWorkersLocked() {
  // Stop() joins workers_ once workers_stop_ is set: no worker may be added after that.
  while (WorkersMissingLocked()) {
    ++idle_workers_;  // until it has looked at the queue
    try {
      workers_.emplace_back([this] {
        NameThisThread("dispatch");
        WorkerLoop();
      });
    } catch (const std::system_error& e) {
      --idle_workers_;
      return Unavailable("dispatcher: cannot start a worker thread (" + std::to_string(workers_.size()) +
                         " running): " + e.what());
    }
  }
  return Status::Ok();
}

void Dispatcher::Impl::WorkerLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    worker_cv_.wait(lock, [this] { return workers_stop_ || !queue_.empty(); });
    --idle_workers_;
    if (queue_.empty()) return;  // stopping, and everything accepted has run
    Task task = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    RunTask(task);
    lock.lock();
    --running_;
    ++idle_workers_;
    scheduler_cv_.notify_one();  // a slot is free
    idle_cv_.notify_all();
  }
}

DispatchResult Dispatcher::Impl::ResultOfUnclaimable(const std::string& app_id,
                                                     const std::string& msg_id) {
  auto stored = inbox_.Get(app_id, msg_id);
  if (!stored.ok()) {
    return MakeResult(DispatchResult::Kind::kRetry, "cannot read the message from the inbox: " +
                                                    stored.status().ToString());
  }
  if (!stored->has_value()) {
    return MakeResult(DispatchResult::Kind::kRetry,
                  "message " + msg_id + " of app " + app_id + " is not in the inbox");
  }
  const StoredMessage& m = **stored;
  switch (m.state) {
    case MessageState::kDone: return MakeResult(DispatchResult::Kind::kDone, "");
    case MessageState::kDead: return MakeResult(DispatchResult::Kind::kDead, m.last_error);
    case MessageState::kUnhandled: return MakeResult(DispatchResult::Kind::kUnhandled, m.last_error);
    case MessageState::kInFlight:
      return MakeResult(DispatchResult::Kind::kRetry, "message " + msg_id + " is being handled");
    case MessageState::kPending: break;
  }
  return MakeResult(DispatchResult::Kind::kRetry, "message " + msg_id + " could not be claimed");
}

struct Dispatcher::Impl::Attempt {
  StoredMessage message;
  int record_failures = 0;  // commits of this result that failed (storage faults), retried
  DispatchResult result;
  std::vector<std::function<Status(InboxTransaction&)>> effects;
  std::optional<Status> effect_error;
  std::function<Status(InboxTransaction&)> run_effects;  // the effects, run in the result's transaction
  bool handled = false;  // the handler ran (vs. unhandled / interrupted too often)
  std::function<void(DispatchResult)> done;
};

void Dispatcher::Impl::RunTask(Task& task) {
  std::optional<StoredMessage> message = std::move(task.claimed);
  if (!message) {
    auto claimed = inbox_.ClaimOne(task.app_id, task.msg_id, clock_.NowMs());
    if (!claimed.ok()) {
      Status error = claimed.status().WithContext("dispatcher: claiming message " + task.msg_id);
      ReportError(error);
      if (task.done) task.done(MakeResult(DispatchResult::Kind::kRetry, error.ToString()));
      return;
    }
    if (!claimed->has_value()) {
      {
        // Claimed by this dispatcher meanwhile (the scheduler, a store): answered with that result.
        std::lock_guard lock(mu_);
        if (auto held = held_.find(HeldKey(task.app_id, task.msg_id)); held != held_.end()) {
          held->second.push_back(std::move(task.done));
          return;
        }
      }
      if (task.done) task.done(ResultOfUnclaimable(task.app_id, task.msg_id));
      return;
    }
    message = std::move(**claimed);
    std::lock_guard lock(mu_);
    held_.try_emplace(HeldKey(message->message));  // a redelivery's DispatchNow waits for this result
  }
  std::shared_ptr<Attempt> attempt = RunHandler(std::move(*message));
  attempt->done = std::move(task.done);
  Record(std::move(attempt));
}

DispatchResult Dispatcher::Impl::RetryOrDead(int attempt, const std::string& reason,
                                             std::optional<std::chrono::milliseconds> delay,
                                             int64_t now_ms) {
  if (attempt >= options_.max_attempts) {
    return MakeResult(DispatchResult::Kind::kDead,
                      "gave up after " + std::to_string(attempt) + " attempts: " + reason);
  }
  const int64_t wait = delay ? std::max<int64_t>(delay->count(), 0) : Backoff(attempt).count();
  return MakeResult(DispatchResult::Kind::kRetry, reason, now_ms + wait);
}

std::shared_ptr<Dispatcher::Impl::Attempt> Dispatcher::Impl::RunHandler(StoredMessage message) {
  auto attempt = std::make_shared<Attempt>();
  attempt->message = std::move(message);
  const StoredMessage& m = attempt->message;
  const Handler* handler = router_.Find(m.message.msg_api);
  if (m.attempts > options_.max_attempts) {
    // Claimed more often than allowed without a recorded result: the process died during it.
    attempt->result = MakeResult(
        DispatchResult::Kind::kDead,
        "gave up after " + std::to_string(m.attempts - 1) +
            " attempts, the last ones interrupted (the process stopped while handling it)" +
            (m.last_error.empty() ? "" : ": " + m.last_error));
    return attempt;
  }
  if (handler == nullptr) {
    attempt->result = MakeResult(DispatchResult::Kind::kUnhandled,
                                 "no handler for msgApi \"" + m.message.msg_api +
                                     "\" (register one, or a default \"*\", then replay)");
    return attempt;
  }
  MessageView view(m);
  std::optional<HandlerOutcome> outcome;
  try {
    outcome = (*handler)(view);
  } catch (const std::exception& e) {
    outcome = HandlerOutcome::RetryLater(std::string("handler threw: ") + e.what());
  } catch (...) {
    outcome = HandlerOutcome::RetryLater("handler threw a non-standard exception");
  }
  attempt->handled = true;
  switch (outcome->kind()) {
    case HandlerOutcome::Kind::kDone:
      attempt->result = MakeResult(DispatchResult::Kind::kDone, "");
      attempt->effects = std::move(view.effects_);
      break;
    case HandlerOutcome::Kind::kRetryLater:
      attempt->result = RetryOrDead(
          m.attempts,
          outcome->reason().empty() ? "handler asked to retry later" : outcome->reason(),
          outcome->delay(), clock_.NowMs());
      break;
    case HandlerOutcome::Kind::kReject:
      attempt->result =
          MakeResult(DispatchResult::Kind::kDead, "rejected by handler: " + outcome->reason());
      break;
  }
  return attempt;
}

// Hands the result (and the handler's effects) to the inbox without waiting for the commit, so that
// the results of many handlers share one; a worker waits only when too many are still uncommitted.
void Dispatcher::Impl::Record(std::shared_ptr<Attempt> attempt) {
  constexpr int kMaxAwaitingCommit = 1024;
  {
    std::unique_lock lock(mu_);
    committed_cv_.wait(lock, [this] { return awaiting_commit_ < kMaxAwaitingCommit; });
    ++awaiting_commit_;
    if (attempt->handled) ++stats_.handled;
  }
  std::function<Status(InboxTransaction&)> run_effects;
  if (!attempt->effects.empty()) {
    // Weak: this function is stored in the attempt itself (for a record again after a storage
    // fault); a strong capture would keep every attempt alive forever. The inbox calls it before
    // the completion callback, which holds the attempt.
    run_effects = [weak = std::weak_ptr<Attempt>(attempt)](InboxTransaction& tx) -> Status {
      const std::shared_ptr<Attempt> attempt = weak.lock();
      if (!attempt) return Internal("dispatcher: the attempt is gone before its effects ran");
      for (auto& effect : attempt->effects) {
        Status status;
        try {
          status = effect(tx);
        } catch (const std::exception& e) {
          status = Internal(std::string("threw: ") + e.what());
        } catch (...) {
          status = Internal("threw a non-standard exception");
        }
        if (!status.ok()) {
          attempt->effect_error = status;
          return status;
        }
      }
      return Status::Ok();
    };
  }
  attempt->run_effects = std::move(run_effects);
  RecordInInbox(attempt);
}

void Dispatcher::Impl::RecordInInbox(const std::shared_ptr<Attempt>& attempt) {
  const StoredMessage& m = attempt->message;
  inbox_.CompleteAsync(m.message.app_id, m.message.msg_id, attempt->result, clock_.NowMs(),
                       attempt->run_effects,
                       [this, attempt](Status status) { OnRecorded(attempt, status); });
}

void Dispatcher::Impl::OnRecorded(const std::shared_ptr<Attempt>& attempt, const Status& status) {
  const StoredMessage& m = attempt->message;
  if (!status.ok() && attempt->effect_error && !attempt->effects.empty()) {
    // The effects and "done" rolled back together: this attempt failed; record that instead.
    attempt->effects.clear();
    attempt->run_effects = nullptr;
    attempt->result = RetryOrDead(
        m.attempts, "handler's transactional effect failed: " + attempt->effect_error->ToString(),
        std::nullopt, clock_.NowMs());
    RecordInInbox(attempt);
    return;
  }
  DispatchResult result = attempt->result;
  if (!status.ok()) {
    ++attempt->record_failures;
    Status error = status.WithContext("dispatcher: recording the result of message " + m.message.msg_id +
                                      " (attempt " + std::to_string(attempt->record_failures) + ")");
    // A storage fault (disk full, I/O error) heals: the same result, effects included, is recorded
    // again until it commits, so the message neither waits in flight for a restart nor runs twice.
    // Reported on the first failure and then every tenth, not on every retry.
    // Only faults of the store itself (kIoError; kUnavailable: busy, closed); not a refusal of this
    // result (the message is absent or no longer in flight), which no retry changes.
    bool retry = status.code() == StatusCode::kIoError || status.code() == StatusCode::kUnavailable;
    {
      std::lock_guard lock(mu_);
      retry = retry && !stopping_;
      if (retry) {
        const int64_t delay_ms =
            CappedExponential(options_.record_retry_initial, 2.0, options_.record_retry_max, attempt->record_failures)
                .count();
        unrecorded_.push_back({clock_.NowMs() + delay_ms, attempt});
      }
    }
    if (attempt->record_failures % 10 == 1) {
      ReportError(error);
    } else {
      std::lock_guard lock(mu_);
      ++stats_.errors;
    }
    if (retry) {
      scheduler_cv_.notify_one();
      return;  // still awaiting its commit
    }
    // Stopping: it stays in flight until the next open turns it back to pending; it runs again.
    result = MakeResult(DispatchResult::Kind::kRetry, error.ToString());
  } else {
    std::lock_guard lock(mu_);
    switch (result.kind) {
      case DispatchResult::Kind::kDone: ++stats_.done; break;
      case DispatchResult::Kind::kRetry: ++stats_.retried; break;
      case DispatchResult::Kind::kDead: ++stats_.dead; break;
      case DispatchResult::Kind::kUnhandled: ++stats_.unhandled; break;
    }
  }
  if (status.ok() && result.kind == DispatchResult::Kind::kRetry) Notify();  // may be due soon
  std::vector<std::function<void(DispatchResult)>> followers;
  {
    // No longer held before anyone hears the result: a DispatchNow made after it claims anew.
    std::lock_guard lock(mu_);
    if (auto held = held_.find(HeldKey(m.message)); held != held_.end()) {
      followers = std::move(held->second);
      held_.erase(held);
    }
  }
  if (options_.on_result) options_.on_result(m, result);
  if (attempt->done) attempt->done(result);
  for (auto& follower : followers) {
    if (follower) follower(result);
  }
  // Notified under the lock: once awaiting_commit_ reaches 0, Stop() may return and the dispatcher
  // be destroyed, so nothing of `this` may be touched after the unlock.
  std::lock_guard lock(mu_);
  --awaiting_commit_;
  committed_cv_.notify_all();
  idle_cv_.notify_all();
}

Dispatcher::Dispatcher(Inbox& inbox, Router router, DispatcherOptions options)
    : impl_(std::make_unique<Impl>(inbox, std::move(router), std::move(options))) {}
Dispatcher::~Dispatcher() { impl_->Stop(); }
Status Dispatcher::Start() { return impl_->Start(); }
void Dispatcher::Notify() { impl_->Notify(); }
bool Dispatcher::ClaimsOnStore() const { return impl_->ClaimsOnStore(); }
void Dispatcher::DispatchNow(const StoredMessage& message, std::function<void(DispatchResult)> done) {
  impl_->DispatchNow(message, std::move(done));
}
void Dispatcher::Stop() { impl_->Stop(); }
bool Dispatcher::WaitIdle(std::chrono::milliseconds timeout) { return impl_->WaitIdle(timeout); }
DispatcherStats Dispatcher::Stats() const { return impl_->Stats(); }
std::chrono::milliseconds Dispatcher::Backoff(int attempt) { return impl_->Backoff(attempt); }

}  // namespace alipaymsg
