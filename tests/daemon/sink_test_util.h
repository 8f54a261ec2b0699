// Shared helpers for the sink tests: an inbox in a temp dir, messages, a dispatcher over sinks.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alipaymsg/dispatcher.h"
#include "alipaymsg/inbox.h"
#include "daemon/sinks.h"
#include "daemon/temp_dir.h"

namespace alipaymsg::daemon_test {

inline InboundMessage Msg(const std::string& msg_id, const std::string& msg_api = "alipay.open.mini.version.audit.passed",
                          const std::string& biz = R"({"mini_app_id":"2021","audit_time":"2024-01-01 10:00:00"})") {
  InboundMessage m;
  m.app_id = "2021000000000001";
  m.msg_id = msg_id;
  m.msg_api = msg_api;
  m.biz_content = biz;
  m.channel = "websocket";
  m.received_at_ms = 1700000000123;
  return m;
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  return lines;
}

inline DispatcherOptions FastRetries(int max_attempts = 3) {
  DispatcherOptions options;
  options.threads = 4;
  options.max_attempts = max_attempts;
  options.initial_backoff = std::chrono::milliseconds(5);
  options.max_backoff = std::chrono::milliseconds(20);
  options.poll_interval = std::chrono::milliseconds(20);
  return options;
}

// Runs `sinks` over everything in `inbox` until idle.
inline void DispatchAll(Inbox& inbox, daemon::SinkRouter& sinks, DispatcherOptions options = FastRetries()) {
  Router router;
  ASSERT_TRUE(sinks.RegisterOn(router).ok());
  Dispatcher dispatcher(inbox, std::move(router), options);
  ASSERT_TRUE(dispatcher.Start().ok());
  // Idle means nothing due now; retries are due a little later, so wait until none is left.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    dispatcher.Notify();
    EXPECT_TRUE(dispatcher.WaitIdle(std::chrono::seconds(20)));
    auto stats = inbox.Stats();
    ASSERT_TRUE(stats.ok());
    if (stats->pending == 0 && stats->in_flight == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  dispatcher.Stop();
}

inline MessageState StateOf(Inbox& inbox, const std::string& msg_id) {
  auto got = inbox.Get("2021000000000001", msg_id);
  EXPECT_TRUE(got.ok() && got->has_value()) << msg_id;
  return got.ok() && got->has_value() ? (*got)->state : MessageState::kPending;
}

inline std::string LastErrorOf(Inbox& inbox, const std::string& msg_id) {
  auto got = inbox.Get("2021000000000001", msg_id);
  return got.ok() && got->has_value() ? (*got)->last_error : "";
}

}  // namespace alipaymsg::daemon_test
