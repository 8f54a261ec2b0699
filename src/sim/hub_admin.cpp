// The admin HTTP API's JSON side (the sockets are in admin.cpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>

#include "alipaymsg/params.h"
#include "sim/hub.h"

namespace alipaymsg::sim {

namespace json = boost::json;

namespace {

HttpAnswer JsonOk(const json::value& v, int status = 200) {
  return HttpAnswer{status, "application/json", json::serialize(v), {}};
}

const std::string* GetString(const json::object& o, std::string_view name, std::string* storage) {
  auto* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return nullptr;
  *storage = std::string(v->as_string());
  return storage;
}

// One message description: {"app_id","msg_api","content":{...} | "content_raw":"{...}", "msg_id"?}.
struct MessageSpec {
  std::string app_id, msg_api, content, msg_id;
};

Result<MessageSpec> ParseMessageSpec(const json::value& v, bool allow_msg_id) {
  if (!v.is_object()) return InvalidArgument("a message must be a JSON object");
  const json::object& o = v.as_object();
  MessageSpec spec;
  std::string tmp;
  if (GetString(o, "app_id", &tmp) == nullptr || tmp.empty()) return InvalidArgument("message needs \"app_id\" (string)");
  spec.app_id = tmp;
  if (GetString(o, "msg_api", &tmp) == nullptr || tmp.empty()) return InvalidArgument("message needs \"msg_api\" (string)");
  spec.msg_api = tmp;
  if (auto* content = o.if_contains("content")) {
    if (!content->is_object()) return InvalidArgument("\"content\" must be a JSON object");
    spec.content = json::serialize(*content);  // compact, insertion order, raw UTF-8
  } else if (GetString(o, "content_raw", &tmp) != nullptr) {
    json::error_code ec;
    json::value parsed = json::parse(tmp, ec);
    if (ec || !parsed.is_object()) return InvalidArgument("\"content_raw\" must be the text of a JSON object");
    spec.content = tmp;  // embedded exactly as given
  } else {
    return InvalidArgument("message needs \"content\" (object) or \"content_raw\" (text of an object)");
  }
  if (o.if_contains("msg_id") != nullptr) {
    if (!allow_msg_id) return InvalidArgument("\"msg_id\" cannot be combined with \"count\"");
    if (GetString(o, "msg_id", &tmp) == nullptr || tmp.empty()) return InvalidArgument("\"msg_id\" must be a non-empty string");
    spec.msg_id = tmp;
  }
  return spec;
}

std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

}  // namespace

HttpAnswer Hub::HandleAdmin(std::string_view method, std::string_view target, std::string_view body) {
  auto [path, query] = SplitTarget(target);
  (void)query;
  const bool get = method == "GET", post = method == "POST";
  if (path == "/healthz" && get) return JsonOk(json::object{{"ok", true}});
  if (path == "/messages" && post) return AdminAddMessages(body, false);
  if (path == "/messages/batch" && post) return AdminAddMessages(body, true);
  if (path.starts_with("/messages/") && get) return AdminGetMessage(path.substr(10));
  if (path == "/stats" && get) return AdminStats();
  if (path == "/stats/reset_ack_latency" && post) {
    store_.ResetAckLatency();
    return JsonOk(json::object{{"ok", true}});
  }
  if (path == "/faults" && post) return AdminFaults(body);
  if (path == "/faults" && get) return HttpAnswer{200, "application/json", faults_.ToJson(), {}};
  if (path == "/notify" && post) return AdminNotify(body);
  if (path.starts_with("/notify/") && get) return AdminGetNotify(path.substr(8));
  if (path == "/connections" && get) return AdminConnections();
  if (path == "/produced" && get) return AdminProduced();
  if (path == "/link_tokens" && post) return AdminSeedLinkToken(body);
  return JsonError(404, "no admin route " + std::string(method) + " " + std::string(path) +
                            " (see: POST /messages, POST /messages/batch, GET /messages/ID, GET /stats, POST /stats/reset_ack_latency, POST /faults, "
                            "GET /faults, POST /notify, GET /notify/ID, GET /connections, GET /produced, POST /link_tokens, GET /healthz)");
}

Result<std::shared_ptr<Payload>> Hub::PayloadFor(const std::string& app_id, const std::string& msg_api,
                                                 const std::string& content_json) {
  if (auth_.FindApp(app_id) == nullptr) return InvalidArgument("unknown app_id '" + app_id + "' (not given with --app)");
  std::string data = BuildDataPart(app_id, msg_api, "", "", content_json);
  auto it = payload_cache_.find(data);
  if (it != payload_cache_.end()) {
    if (auto payload = it->second.lock()) return payload;
  }
  if (payload_cache_.size() > 4096) {
    for (auto i = payload_cache_.begin(); i != payload_cache_.end();) {
      i = i->second.expired() ? payload_cache_.erase(i) : std::next(i);
    }
  }
  auto payload = std::make_shared<Payload>();
  payload->app_id = app_id;
  payload->msg_api = msg_api;
  payload->data = data;
  payload_cache_[std::move(data)] = payload;
  // Signed now, with the sign type the app's open connections use (RSA2 when none is open), so
  // that no delivery waits for an RSA private-key operation; another type is signed when needed.
  SignType type = SignType::kRsa2;
  if (auto app = by_app_.find(app_id); app != by_app_.end() && !app->second.ids.empty())
    type = live_.at(app->second.ids.front()).sign_type;
  SignatureFor(*payload, type);
  return payload;
}

HttpAnswer Hub::AdminAddMessages(std::string_view body, bool batch) {
  json::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return JsonError(400, "body is not JSON: " + ec.message());
  const int64_t now_ms = now();
  json::array ids;
  std::vector<std::string> touched_apps;
  auto add = [&](const MessageSpec& spec, const std::shared_ptr<Payload>& payload) -> Status {
    auto message = store_.Add(spec.msg_id.empty() ? NewMsgId() : spec.msg_id, payload, now_ms);
    if (!message.ok()) return message.status();
    ids.emplace_back((*message)->msg_id);
    if (std::find(touched_apps.begin(), touched_apps.end(), spec.app_id) == touched_apps.end()) {
      touched_apps.push_back(spec.app_id);
    }
    return Status::Ok();
  };
  auto add_spec = [&](const json::value& v) -> Status {
    auto spec = ParseMessageSpec(v, true);
    if (!spec.ok()) return spec.status();
    auto payload = PayloadFor(spec->app_id, spec->msg_api, spec->content);
    if (!payload.ok()) return payload.status();
    return add(*spec, *payload);
  };
  Status status;
  if (!batch) {
    status = add_spec(doc);
  } else if (doc.is_array() || (doc.is_object() && doc.as_object().if_contains("messages"))) {
    const json::value& list = doc.is_array() ? doc : doc.as_object().at("messages");
    if (!list.is_array()) return JsonError(400, "\"messages\" must be a list");
    for (const auto& item : list.as_array()) {
      status = add_spec(item);
      if (!status.ok()) break;
    }
  } else if (doc.is_object() && doc.as_object().if_contains("count")) {
    const json::value& count = doc.as_object().at("count");
    if (!count.is_int64() || count.as_int64() < 1 || count.as_int64() > 10'000'000) {
      return JsonError(400, "\"count\" must be an integer from 1 to 10000000");
    }
    auto spec = ParseMessageSpec(doc, false);
    if (!spec.ok()) return JsonError(400, spec.status().message());
    auto payload = PayloadFor(spec->app_id, spec->msg_api, spec->content);  // one payload, signed once
    if (!payload.ok()) return JsonError(400, payload.status().message());
    for (int64_t i = 0; i < count.as_int64() && status.ok(); ++i) status = add(*spec, *payload);
  } else {
    return JsonError(400, "batch body: a list of messages, {\"messages\":[...]}, or {\"count\":N,\"app_id\",\"msg_api\",\"content\"}");
  }
  for (const auto& app : touched_apps) Pump(app);
  if (!status.ok()) {
    json::object o;
    o["error"] = status.message();
    o["added"] = ids;
    return JsonOk(o, status.message().find("already exists") != std::string::npos ? 409 : 400);
  }
  if (!batch) return JsonOk(json::object{{"msg_id", ids.front()}});
  json::object o;
  o["count"] = ids.size();
  if (ids.size() <= 10000) {
    o["msg_ids"] = std::move(ids);
  } else {
    o["first_msg_id"] = ids.front();
    o["last_msg_id"] = ids.back();
  }
  return JsonOk(o);
}

HttpAnswer Hub::AdminGetMessage(std::string_view msg_id) {
  Message* m = store_.Find(msg_id);
  if (m == nullptr) return JsonError(404, "no message " + std::string(msg_id) + " (never added, or forgotten after it finished)");
  json::object o;
  o["msg_id"] = m->msg_id;
  o["app_id"] = m->payload->app_id;
  o["msg_api"] = m->payload->msg_api;
  o["state"] = ToString(m->state);
  o["created_at"] = m->created_ms;
  o["delivery_count"] = m->delivered;
  o["next_delivery_at"] = m->next_at_ms >= 0 && !m->finished() ? json::value(m->next_at_ms) : json::value(nullptr);
  o["data"] = m->payload->data;
  json::array deliveries;
  for (const auto& d : m->deliveries) {
    deliveries.push_back(json::object{{"at", d.at_ms}, {"at_us", d.at_us}, {"connection", d.connection}, {"stream_id", d.stream_id},
                                      {"bad_signature", d.bad_signature}, {"duplicated", d.duplicated}});
  }
  o["deliveries"] = std::move(deliveries);
  json::array acks;
  for (const auto& a : m->acks) {
    acks.push_back(json::object{{"status", a.success ? "SUCCESS" : "FAIL"}, {"at", a.at_ms}, {"at_us", a.at_us}, {"connection", a.connection},
                                {"late", a.late}});
  }
  o["acks"] = std::move(acks);
  return JsonOk(o);
}

HttpAnswer Hub::AdminStats() {
  const StoreCounters& s = store_.counters();
  json::object o;
  o["connections"] = live_.size();
  o["connections_total"] = counters_.connections_total;
  o["connections_rejected"] = counters_.connections_rejected;
  o["register_requests"] = counters_.register_requests;
  o["registers"] = counters_.registers;
  o["register_errors"] = counters_.register_errors;
  o["messages"] = s.messages;
  o["pending"] = store_.unfinished();
  o["delivered"] = s.deliveries;
  o["redelivered"] = s.redelivered;
  o["acked"] = json::object{{"SUCCESS", s.acks_success}, {"FAIL", s.acks_fail}};
  o["acks_unknown"] = s.acks_unknown;
  o["acked_messages"] = s.acked;
  o["given_up"] = s.given_up;
  o["produce_received"] = counters_.produce_received;
  o["produce_rejected"] = counters_.produce_bad;
  o["malformed_received"] = counters_.malformed_received;
  o["malformed_sent"] = counters_.malformed_sent;
  o["dropped_by_fault"] = counters_.dropped_by_fault;
  o["pings"] = counters_.pings;
  o["held_acks"] = held_acks_.size();
  o["forged_sent"] = counters_.forged_sent;
  o["forged_acked"] = json::object{{"SUCCESS", counters_.forged_acked_success}, {"FAIL", counters_.forged_acked_fail}};
  const LatencyHistogram& latency = store_.ack_latency();
  o["ack_latency_us"] = json::object{{"count", latency.count()},
                                     {"mean", latency.mean()},
                                     {"p50", latency.Percentile(0.50)},
                                     {"p90", latency.Percentile(0.90)},
                                     {"p99", latency.Percentile(0.99)},
                                     {"p999", latency.Percentile(0.999)},
                                     {"max", latency.max()}};
  o["notify"] = json::object{{"sent", counters_.notify_sent}, {"succeeded", counters_.notify_succeeded},
                             {"given_up", counters_.notify_given_up}};
  return JsonOk(o);
}

HttpAnswer Hub::AdminFaults(std::string_view body) {
  auto request = ParseFaultRequest(body);
  if (!request.ok()) return JsonError(400, request.status().message());
  json::object o;
  o["kind"] = ToString(request->kind);
  if (request->kind == FaultKind::kDropConnections) {
    auto targets = Targets(request->app_id);
    std::vector<Connection*> connections;
    for (Live* live : targets) connections.push_back(live->connection);
    for (Connection* c : connections) c->Drop();  // RemoveConnection follows from the session
    counters_.dropped_by_fault += connections.size();
    spdlog::info("drop_connections fault: dropped {} connections", connections.size());
    o["dropped"] = connections.size();
  } else if (request->kind == FaultKind::kMalformedFrame) {
    std::string text = MalformedFrameText(request->variant).value();
    auto targets = Targets(request->app_id);
    for (Live* live : targets) live->connection->SendText(text);
    counters_.malformed_sent += targets.size();
    spdlog::info("malformed_frame fault ({}): sent to {} connections", request->variant.empty() ? "bad_json" : request->variant,
                 targets.size());
    o["sent"] = targets.size();
  } else if (request->kind == FaultKind::kForgeFlood) {
    if (request->app_id.empty()) return JsonError(400, "forge_flood needs \"app_id\"");
    // A realistic message (about 1 KB of content) whose signature the hub spoils on each frame.
    auto payload = PayloadFor(request->app_id, "alipay.open.mini.version.audit.passed",
                              "{\"forged\":true,\"padding\":\"" + std::string(1024, 'x') + "\"}");
    if (!payload.ok()) return JsonError(400, payload.status().message());
    forge_payload_ = *payload;
    faults_.Apply(*request, now());
    spdlog::info("forge_flood fault: forged CONSUMEs to app {} for {} ms", request->app_id, request->ms);
    Pump(request->app_id);
  } else {
    faults_.Apply(*request, now());
    spdlog::info("fault {} applied", ToString(request->kind));
  }
  o["faults"] = json::parse(faults_.ToJson());
  return JsonOk(o);
}

// ---------------------------------------------------------------------------------------------
// Notifications (NOTIFY.md): a signed form POSTed to `url`, retried on the schedule until `success`.

HttpAnswer Hub::AdminNotify(std::string_view body) {
  json::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return JsonError(400, "body must be a JSON object");
  if (notify_transport_ == nullptr) return JsonError(503, "no HTTP client for notifications");
  const json::object& o = doc.as_object();
  std::string url, app_id, msg_method, tmp;
  if (GetString(o, "url", &url) == nullptr || !(url.starts_with("http://") || url.starts_with("https://"))) {
    return JsonError(400, "notify needs \"url\" (http:// or https://)");
  }
  if (GetString(o, "app_id", &app_id) == nullptr) return JsonError(400, "notify needs \"app_id\"");
  const AppEntry* app = auth_.FindApp(app_id);
  if (app == nullptr) return JsonError(400, "unknown app_id '" + app_id + "'");
  // Two forms: the message service's (msg_method + biz_content) and the classic asynchronous trade
  // notification (notify_type, e.g. trade_status_sync, with its fields as form parameters in "params").
  std::string notify_type;
  const bool classic = GetString(o, "notify_type", &notify_type) != nullptr;
  if (classic && (o.if_contains("msg_method") || o.if_contains("biz_content"))) {
    return JsonError(400, "\"notify_type\" (classic trade notification) takes its fields in \"params\", "
                          "not \"msg_method\"/\"biz_content\"");
  }
  if (!classic && GetString(o, "msg_method", &msg_method) == nullptr) {
    return JsonError(400, "notify needs \"msg_method\" (message service form) or \"notify_type\" (classic form)");
  }
  std::string biz_content;
  if (!classic) {
    auto* v = o.if_contains("biz_content");
    if (v == nullptr) return JsonError(400, "notify needs \"biz_content\" (object or string)");
    biz_content = v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
  }
  std::string sign_type_name = GetString(o, "sign_type", &tmp) ? tmp : "RSA2";
  auto sign_type = ParseSignType(sign_type_name);
  if (!sign_type.ok() || *sign_type == SignType::kSm2) return JsonError(400, "sign_type must be RSA2 or RSA");
  Params params;
  if (GetString(o, "encrypt_key", &tmp) != nullptr) {
    if (classic) return JsonError(400, "\"encrypt_key\" encrypts biz_content, which the classic form does not have");
    auto encrypted = AesEncrypt(tmp, biz_content);
    if (!encrypted.ok()) return JsonError(400, "encrypt_key: " + encrypted.status().message());
    biz_content = std::move(encrypted).value();
    params.emplace_back("encrypt_type", "AES");
  }
  std::string notify_id = GetString(o, "notify_id", &tmp) ? tmp : RandomHex32(random_);
  if (notify_jobs_.count(notify_id) != 0) return JsonError(409, "notify_id " + notify_id + " already exists");
  params.emplace_back("app_id", app_id);
  params.emplace_back("charset", "UTF-8");
  if (classic) {
    params.emplace_back("notify_type", notify_type);
    params.emplace_back("notify_time", GetString(o, "notify_time", &tmp) ? tmp : "2026-01-01 00:00:00");
  } else {
    params.emplace_back("biz_content", biz_content);
    params.emplace_back("msg_method", msg_method);
  }
  params.emplace_back("notify_id", notify_id);
  params.emplace_back("sign_type", sign_type_name);
  params.emplace_back("utc_timestamp", GetString(o, "utc_timestamp", &tmp) ? tmp : std::to_string(now()));
  params.emplace_back("version", GetString(o, "version", &tmp) ? tmp : "1.1");
  if (app->cert_mode && identity_.alipay_cert_sn) params.emplace_back("alipay_cert_sn", *identity_.alipay_cert_sn);
  if (auto* extra = o.if_contains("params")) {
    if (!extra->is_object()) return JsonError(400, "\"params\" must be an object of strings");
    for (const auto& member : extra->as_object()) {
      // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
      const std::string_view k = member.key();
      const json::value& v = member.value();
      if (!v.is_string()) return JsonError(400, "\"params\" values must be strings");
      params.erase(std::remove_if(params.begin(), params.end(), [&](const auto& p) { return p.first == k; }), params.end());
      params.emplace_back(std::string(k), std::string(v.as_string()));
    }
  }
  std::sort(params.begin(), params.end());
  std::string mode = GetString(o, "sign_content", &tmp) ? tmp : "v1";
  if (mode != "v1" && mode != "v2") return JsonError(400, "\"sign_content\" is v1 (without sign_type) or v2 (with it)");
  NotifyJob job;
  job.sign_content = mode == "v2" ? SignContentV2(params) : SignContentV1(params);
  auto sign = Sign(identity_.private_key, *sign_type, job.sign_content, "UTF-8");
  if (!sign.ok()) return JsonError(500, "cannot sign: " + sign.status().message());
  params.emplace_back("sign", *sign);
  job.notify_id = notify_id;
  job.url = url;
  job.app_id = app_id;
  job.body = BuildQuery(params);
  job.next_at_ms = now();
  auto [it, inserted] = notify_jobs_.emplace(notify_id, std::move(job));
  SendNotify(it->second);
  return JsonOk(json::object{{"notify_id", notify_id}});
}

void Hub::SendNotify(NotifyJob& job) {
  job.in_flight = true;
  ++job.attempts;
  ++counters_.notify_sent;
  const int64_t sent_at = now();
  std::string id = job.notify_id;
  spdlog::info("notify {}: attempt {} POST {}", id, job.attempts, job.url);
  notify_transport_->Post(job.url, job.body, [this, id, sent_at](int status, std::string body, std::string error) {
    auto it = notify_jobs_.find(id);
    if (it == notify_jobs_.end()) return;
    NotifyJob& j = it->second;
    j.in_flight = false;
    std::string trimmed = body;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) trimmed.pop_back();
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) trimmed.erase(0, 1);
    std::string lower = trimmed;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    j.responses.push_back(NotifyResponse{now(), status, body.substr(0, 1024), error});
    if (error.empty() && status == 200 && lower == "success") {
      j.state = "delivered";
      ++counters_.notify_succeeded;
      spdlog::info("notify {}: answered success after {} attempts", id, j.attempts);
      return;
    }
    spdlog::warn("notify {}: attempt {} answered {} {}{}", id, j.attempts, status, trimmed.substr(0, 200),
                 error.empty() ? "" : " (" + error + ")");
    if (j.attempts >= store_.schedule().max_deliveries()) {
      j.state = "given_up";
      ++counters_.notify_given_up;
      return;
    }
    j.next_at_ms = sent_at + store_.schedule().WaitAfterDelivery(j.attempts);
  });
}

