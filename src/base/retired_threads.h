// Worker threads that leave after a quiet spell, so that a pool started by a burst does not keep
// threads the work no longer needs (the dispatcher's workers, the client's verify pool). A thread
// cannot join itself: the retiring one moves its own std::thread here under the pool's lock, and
// whoever takes the lock next joins it outside the lock (it has returned, or is about to).
#pragma once

#include <thread>
#include <vector>

namespace alipaymsg {

class RetiredThreads {
 public:
  // From the retiring thread, under the pool's lock: moves it from `live` to here.
  void Retire(std::vector<std::thread>& live);
  // Under the pool's lock: the retired threads, to be joined once the lock is released.
  std::vector<std::thread> Take();
  bool empty() const { return retired_.empty(); }

 private:
  std::vector<std::thread> retired_;
};

// Joins what Take() returned. Not under the pool's lock.
void JoinAll(std::vector<std::thread>& threads);

}  // namespace alipaymsg
