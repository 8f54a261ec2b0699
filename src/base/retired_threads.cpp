#include "base/retired_threads.h"

#include <algorithm>
#include <utility>

namespace alipaymsg {

void RetiredThreads::Retire(std::vector<std::thread>& live) {
  const auto self = std::find_if(live.begin(), live.end(),
                                 [](const std::thread& t) { return t.get_id() == std::this_thread::get_id(); });
  if (self == live.end()) return;  // not one of the pool's threads: nothing to hand over
  retired_.push_back(std::move(*self));
  live.erase(self);
}

std::vector<std::thread> RetiredThreads::Take() { return std::exchange(retired_, {}); }

void JoinAll(std::vector<std::thread>& threads) {
  for (std::thread& t : threads) {
    if (t.joinable()) t.join();
  }
  threads.clear();
}

}  // namespace alipaymsg
