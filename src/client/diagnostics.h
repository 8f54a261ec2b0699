// The queryable side of a connection: its state, its last error and its counters, readable from any
// thread while the io thread updates them. Pure logic (a mutex, no sockets).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "alipaymsg/client.h"

namespace alipaymsg::client {

class Diagnostics {
 public:
  explicit Diagnostics(std::string app_id) { stats_.app_id = std::move(app_id); }

  void SetState(ConnectionState state, int64_t now_ms);
  ConnectionState state() const;
  // Records what went wrong (a message naming the cause; never key material).
  void SetError(std::string error, int64_t now_ms);
  void SetNextAttemptIn(int64_t ms);

  // Applies `update` to the counters under the lock.
  template <class F>
  void Update(F&& update) {
    std::lock_guard lock(mutex_);
    update(stats_);
  }

  ConnectionStats Snapshot() const;

 private:
  mutable std::mutex mutex_;
  ConnectionStats stats_;
};

}  // namespace alipaymsg::client
