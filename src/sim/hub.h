// The simulator's core, shared by the socket sessions (server.cpp) and the admin API: apps, link
// tokens, messages and their redelivery, faults, PRODUCE, notifications, statistics. It does no I/O
// itself: sessions hand it what arrived and it answers or calls Connection::SendText. Every call
// happens on the single server thread, so nothing here locks.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alipaymsg/status.h"
#include "protocol/frame.h"
#include "sim/auth.h"
#include "sim/faults.h"
#include "sim/message_store.h"
#include "sim/options.h"

namespace alipaymsg::sim {

// One live WebSocket connection, as the hub sees it (implemented by the session in server.cpp).
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void SendText(std::string frame) = 0;
  virtual void Drop() = 0;  // abrupt close: TCP close without a WebSocket close frame
  virtual size_t QueuedFrames() const = 0;
};

struct HttpAnswer {
  int status = 200;
  std::string content_type = "application/json;charset=UTF-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct ConnectDecision {
  bool ok = false;
  HttpAnswer rejection;  // when !ok
  std::string app_id;
  SignType sign_type = SignType::kRsa2;
  bool cert_client = false;
};

// Sends notifications (HTTP POST); implemented with Beast in admin.cpp. `done` runs on the server
// thread with the HTTP status and body, or with an error text when there was no answer.
class NotifyTransport {
 public:
  virtual ~NotifyTransport() = default;
  virtual void Post(const std::string& url, std::string body,
                    std::function<void(int status, std::string body, std::string error)> done) = 0;
};

// What Hub::Create reads from the files the options name: the Alipay side and the apps.
struct HubCredentials {
  AlipayIdentity identity;
  std::vector<AppEntry> apps;
};
Result<HubCredentials> LoadHubCredentials(const SimulatorOptions& options);

class Hub {
 public:
  static Result<std::unique_ptr<Hub>> Create(const SimulatorOptions& options);
  // With credentials loaded once (keys are shared, not copied): the fuzzer builds a fresh hub per
  // input, and loading PEM files through OpenSSL's decoders costs ~100x the rest of a hub.
  static std::unique_ptr<Hub> Create(const SimulatorOptions& options, HubCredentials credentials);
  ~Hub();

  int64_t now() const { return clock_->NowMs(); }

  // GET /websocket/register.do?QUERY
  HttpAnswer HandleRegister(std::string_view query);
  // The WebSocket upgrade request GET /websocket?QUERY with its Cookie header.
  ConnectDecision CheckConnect(std::string_view query, std::string_view cookie_header);
  uint64_t AddConnection(Connection* connection, const ConnectDecision& decision, std::string peer);
  void OnText(uint64_t connection, std::string_view text);
  void OnPing(uint64_t connection);
  void OnWritable(uint64_t connection);  // its write queue went below the limit
  void RemoveConnection(uint64_t connection, std::string_view reason);

  // Timers: redelivery, held acks, notifications. Tick() does what is due; NextWakeupMs() says when
  // the next thing is due (clock time).
  void Tick();
  int64_t NextWakeupMs();

  // Admin API: JSON in and out (hub_admin.cpp).
  HttpAnswer HandleAdmin(std::string_view method, std::string_view target, std::string_view body);

  bool pong_stopped() const { return faults_.pong_stopped(); }
  // hang_upgrade: this upgrade request gets no answer at all.
  bool TakeHangUpgrade() { return faults_.TakeHangUpgrade(); }
  void SetNotifyTransport(NotifyTransport* transport) { notify_transport_ = transport; }
  // Drops every connection and stops delivering (server shutdown).
  void Shutdown();

  const MessageStore& store() const { return store_; }

