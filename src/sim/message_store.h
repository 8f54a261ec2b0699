// The simulator's messages and their redelivery, as plain state: no sockets, no clock of its own
// (callers pass `now`), so tests drive every path directly.
//
// Simulator assumption (Alipay does not document this): all live connections of one app_id share
// that app's messages; each delivery goes to exactly one live connection. A message that is not
// acked SUCCESS is delivered again on the schedule (FAIL and no ack alike); one whose connection is
// lost before its ack is delivered again right away to the next live connection of the app.
// Deliveries only happen while the app has a connection: a message waits (without using up its
// schedule) while the app is offline.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "alipaymsg/status.h"
#include "sim/latency.h"
#include "sim/schedule.h"

namespace alipaymsg::sim {

enum class MessageState { kPending, kAcked, kFailed, kGivenUp };
std::string_view ToString(MessageState state);

// What a CONSUME carries. Shared by every message with the same data text, so it is signed once
// (the signature does not cover x-msgId). Signatures are filled in by whoever signs (the hub).
struct Payload {
  std::string app_id;
  std::string msg_api;
  std::string data;      // the exact embedded and signed `data` text
  std::string sign_rsa2; // lazily: base64 SHA256withRSA over data
  std::string sign_rsa;  // lazily: base64 SHA1withRSA over data (clients registered with RSA)
};

struct DeliveryRecord {
  int64_t at_ms = 0;
  int64_t at_us = 0;  // the same moment in Unix µs (the frame was queued for sending)
  uint64_t connection = 0;
  std::string stream_id;
  bool bad_signature = false;  // fault injection: signed wrongly on purpose
  bool duplicated = false;     // fault injection: the frame was sent twice
};

struct AckRecord {
  int64_t at_ms = 0;
  int64_t at_us = 0;  // the same moment in Unix µs (the ack was read)
  uint64_t connection = 0;
  bool success = false;
  bool late = false;  // held back by the slow_ack_window fault and applied afterwards
};

struct Message {
  uint64_t seq = 0;
  std::string msg_id;
  std::shared_ptr<Payload> payload;
  MessageState state = MessageState::kPending;
  int delivered = 0;  // deliveries made (a duplicated frame counts once)
  int64_t created_ms = 0;
  int64_t next_at_ms = -1;  // next redelivery or give-up check; -1 when none is scheduled
  uint64_t inflight_connection = 0;  // connection of the last delivery while no ack came back
  uint32_t generation = 0;          // invalidates stale queue and timer entries
  std::vector<DeliveryRecord> deliveries;
  std::vector<AckRecord> acks;

  bool finished() const { return state == MessageState::kAcked || state == MessageState::kGivenUp; }
};

struct StoreCounters {
  uint64_t messages = 0;
  uint64_t deliveries = 0;  // frames sent, duplicates included
  uint64_t redelivered = 0;  // deliveries after the first
  uint64_t acks_success = 0;
  uint64_t acks_fail = 0;
  uint64_t acks_unknown = 0;  // for no known message (or another app's)
  uint64_t acked = 0;         // messages that reached kAcked
  uint64_t given_up = 0;
};

enum class AckOutcome { kAcked, kFailed, kGivenUp, kAlreadyFinished, kUnknownMessage, kWrongApp };

class MessageStore {
 public:
  // Finished (acked / given up) messages beyond `max_finished_retained` are forgotten, oldest first.
  MessageStore(RedeliverySchedule schedule, size_t max_finished_retained);

  // A new message, deliverable after the schedule's first delay. kInvalidArgument when msg_id is taken.
  Result<Message*> Add(std::string msg_id, std::shared_ptr<Payload> payload, int64_t now_ms);
  Message* Find(std::string_view msg_id);

  // The app's next message due for delivery (FIFO), or nullptr.
  Message* PopReady(const std::string& app_id);
  // Puts a popped message back at the front (no connection could take it).
  void Unpop(Message& message);
  bool HasReady(const std::string& app_id) const;

  // `now_us`: the same moment in µs (-1: now_ms * 1000).
  void MarkDelivered(Message& message, uint64_t connection, std::string stream_id, int64_t now_ms,
                     bool bad_signature = false, bool duplicated = false, int64_t now_us = -1);
  // A timely ack (not `late`) of a delivered message adds now_us − its last delivery's at_us to
  // ack_latency().
  AckOutcome OnAck(std::string_view msg_id, const std::string& app_id, uint64_t connection,
                   bool success, int64_t now_ms, bool late = false, int64_t now_us = -1);
  // Unacked deliveries on the lost connection become due now. Returns the apps concerned.
  std::vector<std::string> OnConnectionLost(uint64_t connection, int64_t now_ms);
  // Fires due timers: redeliveries become ready, exhausted messages are given up.
  // Returns the apps that have new ready messages.
  std::vector<std::string> Advance(int64_t now_ms);
  // When Advance next has work; max() when nothing is scheduled.
  int64_t NextDueMs();

  size_t InflightCount(uint64_t connection) const;
  size_t size() const { return by_seq_.size(); }
  size_t unfinished() const { return unfinished_; }
  const StoreCounters& counters() const { return counters_; }
  const LatencyHistogram& ack_latency() const { return ack_latency_; }
  void ResetAckLatency() { ack_latency_.Reset(); }
  const RedeliverySchedule& schedule() const { return schedule_; }

 private:
  struct Timer {
    int64_t at_ms;
    uint64_t seq;
    uint32_t generation;
    bool operator>(const Timer& o) const { return at_ms != o.at_ms ? at_ms > o.at_ms : seq > o.seq; }
  };
  using QueueEntry = std::pair<uint64_t, uint32_t>;  // seq, generation

  Message* Lookup(uint64_t seq);
  void MakeReady(Message& message);
  void Schedule(Message& message, int64_t at_ms);
  void ClearInflight(Message& message);
  void Finish(Message& message, MessageState state);

  RedeliverySchedule schedule_;
  size_t max_finished_retained_;
  uint64_t next_seq_ = 1;
  size_t unfinished_ = 0;
  std::unordered_map<uint64_t, Message> by_seq_;
  std::unordered_map<std::string, uint64_t> by_id_;
  std::unordered_map<std::string, std::deque<QueueEntry>> ready_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::unordered_map<uint64_t, std::unordered_set<uint64_t>> inflight_;  // connection -> seqs
  std::deque<uint64_t> finished_order_;
  StoreCounters counters_;
  LatencyHistogram ack_latency_;
};

}  // namespace alipaymsg::sim
