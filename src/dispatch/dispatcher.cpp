#include "alipaymsg/dispatcher.h"

#include "base/backoff.h"
#include "base/thread_name.h"
#include "dispatch/dispatcher_impl.h"

namespace alipaymsg {

using dispatch::HeldKey;
using dispatch::MakeResult;

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
  // Unlocked: with workers_stop_ set, no worker retires and none starts, so workers_ stays as is.
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  std::vector<std::thread> retired;
  {
    std::lock_guard lock(mu_);
    retired = retired_.Take();
  }
  JoinAll(retired);
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
    if (!retired_.empty()) {
      std::vector<std::thread> retired = retired_.Take();
      lock.unlock();
      JoinAll(retired);
      lock.lock();
      continue;
    }
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
    const bool woken = worker_cv_.wait_for(lock, options_.worker_idle_exit,
                                           [this] { return workers_stop_ || !queue_.empty(); });
    --idle_workers_;
    if (!woken) {  // quiet for worker_idle_exit: leave; the next message starts a worker again
      retired_.Retire(workers_);
      scheduler_cv_.notify_one();  // to join it
      return;
    }
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
