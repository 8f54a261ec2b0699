// A verified message as tests store it: the sandbox app, a mini-program msgApi, a small JSON body
// naming the msg_id.
#pragma once

#include <cstdint>
#include <string>

#include "alipaymsg/inbox.h"

namespace alipaymsg::testing {

inline const std::string kTestAppId = "2021000000000001";

inline InboundMessage TestMessage(const std::string& msg_id, const std::string& app_id = kTestAppId,
                                  int64_t received_at_ms = 1700000000000) {
  InboundMessage m;
  m.app_id = app_id;
  m.msg_id = msg_id;
  m.msg_api = "alipay.open.mini.version.audit.passed";
  m.biz_content = R"({"msg_id":")" + msg_id + R"("})";
  m.channel = "websocket";
  m.received_at_ms = received_at_ms;
  return m;
}

}  // namespace alipaymsg::testing
