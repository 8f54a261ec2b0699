#include "client/bookkeeping.h"

#include <utility>

namespace alipaymsg::client {

Status PendingSends::Add(const std::string& stream_id, SendCallback&& done) {
  if (waiting_.size() >= limit_)
    return Unavailable("too many PRODUCEs awaiting their ack (limit " + std::to_string(limit_) + ")");
  if (waiting_.count(stream_id) != 0)
    return InvalidArgument("stream-id " + stream_id + " is already awaiting an ack");
  waiting_.emplace(stream_id, std::move(done));
  return Status::Ok();
}

std::optional<SendCallback> PendingSends::Take(const std::string& stream_id) {
  auto it = waiting_.find(stream_id);
  if (it == waiting_.end()) return std::nullopt;
  SendCallback done = std::move(it->second);
  waiting_.erase(it);
  return done;
}

std::vector<SendCallback> PendingSends::TakeAll() {
  std::vector<SendCallback> all;
  all.reserve(waiting_.size());
  for (auto& [id, done] : waiting_) all.push_back(std::move(done));
  waiting_.clear();
  return all;
}

}  // namespace alipaymsg::client
