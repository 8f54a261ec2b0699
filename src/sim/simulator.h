// alipay-msg-sim: a local Alipay open-channel server (PROTOCOL.md server side) with an admin API.
// Start() binds both ports and runs everything on one background thread.
#pragma once

#include <cstdint>
#include <memory>

#include "alipaymsg/status.h"
#include "sim/options.h"

namespace alipaymsg::sim {

class Simulator {
 public:
  static Result<std::unique_ptr<Simulator>> Start(SimulatorOptions options);
  ~Simulator();  // Stop()
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Closes every connection and stops the server thread. Idempotent.
  void Stop();

  uint16_t port() const;        // register.do + /websocket
  uint16_t admin_port() const;  // admin HTTP API
  bool tls() const;

  struct Impl;

 private:
  explicit Simulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace alipaymsg::sim
