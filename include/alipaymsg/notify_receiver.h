// The HTTP(S) notification channel (NOTIFY.md): Alipay POSTs a signed form to the app gateway; we
// verify it, commit it to the inbox keyed by notify_id, and only then answer "success".
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alipaymsg/clock.h"
#include "alipaymsg/crypto.h"
#include "alipaymsg/inbox.h"
#include "alipaymsg/listener_limits.h"
#include "alipaymsg/status.h"

namespace alipaymsg {

// One app that receives notifications.
struct NotifyApp {
  std::string app_id;
  std::optional<PublicKey> alipay_public_key;             // key mode
  std::map<std::string, PublicKey> alipay_keys_by_cert_sn;  // cert mode: alipay_cert_sn -> key
  std::string aes_key_base64;  // for encrypt_type=AES; empty = encrypted notifications refused
};

struct NotifyCounters {
  std::atomic<int64_t> received{0};
  std::atomic<int64_t> stored_new{0};
  std::atomic<int64_t> duplicates{0};
  std::atomic<int64_t> rejected{0};      // failed verification, unknown app, undecryptable
  std::atomic<int64_t> store_failed{0};  // inbox error: answered "fail", Alipay redelivers
};

// How one notification ended, for metrics by app and outcome.
enum class NotifyOutcome {
  kNew,            // committed: answered success, dispatched
  kDuplicate,      // already in the inbox: answered success, not dispatched again
  kMalformed,      // not a form, raw control characters, no notify_id: 400
  kUnknownApp,     // app_id not configured: fail
  kUnknownCertSn,  // alipay_cert_sn names no configured Alipay certificate: fail
  kBadSignature,   // does not verify: fail
  kUndecryptable,  // encrypt_type=AES without a key, or it does not decrypt: fail
  kStoreFailed,    // the inbox could not commit: fail (Alipay redelivers)
};
std::string_view ToString(NotifyOutcome outcome);  // "new", "duplicate", "malformed", ...

struct NotifyOutcomeCount {
  std::string app_id;  // a configured app, or "unknown"
  NotifyOutcome outcome;
  int64_t count = 0;
};

// Transport-independent core: the HTTP server feeds it bodies, tests call it directly.
class NotifyReceiver {
 public:
  struct Answer {
    int http_status = 200;
    std::string body;  // "success" or "fail"
  };
  using AnswerCallback = std::function<void(Answer)>;

  // `clock` stamps received_at (null: SystemClock::Instance(); it must outlive the receiver);
  // `on_new` runs after a commit that stored a new message (wake the dispatcher), may be empty.
  NotifyReceiver(Inbox& inbox, std::vector<NotifyApp> apps, const Clock* clock = nullptr,
                 std::function<void()> on_new = {});
  ~NotifyReceiver();
  NotifyReceiver(const NotifyReceiver&) = delete;
  NotifyReceiver& operator=(const NotifyReceiver&) = delete;

  // Verifies and stores one form body. `done` runs once, after the inbox commit (on the inbox's
  // thread) or at once for a rejected body. "success" only when the message is durably stored (new
  // or already there); a bad signature is recorded for audit and answered "fail".
  void HandleAsync(std::string_view form_body, AnswerCallback done);
  Answer Handle(std::string_view form_body);  // blocking convenience

  const NotifyCounters& counters() const { return counters_; }
  // Every (app, outcome) seen so far. An app_id that is not configured counts as "unknown", so a
  // hostile sender cannot grow this.
  std::vector<NotifyOutcomeCount> CountsByApp() const;

  // Called for every rejected notification (after the audit record), e.g. to log it. The reason
  // names the cause (for an unknown alipay_cert_sn: which certificate to download); it holds no
  // secret. Set before the first HandleAsync.
  using RejectObserver = std::function<void(const RejectedMessage&, NotifyOutcome)>;
  void set_on_rejected(RejectObserver observer) { on_rejected_ = std::move(observer); }

 private:
  void Count(const std::string& app_id, NotifyOutcome outcome);

  Inbox& inbox_;
  std::vector<NotifyApp> apps_;
  const Clock& clock_;
  std::function<void()> on_new_;
  RejectObserver on_rejected_;
  NotifyCounters counters_;
  struct OutcomeCounts;  // the counts by (app, outcome) and their lock
  std::unique_ptr<OutcomeCounts> counts_;
};

struct NotifyServerOptions {
  std::string listen = "127.0.0.1:0";        // HOST:PORT; port 0 picks one
  std::vector<std::string> paths;            // accepted request paths; empty: any path
  std::string cert_file, key_file;           // both set: HTTPS
  ListenerLimits limits;                     // 64 KiB bodies (413 from the header), timeouts, cap
};

// Serves POST requests on `listen` ("HOST:PORT"; port 0 picks one) and hands their bodies to the
// receiver; other methods 405, other paths 404. Runs its own thread; destroy it before the receiver
// (it waits for answers still pending in the inbox).
class NotifyServer {
 public:
  using Stats = ListenerStats;
  static Result<std::unique_ptr<NotifyServer>> Start(const NotifyServerOptions& options, NotifyReceiver& receiver);
  static Result<std::unique_ptr<NotifyServer>> Start(const std::string& listen, NotifyReceiver& receiver);
  virtual ~NotifyServer() = default;
  virtual uint16_t port() const = 0;
  virtual Stats stats() const = 0;
  virtual void Stop() = 0;
};

}  // namespace alipaymsg
