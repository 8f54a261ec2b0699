#include "sim/message_store.h"

#include <algorithm>

namespace alipaymsg::sim {

std::string_view ToString(MessageState state) {
  switch (state) {
    case MessageState::kPending: return "pending";
    case MessageState::kAcked: return "acked";
    case MessageState::kFailed: return "failed";
    case MessageState::kGivenUp: return "given_up";
  }
  return "unknown";
}

MessageStore::MessageStore(RedeliverySchedule schedule, size_t max_finished_retained)
    : schedule_(std::move(schedule)), max_finished_retained_(max_finished_retained) {}

Result<Message*> MessageStore::Add(std::string msg_id, std::shared_ptr<Payload> payload, int64_t now_ms) {
  if (by_id_.count(msg_id) != 0) return InvalidArgument("msg_id '" + msg_id + "' already exists");
  uint64_t seq = next_seq_++;
  Message& message = by_seq_[seq];
  message.seq = seq;
  message.msg_id = std::move(msg_id);
  message.payload = std::move(payload);
  message.created_ms = now_ms;
  by_id_.emplace(message.msg_id, seq);
  ++unfinished_;
  ++counters_.messages;
  int64_t first_delay = schedule_.delays_ms().empty() ? 0 : schedule_.delays_ms().front();
  if (first_delay <= 0) {
    MakeReady(message);
  } else {
    Schedule(message, now_ms + first_delay);
  }
  return &message;
}

Message* MessageStore::Lookup(uint64_t seq) {
  auto it = by_seq_.find(seq);
  return it == by_seq_.end() ? nullptr : &it->second;
}

Message* MessageStore::Find(std::string_view msg_id) {
  auto it = by_id_.find(std::string(msg_id));
  return it == by_id_.end() ? nullptr : Lookup(it->second);
}

Message* MessageStore::PopReady(const std::string& app_id) {
  auto it = ready_.find(app_id);
  if (it == ready_.end()) return nullptr;
  auto& queue = it->second;
  while (!queue.empty()) {
    auto [seq, generation] = queue.front();
    queue.pop_front();
    Message* message = Lookup(seq);
    if (message != nullptr && !message->finished() && message->generation == generation) return message;
  }
  return nullptr;
}

void MessageStore::Unpop(Message& message) {
  ready_[message.payload->app_id].emplace_front(message.seq, message.generation);
}

bool MessageStore::HasReady(const std::string& app_id) const {
  auto it = ready_.find(app_id);
  return it != ready_.end() && !it->second.empty();
}

void MessageStore::MakeReady(Message& message) {
  ClearInflight(message);
  ++message.generation;
  message.next_at_ms = -1;
  ready_[message.payload->app_id].emplace_back(message.seq, message.generation);
}

void MessageStore::Schedule(Message& message, int64_t at_ms) {
  message.next_at_ms = at_ms;
  timers_.push(Timer{at_ms, message.seq, message.generation});
}

void MessageStore::ClearInflight(Message& message) {
  if (message.inflight_connection == 0) return;
  auto it = inflight_.find(message.inflight_connection);
  if (it != inflight_.end()) {
    it->second.erase(message.seq);
    if (it->second.empty()) inflight_.erase(it);
  }
  message.inflight_connection = 0;
}

void MessageStore::Finish(Message& message, MessageState state) {
  ClearInflight(message);
  message.state = state;
  ++message.generation;
  message.next_at_ms = -1;
  --unfinished_;
  if (state == MessageState::kAcked) ++counters_.acked;
  if (state == MessageState::kGivenUp) ++counters_.given_up;
  finished_order_.push_back(message.seq);
  while (finished_order_.size() > max_finished_retained_) {
    uint64_t old = finished_order_.front();
    finished_order_.pop_front();
    auto it = by_seq_.find(old);
    if (it != by_seq_.end() && it->second.finished()) {
      by_id_.erase(it->second.msg_id);
      by_seq_.erase(it);
    }
  }
}

void MessageStore::MarkDelivered(Message& message, uint64_t connection, std::string stream_id,
                                 int64_t now_ms, bool bad_signature, bool duplicated, int64_t now_us) {
  ClearInflight(message);
  ++message.delivered;
  ++message.generation;
  counters_.deliveries += duplicated ? 2 : 1;
  if (message.delivered > 1) ++counters_.redelivered;
  message.deliveries.push_back(DeliveryRecord{now_ms, now_us < 0 ? now_ms * 1000 : now_us, connection,
                                              std::move(stream_id), bad_signature, duplicated});
  message.inflight_connection = connection;
  inflight_[connection].insert(message.seq);
  Schedule(message, now_ms + schedule_.WaitAfterDelivery(message.delivered));
}

AckOutcome MessageStore::OnAck(std::string_view msg_id, const std::string& app_id, uint64_t connection,
                               bool success, int64_t now_ms, bool late, int64_t now_us) {
  Message* message = Find(msg_id);
  if (message == nullptr) {
    ++counters_.acks_unknown;
    return AckOutcome::kUnknownMessage;
  }
  if (message->payload->app_id != app_id) {
    ++counters_.acks_unknown;
    return AckOutcome::kWrongApp;
  }
  ++(success ? counters_.acks_success : counters_.acks_fail);
  if (now_us < 0) now_us = now_ms * 1000;
  message->acks.push_back(AckRecord{now_ms, now_us, connection, success, late});
  if (!late && !message->deliveries.empty()) ack_latency_.Record(now_us - message->deliveries.back().at_us);
  if (message->finished()) return AckOutcome::kAlreadyFinished;
  if (success) {
    Finish(*message, MessageState::kAcked);
    return AckOutcome::kAcked;
  }
  message->state = MessageState::kFailed;
  if (message->inflight_connection == connection) ClearInflight(*message);
  if (message->delivered >= schedule_.max_deliveries()) {
    Finish(*message, MessageState::kGivenUp);
    return AckOutcome::kGivenUp;
  }
  return AckOutcome::kFailed;  // the timer set at delivery brings it back
}

std::vector<std::string> MessageStore::OnConnectionLost(uint64_t connection, int64_t now_ms) {
  (void)now_ms;
  std::vector<std::string> apps;
  auto it = inflight_.find(connection);
  if (it == inflight_.end()) return apps;
  std::vector<uint64_t> seqs(it->second.begin(), it->second.end());
  inflight_.erase(it);
  std::sort(seqs.begin(), seqs.end());  // keep the original order for the next connection
  for (uint64_t seq : seqs) {
    Message* message = Lookup(seq);
    if (message == nullptr || message->finished() || message->inflight_connection != connection) continue;
    message->inflight_connection = 0;
    if (message->delivered >= schedule_.max_deliveries()) {
      Finish(*message, MessageState::kGivenUp);
      continue;
    }
    MakeReady(*message);
    if (apps.empty() || apps.back() != message->payload->app_id) apps.push_back(message->payload->app_id);
  }
  return apps;
}

std::vector<std::string> MessageStore::Advance(int64_t now_ms) {
  std::vector<std::string> apps;
  while (!timers_.empty() && timers_.top().at_ms <= now_ms) {
    Timer timer = timers_.top();
    timers_.pop();
    Message* message = Lookup(timer.seq);
    if (message == nullptr || message->finished() || message->generation != timer.generation) continue;
    if (message->delivered >= schedule_.max_deliveries()) {
      Finish(*message, MessageState::kGivenUp);
      continue;
    }
    MakeReady(*message);
    const std::string& app = message->payload->app_id;
    bool seen = false;
    for (const auto& a : apps) seen = seen || a == app;
    if (!seen) apps.push_back(app);
  }
  return apps;
}

int64_t MessageStore::NextDueMs() {
  while (!timers_.empty()) {
    const Timer& top = timers_.top();
    Message* message = Lookup(top.seq);
    if (message != nullptr && !message->finished() && message->generation == top.generation) return top.at_ms;
    timers_.pop();  // stale
  }
  return std::numeric_limits<int64_t>::max();
}

size_t MessageStore::InflightCount(uint64_t connection) const {
  auto it = inflight_.find(connection);
  return it == inflight_.end() ? 0 : it->second.size();
}

}  // namespace alipaymsg::sim
