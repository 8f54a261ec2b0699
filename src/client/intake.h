// What the client does with one received text frame, decided without sockets: a malformed frame is
// counted and not answered; a CONSUME whose signature fails is audited and answered FAIL; a verified
// CONSUME becomes an InboundMessage for the inbox; a PRODUCE_ACK completes a send().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "alipaymsg/client.h"
#include "alipaymsg/credentials.h"
#include "alipaymsg/inbox.h"
#include "protocol/frame.h"

namespace alipaymsg::client {

struct Intake {
  enum class Kind {
    kMalformed,   // unparseable or unusable: log, count, no ack, connection survives
    kIgnored,     // empty document, or a command a client does not receive
    kConsume,     // verified: store, then ack
    kRejected,    // signature failed: audit, ack FAIL, never dispatched
    kProduceAck,  // completes the send() waiting on frame.header.stream_id
  };
  Kind kind = Kind::kIgnored;
  Frame frame;             // parsed frame (not for kMalformed); for kConsume without content,
                           // signed_data and x-sign (the message holds the content)
  std::string reason;      // kMalformed / kIgnored / kRejected: why (no key material)
  InboundMessage message;  // kConsume
  RejectedMessage rejected;  // kRejected
};

// `connection_app_id` keys messages whose data.header has no appId.
Intake ClassifyFrame(std::string_view text, const Credentials& credentials,
                     std::string_view connection_app_id, int64_t now_ms);

// The PRODUCE_ACK's fields as a send() result.
SendResult ToSendResult(const Frame& produce_ack);

}  // namespace alipaymsg::client