 private:
  struct Live {
    uint64_t id = 0;
    Connection* connection = nullptr;
    std::string app_id;
    SignType sign_type = SignType::kRsa2;
    bool cert_client = false;
    std::string peer;
    int64_t connected_ms = 0;
    uint64_t pings = 0;
  };
  struct AppConnections {
    std::vector<uint64_t> ids;
    size_t next = 0;  // round robin
  };
  struct HeldAck {
    std::string msg_id;
    std::string app_id;
    uint64_t connection;
    bool success;
  };
  struct Produced {
    int64_t at_ms = 0;
    uint64_t connection = 0;
    std::string app_id;
    std::string stream_id;
    std::string msg_id;  // the one answered in PRODUCE_ACK
    std::string msg_api;
    std::string content;
    bool signature_ok = false;
    std::string error;
  };
  struct NotifyResponse {
    int64_t at_ms = 0;
    int http_status = 0;
    std::string body;
    std::string error;
  };
  struct NotifyJob {
    std::string notify_id;
    std::string url;
    std::string app_id;
    std::string body;  // the form
    std::string sign_content;
    std::string state = "pending";  // pending, delivered, given_up
    int attempts = 0;
    int64_t next_at_ms = 0;
    bool in_flight = false;
    std::vector<NotifyResponse> responses;
  };
  struct Counters {
    uint64_t register_requests = 0;
    uint64_t registers = 0;
    uint64_t register_errors = 0;
    uint64_t connections_total = 0;
    uint64_t connections_rejected = 0;
    uint64_t dropped_by_fault = 0;
    uint64_t malformed_sent = 0;
    uint64_t malformed_received = 0;
    uint64_t produce_received = 0;
    uint64_t produce_bad = 0;
    uint64_t pings = 0;
    uint64_t notify_sent = 0;
    uint64_t notify_succeeded = 0;
    uint64_t notify_given_up = 0;
    uint64_t forged_sent = 0;          // forge_flood
    uint64_t forged_acked_success = 0;  // a client that acks a forgery SUCCESS trusted it
    uint64_t forged_acked_fail = 0;
  };

  Hub(const SimulatorOptions& options, AlipayIdentity identity, std::vector<AppEntry> apps);

  std::string ResponseObject(const GatewayError& error) const;
  HttpAnswer SignedRegisterAnswer(std::string_view response_object, const CheckedRequest& request);
  void Pump(const std::string& app_id);
  Live* PickConnection(AppConnections& live);
  void Deliver(Message& message, Live& live);
  // forge_flood: fills the app's connections with forged CONSUMEs while the fault lasts.
  void Forge(const std::string& app_id, AppConnections& connections);
  const std::string& SignatureFor(Payload& payload, SignType type);
  void HandleAck(Live& live, const Frame& frame);
  void ApplyAck(const std::string& msg_id, const std::string& app_id, uint64_t connection, bool success, bool late);
  void HandleProduce(Live& live, const Frame& frame);
  void ReleaseHeldAcks();
  std::string NextStreamId();
  std::string NewMsgId();
  void SendNotify(NotifyJob& job);
  std::vector<Live*> Targets(const std::string& app_id);

  // Admin (hub_admin.cpp).
  Result<std::shared_ptr<Payload>> PayloadFor(const std::string& app_id, const std::string& msg_api,
                                              const std::string& content_json);
  HttpAnswer AdminAddMessages(std::string_view body, bool batch);
  HttpAnswer AdminGetMessage(std::string_view msg_id);
  HttpAnswer AdminStats();
  HttpAnswer AdminFaults(std::string_view body);
  HttpAnswer AdminNotify(std::string_view body);
  HttpAnswer AdminGetNotify(std::string_view notify_id);
  HttpAnswer AdminConnections();
  HttpAnswer AdminProduced();
  HttpAnswer AdminSeedLinkToken(std::string_view body);

  SimulatorOptions options_;
  std::shared_ptr<const Clock> clock_;
  AlipayIdentity identity_;
  Authenticator auth_;
  MessageStore store_;
  FaultState faults_;
  std::mt19937_64 random_;
  std::string msg_id_prefix_;
  uint64_t msg_counter_ = 0;
  uint64_t stream_counter_ = 0;
  uint64_t next_connection_id_ = 1;
  bool shutting_down_ = false;
  std::unordered_map<uint64_t, Live> live_;
  std::unordered_map<std::string, AppConnections> by_app_;
  std::vector<HeldAck> held_acks_;
  std::deque<Produced> produced_;
  std::unordered_map<std::string, std::weak_ptr<Payload>> payload_cache_;
  std::unordered_map<std::string, NotifyJob> notify_jobs_;
  NotifyTransport* notify_transport_ = nullptr;
  Counters counters_;
  std::shared_ptr<Payload> forge_payload_;  // forge_flood: the data part the forgeries carry
  FrameHeader consume_header_;      // reused for every CONSUME (no per-message allocation)
  ProtocolFields consume_fields_;
};

// JSON error body {"error": "..."} with an HTTP status.
HttpAnswer JsonError(int status, std::string_view message);

}  // namespace alipaymsg::sim
