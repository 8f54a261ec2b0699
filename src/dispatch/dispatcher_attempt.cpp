// One dispatch attempt: the handler's call (or why there is none) and its result recorded in the
// inbox, with the effects the handler left, again after a storage fault. The scheduler and the
// workers are in dispatcher.cpp.
#include "base/backoff.h"
#include "dispatch/dispatcher_impl.h"

namespace alipaymsg {

using dispatch::HeldKey;
using dispatch::MakeResult;

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

}  // namespace alipaymsg
