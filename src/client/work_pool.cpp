#include "client/work_pool.h"

#include <system_error>
#include <utility>

#include "base/thread_name.h"

namespace alipaymsg::client {

WorkPool::WorkPool(int threads, std::string name) : threads_(threads < 1 ? 1 : threads), name_(std::move(name)) {}

WorkPool::~WorkPool() { Shutdown(); }

void WorkPool::Submit(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    bool no_worker = shut_down_;
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
      return;
    }
  }
  job();
}

void WorkPool::Work() {
  std::unique_lock lock(mutex_);
  while (true) {
    ++idle_;
    wake_.wait(lock, [this] { return shut_down_ || !queue_.empty(); });
    --idle_;
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

}  // namespace alipaymsg::client