HttpAnswer Hub::AdminGetNotify(std::string_view notify_id) {
  auto it = notify_jobs_.find(std::string(notify_id));
  if (it == notify_jobs_.end()) return JsonError(404, "no notification " + std::string(notify_id));
  const NotifyJob& j = it->second;
  json::object o;
  o["notify_id"] = j.notify_id;
  o["url"] = j.url;
  o["app_id"] = j.app_id;
  o["state"] = j.state;
  o["attempts"] = j.attempts;
  o["next_attempt_at"] = j.state == "pending" ? json::value(j.next_at_ms) : json::value(nullptr);
  o["sign_content"] = j.sign_content;
  o["body"] = j.body;
  json::array responses;
  for (const auto& r : j.responses) {
    responses.push_back(json::object{{"at", r.at_ms}, {"status", r.http_status}, {"body", r.body}, {"error", r.error}});
  }
  o["responses"] = std::move(responses);
  return JsonOk(o);
}

HttpAnswer Hub::AdminConnections() {
  json::array list;
  for (const auto& [id, live] : live_) {
    list.push_back(json::object{{"id", id},
                                {"app_id", live.app_id},
                                {"peer", live.peer},
                                {"mode", live.cert_client ? "cert" : "key"},
                                {"sign_type", ToString(live.sign_type)},
                                {"connected_at", live.connected_ms},
                                {"pings", live.pings},
                                {"inflight", store_.InflightCount(id)},
                                {"queued_frames", live.connection->QueuedFrames()}});
  }
  return JsonOk(json::object{{"connections", std::move(list)}});
}

