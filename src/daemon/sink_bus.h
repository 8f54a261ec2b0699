// The message-bus sinks: Redis Streams (sink_redis.cpp, hiredis) and NATS JetStream (sink_nats.cpp,
// cnats), and what they share (sink_bus.cpp).
//
// Both are exactly-once into the bus across daemon crashes, by deduplicating on the message id at the
// server: a crash after the server's acknowledgement and before the inbox commit makes the daemon
// publish the message again, and the server absorbs that repeat.
//   redis  one Lua script per message: if the marker key of (stream, app_id, msg_id) exists, nothing;
//          else XADD and set the marker (TTL dedup-ttl-s, 7 days by default), atomically.
//   nats   JetStream publish with Nats-Msg-Id: <app_id>/<msg_id>; the stream's duplicate window
//          (>= 2 minutes) absorbs the repeat. A repeat after the window would be stored again.
// Success = the server's acknowledgement (the script's reply, the PubAck). Anything else -- server
// down, refused, timed out -- is RetryLater: the dispatcher backs off and the inbox keeps the message
// pending. Connection attempts are throttled (ReconnectGate; once connected, nats reconnects on its
// own every 500 ms), so an outage does not turn into a connect loop.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/sink_template.h"
#include "daemon/sinks.h"

struct redisContext;  // hiredis
struct __natsConnection;  // cnats: natsConnection
struct __jsCtx;           // cnats: jsCtx
typedef struct __natsConnection natsConnection;
typedef struct __jsCtx jsCtx;

namespace alipaymsg::daemon {

// "config.yaml:12: sinks[1].redis.url" for the bus setting `key` of `sink` (the sink's own key and
// line when that setting was not given).
std::string BusWhere(const SinkConfig& sink, const std::string& key);

// The password of a bus sink: the first line of password-file, or the variable password-env names;
// "" when neither is set. The error names the setting, never the password.
Result<std::string> ReadBusPassword(const SinkConfig& sink);

// Connection attempts of a sink. While connections succeed, nothing is held back. After a failure the
// attempts are spaced by a backoff doubling from 100 ms to 5 s, one caller at a time: in between,
// deliveries fail fast with the last error instead of each trying to connect.
class ReconnectGate {
 public:
  using Clock = std::chrono::steady_clock;
  // nullopt: this caller may try to connect now (and holds the attempt); else why not.
  std::optional<std::string> Blocked();
  void Failed(const std::string& why);
  void Succeeded();

 private:
  std::mutex mu_;
  Clock::time_point next_try_{};
  std::chrono::milliseconds backoff_{0};
  int failures_ = 0;  // in a row, for the backoff
  bool failing_ = false;
  std::string last_error_;
};

class RedisSink final : public Sink {
 public:
  // Reads the password now (a missing file or variable is a start-up error naming the setting).
  static Result<std::shared_ptr<RedisSink>> Make(const SinkConfig& config);
  ~RedisSink() override;
  std::string_view kind() const override { return "redis"; }
  HandlerOutcome Deliver(MessageView& message) override;
  void Cancel() override { slots_.Cancel(); }
  // One connection: connect, AUTH, SELECT, load the script. For `check-config --connect`.
  Status Probe();

 private:
  RedisSink(SinkConfig config, BusUrl url, std::string password);
  Result<redisContext*> Connect();
  Status Publish(redisContext* ctx, MessageView& message, bool& connection_lost);

  const SinkConfig config_;
  const BusUrl url_;
  const std::string password_;
  Slots slots_;
  ReconnectGate gate_;
  std::mutex mu_;
  std::vector<redisContext*> idle_;
  std::string script_sha_;  // guarded by mu_
};

class NatsSink final : public Sink {
 public:
  static Result<std::shared_ptr<NatsSink>> Make(const SinkConfig& config);
  ~NatsSink() override;
  std::string_view kind() const override { return "nats"; }
  HandlerOutcome Deliver(MessageView& message) override;
  void Cancel() override { slots_.Cancel(); }
  // Connect (no retry), then make sure the stream exists. For `check-config --connect`; `warnings`
  // gets what weakens the guarantee of an existing stream (a short duplicate window, other subjects).
  Status Probe(std::vector<std::string>* warnings = nullptr);

 private:
  struct State;
  NatsSink(SinkConfig config, BusUrl url, std::string password);
  // The connection (made, or remade once the client closed it, through gate_) and its JetStream context.
  Status EnsureConnection(natsConnection** nc, jsCtx** js);
  Status Connect();           // under state_->mu
  Status EnsureStream();

  const SinkConfig config_;
  const BusUrl url_;
  const std::string password_;
  Slots slots_;
  ReconnectGate gate_;
  std::unique_ptr<State> state_;
  std::vector<std::string> probe_notes_;  // under state_->mu
};

}  // namespace alipaymsg::daemon
