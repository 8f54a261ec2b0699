// Everything the simulator is started with (the CLI maps its flags onto this one to one).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "alipaymsg/clock.h"
#include "sim/schedule.h"

namespace alipaymsg::sim {

struct SimulatorOptions {
  std::string listen = "127.0.0.1:0";  // register.do + /websocket (port 0: pick one)
  std::string admin = "127.0.0.1:0";   // admin HTTP API
  std::string alipay_private_key;      // signs register responses, CONSUMEs, notifications
  std::string alipay_cert;             // cert mode (with root_cert)
  std::string root_cert;
  std::vector<std::pair<std::string, std::string>> apps;  // APP_ID, public key or app cert file
  std::string tls_cert;  // both set: HTTPS/WSS on `listen`
  std::string tls_key;
  RedeliverySchedule schedule;  // already scaled
  int64_t timestamp_window_ms = 15 * 60 * 1000;  // 0: do not check
  int64_t link_token_ttl_ms = 5 * 60 * 1000;
  std::string zone = "GZ00B";  // Set-Cookie zone; empty: no cookie and no check
  std::string from_sys = "openchannel";
  std::string from_sys_ip = "10.0.0.1";
  size_t max_finished_retained = 200000;     // acked / given-up messages kept for GET /messages/ID
  size_t max_inflight_per_connection = 0;    // unacked CONSUMEs per connection; 0 = no limit
  size_t connection_queue_limit = 4096;      // frames waiting to be written before a connection counts as busy
  std::shared_ptr<const Clock> clock;            // null: the system clock
  uint64_t seed = 0;                         // 0: random (link tokens, msg ids)
};

}  // namespace alipaymsg::sim
