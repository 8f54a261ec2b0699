#include "client/producer.h"

#include <utility>

#include "protocol/frame.h"

namespace alipaymsg::client {

Producer::Producer(Strand strand, const ClientOptions& options, Diagnostics& diagnostics)
    : strand_(std::move(strand)), options_(options), diagnostics_(diagnostics), sends_(options.max_pending_sends) {}

void Producer::Refuse(SendCallback done, Status why) {
  diagnostics_.Update([](ConnectionStats& s) { ++s.produce_errors; });
  if (done) done(std::move(why));
}

bool Producer::Send(std::shared_ptr<void> owner, Link& link, const Credentials& credentials,
                    const std::string& stream_id, int64_t now_ms, const std::string& msg_api,
                    const std::string& biz, SendCallback done) {
  Result<std::string> frame = BuildProduceFrame(credentials, stream_id, now_ms, msg_api, biz);
  if (!frame.ok()) {
    Refuse(std::move(done), frame.status().WithContext("PRODUCE " + msg_api));
    return false;
  }
  Status added = sends_.Add(stream_id, std::move(done));
  if (!added.ok()) {
    Refuse(std::move(done), std::move(added));  // Add moved nothing
    return false;
  }
  auto timer = std::make_unique<asio::steady_timer>(strand_, options_.send_timeout);
  timer->async_wait([this, owner = std::move(owner), stream_id](boost::system::error_code ec) {
    if (ec) return;
    Complete(stream_id, Timeout("no PRODUCE_ACK within " + std::to_string(options_.send_timeout.count()) + " ms"));
  });
  timers_[stream_id] = std::move(timer);
  diagnostics_.Update([](ConnectionStats& s) { ++s.produce_sent; });
  link.Send(std::move(*frame));
  return true;
}

bool Producer::Complete(const std::string& stream_id, Result<SendResult> result) {
  std::optional<SendCallback> done = sends_.Take(stream_id);
  if (!done) return false;
  if (auto it = timers_.find(stream_id); it != timers_.end()) {
    it->second->cancel();
    timers_.erase(it);
  }
  diagnostics_.Update([&](ConnectionStats& s) {
    if (!result.ok()) ++s.produce_errors;
    else if (result->success) ++s.produce_success;
    else ++s.produce_fail;
  });
  if (*done) (*done)(std::move(result));
  return true;
}

void Producer::FailAll(const std::string& why) {
  for (auto& [id, timer] : timers_) timer->cancel();
  timers_.clear();
  for (auto& done : sends_.TakeAll()) {
    diagnostics_.Update([](ConnectionStats& s) { ++s.produce_errors; });
    if (done) done(Unavailable(why));
  }
}

}  // namespace alipaymsg::client
