#include "client/work_pool.h"

#include <system_error>
#include <utility>

#include "base/thread_name.h"

namespace alipaymsg::client {

WorkPool::WorkPool(int threads, std::string name, std::chrono::milliseconds idle_exit)
    : threads_(threads < 1 ? 1 : threads), name_(std::move(name)), idle_exit_(idle_exit) {}

WorkPool::~WorkPool() { Shutdown(); }

void WorkPool::Submit(std::function<void()> job) {
  std::vector<std::thread> retired;
  bool no_worker = false;
  {
    std::lock_guard lock(mutex_);
    if (!retired_.empty()) retired = retired_.Take();
    no_worker = shut_down_;
    // Lazily up to threads_ workers: one more whenever work arrives and no worker is idle.
    if (!shut_down_ && idle_ == 0 && workers_.size() < static_cast<size_t>(threads_)) {
      try {
        workers_.emplace_back([this] {
          NameThisThread(name_);
          Work();
        });
        ++started_;
      } catch (const std::system_error&) {
        no_worker = workers_.empty();  // the running workers take it; with none, the caller runs it
      }
    }
    if (!no_worker) {
      queue_.push_back(std::move(job));
      wake_.notify_one();
    }
  }
  JoinAll(retired);  // they have left already, or are about to
  if (no_worker) job();
}

void WorkPool::Work() {
  std::unique_lock lock(mutex_);
  while (true) {
    ++idle_;
    const bool woken = wake_.wait_for(lock, idle_exit_, [this] { return shut_down_ || !queue_.empty(); });
    --idle_;
    if (!woken) {  // nothing for idle_exit_: leave; the next Submit starts a worker again
      retired_.Retire(workers_);
      return;
    }
    if (queue_.empty()) return;  // shut down and nothing left
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // release captures (sessions, links) before waiting again
    lock.lock();
  }
}

void WorkPool::Shutdown() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    workers.swap(workers_);
    std::vector<std::thread> retired = retired_.Take();
    for (auto& t : retired) workers.push_back(std::move(t));
  }
  wake_.notify_all();
  for (auto& worker : workers) worker.join();
  // Jobs queued with no worker left to run them (none started, or a race with the last one).
  std::deque<std::function<void()>> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
  }
  for (auto& job : left) job();
}

size_t WorkPool::started() const {
  std::lock_guard lock(mutex_);
  return started_;
}

size_t WorkPool::live() const {
  std::lock_guard lock(mutex_);
  return workers_.size();
}

}  // namespace alipaymsg::client
