// PRODUCE (Client::Send) on a session's link: each send waits, by stream-id, for its PRODUCE_ACK or
// the send timeout, and a lost link fails every send still waiting. Asio timers, no Beast. Every
// call on the session's strand.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "alipaymsg/client.h"
#include "client/bookkeeping.h"
#include "client/diagnostics.h"
#include "client/link.h"

namespace alipaymsg::client {

class Producer {
 public:
  Producer(Strand strand, const ClientOptions& options, Diagnostics& diagnostics);

  // Signs a PRODUCE of `biz` to `msg_api` and queues it on `link`; `done` runs once, on the strand
  // (at once when the frame cannot be built or max_pending_sends are already waiting). `owner`
  // (the session) is kept alive until the send's timer handler ran. true: the frame was queued.
  bool Send(std::shared_ptr<void> owner, Link& link, const Credentials& credentials, const std::string& stream_id,
            int64_t now_ms, const std::string& msg_api, const std::string& biz, SendCallback done);
  // Answers `done` with `why` without sending, counted as a produce error.
  void Refuse(SendCallback done, Status why);
  // The PRODUCE_ACK (or the timeout) of `stream_id`; false when no send waits on that id.
  bool Complete(const std::string& stream_id, Result<SendResult> result);
  // The link is gone: every waiting send fails with `why`.
  void FailAll(const std::string& why);

 private:
  Strand strand_;
  const ClientOptions& options_;
  Diagnostics& diagnostics_;
  PendingSends sends_;
  std::map<std::string, std::unique_ptr<asio::steady_timer>> timers_;
};

}  // namespace alipaymsg::client
