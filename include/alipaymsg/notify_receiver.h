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

#include "alipaymsg/crypto.h"
#include "alipaymsg/inbox.h"
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

// Transport-independent core: the HTTP server feeds it bodies, tests call it directly.
class NotifyReceiver {
 public:
  struct Answer {
    int http_status = 200;
    std::string body;  // "success" or "fail"
  };
  using AnswerCallback = std::function<void(Answer)>;

  // `now_ms` stamps received_at; `on_new` runs after a commit that stored a new message (wake the
  // dispatcher). Both may be empty.
  NotifyReceiver(Inbox& inbox, std::vector<NotifyApp> apps, std::function<int64_t()> now_ms = {},
                 std::function<void()> on_new = {});

  // Verifies and stores one form body. `done` runs once, after the inbox commit (on the inbox's
  // thread) or at once for a rejected body. "success" only when the message is durably stored (new
  // or already there); a bad signature is recorded for audit and answered "fail".
  void HandleAsync(std::string_view form_body, AnswerCallback done);
  Answer Handle(std::string_view form_body);  // blocking convenience

  const NotifyCounters& counters() const { return counters_; }

 private:
  Inbox& inbox_;
  std::vector<NotifyApp> apps_;
  std::function<int64_t()> now_ms_;
  std::function<void()> on_new_;
  NotifyCounters counters_;
};

// Serves POST requests on `listen` ("HOST:PORT"; port 0 picks one) and hands their bodies to the
// receiver. Runs its own thread.
class NotifyServer {
 public:
  static Result<std::unique_ptr<NotifyServer>> Start(const std::string& listen, NotifyReceiver& receiver);
  virtual ~NotifyServer() = default;
  virtual uint16_t port() const = 0;
  virtual void Stop() = 0;
};

}  // namespace alipaymsg
