// The open-channel client: one long connection per app (register.do → WebSocket → CONSUME/ACK,
// ping/pong, reconnect with backoff), many apps on one io_context, PRODUCE with send().
//
// Every CONSUME goes one way: parse → verify (bad signature: audit + CONSUME_ACK FAIL, never stored
// for dispatch) → inbox commit (grouped) → CONSUME_ACK SUCCESS. Dispatch happens elsewhere, from the
// inbox (see dispatcher.h); the client only wakes it after new messages are stored.
//
// Threads: everything network-related runs on one io_context (the caller's, or one thread the
// Client starts). Parsing and signature verification run on a few verify threads of the Client's
// own (ClientOptions::verify_threads), so the io thread only reads frames and writes acks; acks go
// out in whatever order their messages are committed (each names its message). Public member
// functions may be called from any thread; none of them blocks except Send() and StopAndWait(),
// which refuse to run on the io_context's own thread. The Logger may be called from any of these
// threads.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alipaymsg/credentials.h"
#include "alipaymsg/inbox.h"
#include "alipaymsg/clock.h"
#include "alipaymsg/status.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace alipaymsg {

// ---- Logging -------------------------------------------------------------------------------------
// The library never prints. It hands each line to the Logger the application passes in (none: silent).
// Lines never contain a key or a signature value; bizContent appears only at kDebug.
enum class LogLevel { kDebug, kInfo, kWarn, kError };
using Logger = std::function<void(LogLevel level, std::string_view line)>;
// A Logger that forwards to spdlog's default logger (the application chooses to print).
Logger SpdlogLogger();

// ---- Connection state and diagnostics -----------------------------------------------------------
// Idle → Registering → Connecting → Open → (loss) → Backoff → Registering …; Stop: Closing → Stopped.
enum class ConnectionState { kIdle, kRegistering, kConnecting, kOpen, kBackoff, kClosing, kStopped };
std::string_view ToString(ConnectionState state);

// Ack latency (frame read → CONSUME_ACK queued for writing), cumulative-style buckets like Prometheus: counts[i]
// is the number of acks that took at most kBoundsUs[i] microseconds (the last bucket is +Inf).
struct LatencyHistogram {
  static constexpr std::array<int64_t, 12> kBoundsUs = {
      100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1000000, INT64_MAX};
  std::array<int64_t, kBoundsUs.size()> counts{};  // per bucket (not cumulative)
  int64_t count = 0;
  int64_t sum_us = 0;

  void Record(int64_t micros);
};

// One app connection at a moment. All counters are since the Client was created.
struct ConnectionStats {
  std::string app_id;
  ConnectionState state = ConnectionState::kIdle;
  bool connected = false;          // state == kOpen
  std::string last_error;          // what went wrong most recently ("" if nothing yet)
  int64_t last_error_at_ms = 0;    // wall clock
  int64_t connected_since_ms = 0;  // wall clock, 0 when not connected
  int64_t next_attempt_in_ms = 0;  // in kBackoff: time until the next register

  int64_t registers = 0;           // register.do attempts
  int64_t register_failures = 0;
  int64_t connects = 0;            // WebSocket sessions opened
  int64_t reconnects = 0;          // sessions opened after the first
  int64_t dead_links = 0;          // no pong within the timeout
  int64_t received = 0;            // CONSUME frames read
  int64_t stored_new = 0;          // first-time messages committed to the inbox
  int64_t duplicates = 0;          // redeliveries absorbed by the inbox (acked, not dispatched)
  int64_t signature_failures = 0;  // CONSUMEs answered FAIL and audited, never dispatched
  int64_t malformed_frames = 0;    // unparseable frames (no ack; the connection survives)
  int64_t store_errors = 0;        // inbox commits that failed (answered FAIL)
  int64_t acks_success = 0;
  int64_t acks_fail = 0;
  int64_t acks_unsent = 0;         // stored but the link was gone before the ack (Alipay redelivers)
  int64_t produce_sent = 0;
  int64_t produce_success = 0;
  int64_t produce_fail = 0;        // PRODUCE_ACK with a status other than SUCCESS
  int64_t produce_errors = 0;      // timeouts, connection lost, limit reached
  int in_flight = 0;               // CONSUMEs read and not yet acked
  bool reading_paused = false;     // backpressure: in_flight reached the limit
  LatencyHistogram ack_latency;
};

// ---- Options ------------------------------------------------------------------------------------
// Capped exponential backoff with full jitter: the first retry after a loss is immediate, then
// attempt n waits a uniform random time in [min_delay, min(cap, initial * 2^(n-1))]. The attempt
// counter resets only after a session stayed open for `stable_after`, so a server that accepts and
// drops at once cannot cause a tight loop.
struct BackoffOptions {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds cap{30000};
  std::chrono::milliseconds min_delay{200};
  std::chrono::milliseconds stable_after{10000};
};

enum class AckMode {
  kAfterStore,   // default: SUCCESS once the message is durably in the inbox
  kAfterHandle,  // Java SDK semantics: SUCCESS only when the handler succeeded, FAIL otherwise
};