HttpAnswer Hub::AdminProduced() {
  json::array list;
  for (const auto& p : produced_) {
    list.push_back(json::object{{"at", p.at_ms},          {"connection", p.connection}, {"app_id", p.app_id},
                                {"stream_id", p.stream_id}, {"msg_id", p.msg_id},       {"msg_api", p.msg_api},
                                {"content", p.content},     {"signature_ok", p.signature_ok}, {"error", p.error}});
  }
  return JsonOk(json::object{{"produced", std::move(list)}});
}

// For replaying recorded sessions: a link_token the recorded client will present.
HttpAnswer Hub::AdminSeedLinkToken(std::string_view body) {
  json::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return JsonError(400, "body must be a JSON object");
  std::string app_id, token, zone = options_.zone;
  if (GetString(doc.as_object(), "app_id", &app_id) == nullptr || auth_.FindApp(app_id) == nullptr) {
    return JsonError(400, "\"app_id\" must name a configured app");
  }
  if (GetString(doc.as_object(), "link_token", &token) == nullptr || token.empty()) return JsonError(400, "\"link_token\" is required");
  GetString(doc.as_object(), "zone", &zone);
  auth_.SeedLinkToken(token, app_id, zone, now());
  return JsonOk(json::object{{"link_token", token}});
}

}  // namespace alipaymsg::sim
