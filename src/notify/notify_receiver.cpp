#include "alipaymsg/notify_receiver.h"

#include <boost/json.hpp>

#include <future>
#include <mutex>

#include "alipaymsg/notify.h"
#include "alipaymsg/params.h"

namespace alipaymsg {
namespace {

// Classic notifications (trade_status_sync) carry their fields as form parameters, not as a
// biz_content: hand them on as one JSON object so every sink sees JSON.
std::string ParamsAsJson(const Params& params) {
  boost::json::object obj;
  for (const auto& [name, value] : params) {
    if (name == "sign" || name == "sign_type") continue;
    obj[name] = value;
  }
  return boost::json::serialize(obj);
}

}  // namespace

std::string_view ToString(NotifyOutcome outcome) {
  switch (outcome) {
    case NotifyOutcome::kNew: return "new";
    case NotifyOutcome::kDuplicate: return "duplicate";
    case NotifyOutcome::kMalformed: return "malformed";
    case NotifyOutcome::kUnknownApp: return "unknown_app";
    case NotifyOutcome::kUnknownCertSn: return "unknown_cert_sn";
    case NotifyOutcome::kBadSignature: return "bad_signature";
    case NotifyOutcome::kUndecryptable: return "undecryptable";
    case NotifyOutcome::kStoreFailed: return "store_failed";
  }
  return "?";
}

struct NotifyReceiver::OutcomeCounts {
  std::mutex mu;
  std::map<std::pair<std::string, NotifyOutcome>, int64_t> by_app;
};

void NotifyReceiver::Count(const std::string& app_id, NotifyOutcome outcome) {
  bool known = false;
  for (const auto& app : apps_) known = known || app.app_id == app_id;
  std::lock_guard lock(counts_->mu);
  ++counts_->by_app[{known ? app_id : std::string("unknown"), outcome}];
}

std::vector<NotifyOutcomeCount> NotifyReceiver::CountsByApp() const {
  std::lock_guard lock(counts_->mu);
  std::vector<NotifyOutcomeCount> out;
  for (const auto& [key, n] : counts_->by_app) out.push_back(NotifyOutcomeCount{key.first, key.second, n});
  return out;
}

NotifyReceiver::NotifyReceiver(Inbox& inbox, std::vector<NotifyApp> apps, const Clock* clock,
                               std::function<void()> on_new)
    : inbox_(inbox),
      apps_(std::move(apps)),
      clock_(clock != nullptr ? *clock : SystemClock::Instance()),
      on_new_(std::move(on_new)),
      counts_(std::make_unique<OutcomeCounts>()) {}

NotifyReceiver::~NotifyReceiver() = default;

void NotifyReceiver::HandleAsync(std::string_view form_body, AnswerCallback done) {
  counters_.received++;
  const int64_t now = clock_.NowMs();
  auto reject = [&](const std::string& app_id, const std::string& msg_id, const std::string& msg_api,
                    std::string reason, int http_status, NotifyOutcome outcome) {
    counters_.rejected++;
    Count(app_id, outcome);
    RejectedMessage rejected{app_id, msg_id, msg_api, reason, std::string(form_body), "http", now};
    (void)inbox_.RecordRejected(rejected);  // audit is best effort; the answer is "fail" either way
    if (on_rejected_) on_rejected_(rejected, outcome);
    done(Answer{http_status, http_status == 400 ? "fail: " + reason : "fail"});
  };
  constexpr auto kMalformed = NotifyOutcome::kMalformed;

  auto params = FormDecode(form_body);
  if (!params.ok()) {
    return reject("", "", "", "malformed form body: " + params.status().message(), 400, kMalformed);
  }
  auto param = [&](std::string_view name) {
    const std::string* v = FindParam(*params, name);
    return v ? *v : std::string();
  };
  const std::string app_id = param("app_id");
  const std::string notify_id = param("notify_id");
  std::string msg_api = param("msg_method");
  if (msg_api.empty()) msg_api = param("notify_type");
  if (notify_id.empty()) return reject(app_id, "", msg_api, "no notify_id: cannot deduplicate", 400, kMalformed);

  const NotifyApp* app = nullptr;
  for (const auto& candidate : apps_) {
    if (candidate.app_id == app_id) app = &candidate;
  }
  if (app == nullptr) {
    return reject(app_id, notify_id, msg_api, "app_id " + app_id + " is not configured", 200, NotifyOutcome::kUnknownApp);
  }

  NotifyKeys keys;
  keys.alipay_public_key = app->alipay_public_key ? &*app->alipay_public_key : nullptr;
  keys.alipay_keys_by_cert_sn = app->alipay_keys_by_cert_sn;
  auto verified = VerifyNotification(form_body, keys);
  if (!verified.ok()) {
    const StatusCode code = verified.status().code();
    const NotifyOutcome outcome = code == StatusCode::kNotFound    ? NotifyOutcome::kUnknownCertSn
                                  : code == StatusCode::kParseError ? kMalformed
                                                                    : NotifyOutcome::kBadSignature;
    return reject(app_id, notify_id, msg_api, verified.status().message(), 200, outcome);
  }

  std::string biz_content;
  if (const std::string* biz = FindParam(verified->params, "biz_content")) {
    biz_content = *biz;
    if (param("encrypt_type") == "AES") {
      if (app->aes_key_base64.empty()) {
        return reject(app_id, notify_id, msg_api,
                      "encrypted biz_content (encrypt_type=AES) but no encrypt-key is configured for this app", 200,
                      NotifyOutcome::kUndecryptable);
      }
      auto plain = AesDecrypt(app->aes_key_base64, biz_content);
      if (!plain.ok()) {
        return reject(app_id, notify_id, msg_api, "AES: " + plain.status().message(), 200,
                      NotifyOutcome::kUndecryptable);
      }
      biz_content = std::move(*plain);
    }
  } else {
    biz_content = ParamsAsJson(verified->params);
  }

  InboundMessage message{app_id, notify_id, msg_api, std::move(biz_content), "http", now};
  std::vector<InboundMessage> batch;
  batch.push_back(std::move(message));
  inbox_.StoreAsync(std::move(batch), [this, app_id, done = std::move(done)](Result<std::vector<StoreOutcome>> r) {
    if (!r.ok() || r->empty()) {
      counters_.store_failed++;
      Count(app_id, NotifyOutcome::kStoreFailed);
      done(Answer{500, "fail"});
      return;
    }
    if (r->front() == StoreOutcome::kNew) {
      counters_.stored_new++;
      Count(app_id, NotifyOutcome::kNew);
      if (on_new_) on_new_();
    } else {
      counters_.duplicates++;
      Count(app_id, NotifyOutcome::kDuplicate);
    }
    done(Answer{200, "success"});
  });
}

NotifyReceiver::Answer NotifyReceiver::Handle(std::string_view form_body) {
  std::promise<Answer> promise;
  auto future = promise.get_future();
  HandleAsync(form_body, [&promise](Answer a) { promise.set_value(std::move(a)); });
  return future.get();
}

}  // namespace alipaymsg