// One app's connection.
struct AppOptions {
  std::shared_ptr<const Credentials> credentials;   // required (Credentials::Load)
  std::string server_host = "openchannel.alipay.com";  // "host" or "host:port", as setConnector()
  bool tls = true;                                  // https/wss; false only for a local simulator
  std::string ca_file;                              // extra CA bundle (PEM), besides the system ones
  // Certificate chain and host-name verification. Turning it off is for debugging only.
  bool verify_tls = true;
  bool load_test = false;                           // sends "LoadTest: true" (PROTOCOL.md §13)
};

// After-handle mode: the client calls this once a CONSUME is stored (new or duplicate) and acks
// SUCCESS when `done(true)` is called, FAIL for done(false). `done` may be called from any thread,
// exactly once.
using HandleNow = std::function<void(const InboundMessage& message, StoreOutcome outcome,
                                     std::function<void(bool handled)> done)>;

struct ClientOptions {
  Inbox* inbox = nullptr;               // required; must outlive the Client
  AckMode ack_mode = AckMode::kAfterStore;
  HandleNow handle_now;                 // required for kAfterHandle
  // Called on the io thread after a commit stored new messages (wake the dispatcher). Keep it short.
  std::function<void()> on_new_messages;
  Logger logger;                        // none: silent

  std::chrono::milliseconds register_timeout{10000};  // whole register.do exchange
  std::chrono::milliseconds connect_timeout{10000};   // TCP + TLS + WebSocket handshake
  std::chrono::milliseconds ping_interval{2000};
  std::chrono::milliseconds pong_timeout{10000};      // no pong for this long: dead link, reconnect
  std::chrono::milliseconds send_timeout{10000};      // PRODUCE → PRODUCE_ACK
  std::chrono::milliseconds stop_timeout{5000};       // graceful stop gives up after this
  int max_in_flight = 1024;   // CONSUMEs per connection between read and ack; full = stop reading
  // Threads that parse and verify CONSUMEs (shared by every app; started on the first frame).
  // kAutoVerifyThreads: min(hardware threads, 4). 0: on the io thread itself (tests, tiny setups).
  static constexpr int kAutoVerifyThreads = -1;
  int verify_threads = kAutoVerifyThreads;
  int max_pending_sends = 200;  // PRODUCEs awaiting their ack per connection
  // A connection that carries this many CONSUMEs failing verification within `forgery_window` is
  // closed and established again (someone may be injecting frames into it); the log says so. 0: never.
  int forgery_close_threshold = 2000;
  std::chrono::milliseconds forgery_window{10000};
  // Log lines about rejected frames (and failed audit records): at most this many per second per
  // connection on average, bursts of 10; the rest are counted and the next line says how many.
  double rejection_log_per_second = 1.0;
  BackoffOptions backoff;

  // Injected for tests: the wall clock (null: SystemClock::Instance(); it must outlive the client)
  // and a source of random 64-bit values.
  const Clock* clock = nullptr;
  std::function<uint64_t()> random;
};

// The PRODUCE_ACK for one send().
struct SendResult {
  bool success = false;  // x-status was exactly SUCCESS
  std::string status;    // x-status as received
  std::string code;      // x-code
  std::string error;     // x-error
  std::string msg_id;    // x-msgId
  std::string stream_id; // the PRODUCE's stream-id
};
using SendCallback = std::function<void(Result<SendResult>)>;

// ---- The client ---------------------------------------------------------------------------------
class Client {
 public:
  // Runs its own io_context on one thread (started by Start()).
  static Result<std::unique_ptr<Client>> Create(ClientOptions options);
  // Runs on the caller's io_context; the caller runs it (and keeps it alive longer than the Client).
  static Result<std::unique_ptr<Client>> Create(boost::asio::io_context& io, ClientOptions options);

  // Graceful stop if still running, then joins the own thread. With the caller's io_context, destroy
  // the Client while that io_context still runs (the stop needs it), and not from its thread.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Adds one app connection; it starts connecting at once if the client was started. Errors: no
  // credentials, an app_id already added, a bad server_host, an unreadable ca_file, after Stop().
  Status AddApp(AppOptions app);

  // Begins connecting every app; returns at once (connection progress is in Stats()).
  void Start();

  // Graceful stop of every connection: stop reading, finish in-flight stores, send their acks,
  // fail pending sends, close with 1000. `done` runs on the io thread when all are stopped.
  void Stop(std::function<void()> done = {});
  // Stop() and wait for it (and for the own io thread to end). Not on the io thread.
  void StopAndWait();

  // PRODUCE `biz_content` (a JSON object text) as `msg_api` on `app_id`'s connection; `done` gets
  // the PRODUCE_ACK or the error (not connected, limit reached, timeout, link lost), on the io thread.
  void AsyncSend(const std::string& app_id, std::string msg_api, std::string biz_content,
                 SendCallback done);
  // Blocking convenience over AsyncSend. Returns kInvalidArgument when called on the io thread.
  Result<SendResult> Send(const std::string& app_id, std::string msg_api, std::string biz_content);

  // A snapshot of every connection (thread-safe).
  std::vector<ConnectionStats> Stats() const;
  std::optional<ConnectionStats> Stats(const std::string& app_id) const;
  // True when every added app is connected.
  bool AllConnected() const;

 private:
  struct Impl;  // the sessions, the io thread and the verify pool (client.cpp)
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace alipaymsg
