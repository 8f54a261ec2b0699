// A small pool of worker threads for the per-CONSUME CPU work (frame parse, §9.2 extraction, RSA2
// verification), so the io thread only moves frames. Pure logic: no sockets, no Asio.
//
// Unbounded by itself on purpose: every job is a frame the session already counts as in flight,
// and a session stops reading at max_in_flight, so the queue never holds more than the sum of the
// sessions' limits. Threads start on the first Submit (an idle client costs no stacks or arenas) and
// leave after `idle_exit` without a job (a burst does not leave them behind).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "base/retired_threads.h"

namespace alipaymsg::client {

class WorkPool {
 public:
  // At least 1 thread; `name` names them (top -H, perf).
  explicit WorkPool(int threads, std::string name = "worker",
                    std::chrono::milliseconds idle_exit = std::chrono::seconds(10));
  // Shutdown().
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Runs `job` on a worker. After Shutdown() the job runs at once on the caller's thread (nothing
  // handed over is ever dropped).
  void Submit(std::function<void()> job);

  // Runs every job already submitted, then joins the workers. Not from a worker thread.
  void Shutdown();

  int threads() const { return threads_; }
  // Workers started so far (0 until the first Submit; more than threads() once some left and others
  // started again).
  size_t started() const;
  // Workers running now (at most threads()).
  size_t live() const;

 private:
  void Work();

  const int threads_;
  const std::string name_;
  const std::chrono::milliseconds idle_exit_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> workers_;
  RetiredThreads retired_;  // left after idle_exit_; joined by the next Submit or Shutdown
  size_t idle_ = 0;     // workers waiting for a job
  size_t started_ = 0;  // workers ever started
  bool shut_down_ = false;
};

}  // namespace alipaymsg::client
