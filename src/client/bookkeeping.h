// Per-connection bookkeeping without sockets: CONSUMEs between read and ack (backpressure and
// graceful drain), and PRODUCEs awaiting their PRODUCE_ACK (matched by stream-id, bounded).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "alipaymsg/client.h"

namespace alipaymsg::client {

// Counts CONSUMEs that were read and not yet answered. Reading pauses at the limit and stops for
// good once draining (graceful stop); the drain is complete when nothing is left in flight.
class AckBook {
 public:
  explicit AckBook(int limit) : limit_(limit < 1 ? 1 : limit) {}
  void Begin() { ++in_flight_; }
  void End() {
    if (in_flight_ > 0) --in_flight_;
  }
  void StartDraining() { draining_ = true; }
  bool draining() const { return draining_; }
  bool ShouldRead() const { return !draining_ && in_flight_ < limit_; }
  bool Paused() const { return !draining_ && in_flight_ >= limit_; }
  bool DrainComplete() const { return draining_ && in_flight_ == 0; }
  int in_flight() const { return in_flight_; }
  // A new link starts with nothing in flight (the old link's acks can no longer be sent).
  void ResetForNewLink() { in_flight_ = 0; }

 private:
  int limit_;
  int in_flight_ = 0;
  bool draining_ = false;
};

// PRODUCEs awaiting their ack.
class PendingSends {
 public:
  explicit PendingSends(int limit) : limit_(limit < 1 ? 1 : limit) {}

  // kUnavailable when `limit` sends are already waiting; kInvalidArgument for a stream-id in use.
  // `done` is moved from only on success (so the caller can still report the error through it).
  Status Add(const std::string& stream_id, SendCallback&& done);
  // The callback waiting on `stream_id` (removed), or nullopt for an unknown id.
  std::optional<SendCallback> Take(const std::string& stream_id);
  // Every waiting callback (removed), e.g. to fail them when the link is lost.
  std::vector<SendCallback> TakeAll();
  size_t size() const { return waiting_.size(); }

 private:
  size_t limit_;
  std::map<std::string, SendCallback> waiting_;
};

}  // namespace alipaymsg::client
