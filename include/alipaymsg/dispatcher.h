// The dispatcher: takes messages from the inbox and runs their handlers on a bounded pool, then
// records each outcome in the inbox: done, retry later (exponential backoff with jitter), dead after
// max_attempts (with the reason), or unhandled when no handler matches.
//
//   Dispatcher dispatcher(*inbox, std::move(router), options);
//   dispatcher.Start();
//   ... client: after each committed store, dispatcher.Notify() (unless dispatcher.ClaimsOnStore());
//   dispatcher.Stop();   // finishes what is running, then returns
//
// Exactly-once: a message is claimed (in_flight) before its handler runs and its result, with the
// handler's InTransaction effects, commits in one inbox transaction. If the process dies between the
// claim and that commit, the message is pending again at the next open and runs again; so a handler
// whose effects go through InTransaction takes effect exactly once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "alipaymsg/clock.h"
#include "alipaymsg/inbox.h"
#include "alipaymsg/router.h"
#include "alipaymsg/status.h"

namespace alipaymsg {

struct DispatcherOptions {
  int threads = 4;                 // handlers running at once, at most
  // Messages claimed ahead of the workers, so that a worker never waits for a claim to commit and
  // results share commits. Stop() still runs them.
  int prefetch = 64;
  int max_attempts = 8;            // a message still failing after this many attempts goes dead
  std::chrono::milliseconds initial_backoff{1000};  // delay after the first failed attempt
  std::chrono::milliseconds max_backoff{std::chrono::minutes(10)};
  double backoff_multiplier = 2.0;
  double jitter = 0.2;             // each delay is scaled by a random factor in [1 - jitter, 1]
  // Upper bound on sleeping when nothing is known to be due: picks up changes made behind the
  // dispatcher's back (another process replaying, a store without Notify()).
  std::chrono::milliseconds poll_interval{1000};
  // New messages are claimed by the store that writes them, when the inbox can (SqliteInbox) and the
  // dispatcher has room and no backlog: one transaction less per stored batch, and no wait for a
  // claim between the store and the handler. Off for ack mode after-handle, whose DispatchNow
  // claims each message itself.
  bool claim_on_store = true;
  const Clock* clock = nullptr;    // SystemClock::Instance() when null
  // Uniform in [0, 1), for the jitter; a randomly seeded generator when empty. Called under the
  // dispatcher's lock, so it need not be thread-safe.
  std::function<double()> random;
  // Called after each result is committed (metrics, logs), on the inbox's writer thread for a
  // SqliteInbox: keep it short.
  std::function<void(const StoredMessage&, const DispatchResult&)> on_result;
  // Called when the inbox fails under the dispatcher (it keeps going, retrying after a pause).
  std::function<void(const Status&)> on_error;
  // A result whose commit failed (disk full, I/O error) is recorded again after these delays
  // (doubling from initial up to max) until it commits; Stop() gives it one last try.
  std::chrono::milliseconds record_retry_initial{50};
  std::chrono::milliseconds record_retry_max{2000};
  // A worker with nothing to run for this long exits, and the next message starts one again: a
  // burst does not leave `threads` idle threads behind.
  std::chrono::milliseconds worker_idle_exit{10000};
};

struct DispatcherStats {
  int64_t handled = 0;     // handler calls
  int64_t done = 0;
  int64_t retried = 0;     // attempts that ended in "retry later" (exceptions included)
  int64_t dead = 0;
  int64_t unhandled = 0;
  int64_t errors = 0;      // inbox failures (see on_error)
  int running = 0;         // handlers running now
};

class Dispatcher {
 public:
  // `inbox` must outlive the dispatcher (stop the dispatcher before closing the inbox).
  Dispatcher(Inbox& inbox, Router router, DispatcherOptions options = {});
  // Stops (see Stop()).
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Starts the scheduler and the worker threads. InvalidArgument for unusable options.
  Status Start();

  // Something new may be due (a store committed, a replay happened): look now instead of at the next
  // timer. Cheap and non-blocking; safe from any thread, including the inbox's callbacks.
  void Notify();
  // True while stores hand their new messages to this dispatcher (claim_on_store, an inbox that can,
  // started and not stopped): a Notify() after each store is then unneeded.
  bool ClaimsOnStore() const;

  // Dispatches this message now, ahead of the queue, and reports its result (ack mode
  // after-handle: ack SUCCESS only on kDone). Non-blocking; `done` runs once the result is
  // committed, on the inbox's writer thread or a worker: keep it short (e.g. post the ack to your
  // io_context). A message that is not pending is not run again: done → kDone, dead → kDead,
  // unhandled → kUnhandled, already being handled, claimed ahead, or absent → kRetry with the
  // reason. Requests queue without bound here: the caller bounds how many it has outstanding (its
  // unacked messages).
  void DispatchNow(const StoredMessage& message, std::function<void(DispatchResult)> done);

  // Stops claiming, lets running and queued handlers finish and record their results, joins the
  // threads. Idempotent. DispatchNow after Stop reports kRetry ("dispatcher is stopped"). Not from
  // a handler or a callback (it would wait for itself).
  void Stop();

  // Blocks until nothing is running, queued or due now (tests, `inbox replay --wait`), or until
  // `timeout`; true when idle.
  bool WaitIdle(std::chrono::milliseconds timeout);

  DispatcherStats Stats() const;

  // The delay before the attempt after failed attempt number `attempt` (1-based), jitter included.
  std::chrono::milliseconds Backoff(int attempt);

 private:
  struct Impl;  // threads, queue and locks (dispatcher.cpp)
  std::unique_ptr<Impl> impl_;
};

}  // namespace alipaymsg
