#include "sim/hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <limits>

#include "protocol/register.h"

namespace alipaymsg::sim {

namespace json = boost::json;

HttpAnswer JsonError(int status, std::string_view message) {
  json::object o;
  o["error"] = message;
  return HttpAnswer{status, "application/json", json::serialize(o), {}};
}

Result<HubCredentials> LoadHubCredentials(const SimulatorOptions& options) {
  auto identity = LoadAlipayIdentity(options.alipay_private_key, options.alipay_cert, options.root_cert);
  if (!identity.ok()) return identity.status();
  std::vector<AppEntry> apps;
  for (const auto& [app_id, path] : options.apps) {
    for (const auto& existing : apps) {
      if (existing.app_id == app_id) return InvalidArgument("--app " + app_id + " is given twice");
    }
    auto app = LoadApp(app_id, path);
    if (!app.ok()) return app.status();
    if (app->cert_mode && !identity->alipay_cert_sn) {
      return InvalidArgument("app " + app_id + " is configured with a certificate (" + path +
                             ") but the simulator has no --alipay-cert/--root-cert for cert mode");
    }
    apps.push_back(std::move(app).value());
  }
  if (apps.empty()) return InvalidArgument("no --app APP_ID=FILE given: nobody could register");
  return HubCredentials{std::move(identity).value(), std::move(apps)};
}

Result<std::unique_ptr<Hub>> Hub::Create(const SimulatorOptions& options) {
  auto credentials = LoadHubCredentials(options);
  if (!credentials.ok()) return credentials.status();
  return Create(options, std::move(credentials).value());
}

std::unique_ptr<Hub> Hub::Create(const SimulatorOptions& options, HubCredentials credentials) {
  return std::unique_ptr<Hub>(new Hub(options, std::move(credentials.identity), std::move(credentials.apps)));
}

Hub::Hub(const SimulatorOptions& options, AlipayIdentity identity, std::vector<AppEntry> apps)
    : options_(options),
      clock_(options.clock ? options.clock : std::make_shared<SystemClock>()),
      identity_(std::move(identity)),
      auth_(std::move(apps), &identity_,
            AuthOptions{options.timestamp_window_ms, options.link_token_ttl_ms},
            options.seed != 0 ? options.seed : std::random_device{}()),
      store_(options.schedule, options.max_finished_retained),
      random_(options.seed != 0 ? options.seed + 1 : std::random_device{}()) {
  // Alipay's msg ids look like 32 hex characters; ours: 16 random per run + a 16-hex counter.
  msg_id_prefix_ = RandomHex32(random_).substr(0, 16);
  consume_header_.from_sys = options_.from_sys;
  consume_header_.from_sys_ip = options_.from_sys_ip;
  consume_fields_.type = "message";
  consume_fields_.cmd = std::string(kCmdConsume);
  consume_fields_.version = "1.0";
  consume_fields_.charset = "UTF-8";
}

Hub::~Hub() = default;

// ---------------------------------------------------------------------------------------------
// register.do and the WebSocket connect

std::string Hub::ResponseObject(const GatewayError& e) const {
  json::object o;
  o["code"] = e.code;
  o["msg"] = e.msg;
  if (!e.sub_code.empty()) o["sub_code"] = e.sub_code;
  if (!e.sub_msg.empty()) o["sub_msg"] = e.sub_msg;
  return json::serialize(o);  // members in insertion order, raw UTF-8, no whitespace
}

HttpAnswer Hub::SignedRegisterAnswer(std::string_view response_object, const CheckedRequest& request) {
  HttpAnswer answer;
  auto sign = Sign(identity_.private_key, request.sign_type, response_object, request.charset);
  if (!sign.ok()) {
    spdlog::error("register.do: cannot sign the response with the Alipay key: {}", sign.status().ToString());
  }
  // §5.3: alipay_cert_sn only for cert-mode clients (a key-mode Java client fails on it), last.
  std::optional<std::string_view> cert_sn;
  if (request.cert_client && identity_.alipay_cert_sn) cert_sn = *identity_.alipay_cert_sn;
  answer.body = BuildRegisterResponseBody(response_object, sign.ok() ? *sign : std::string(), cert_sn);
  return answer;
}

HttpAnswer Hub::HandleRegister(std::string_view query) {
  ++counters_.register_requests;
  const int64_t now_ms = now();
  CheckedRequest request = auth_.CheckRegister(query, now_ms);
  FaultRequest fault;
  if (faults_.TakeRegisterError(&fault)) {
    request.error = GatewayError{fault.code, fault.msg, fault.sub_code, fault.sub_msg};
    spdlog::info("register.do: failing on purpose (register_error fault): {} {}", fault.code, fault.sub_code);
  } else if (request.error) {
    const std::string* app_id = FindParam(request.params, "app_id");
    spdlog::warn("register.do from app {} refused: {} {}: {}", app_id ? *app_id : "?", request.error->code,
                 request.error->sub_code, request.error->sub_msg);
    if (request.error->sub_code == "isv.invalid-signature") {
      spdlog::warn("register.do: the server verified the client's sign against this content (§4.1, sorted, sign "
                   "excluded, empty values skipped): {}",
                   request.expected_sign_content);
    }
  }
  if (request.error) {
    ++counters_.register_errors;
    return SignedRegisterAnswer(ResponseObject(*request.error), request);
  }
  std::string token = auth_.IssueLinkToken(request.app->app_id, request.cert_client, options_.zone, now_ms);
  json::object o;
  o["code"] = "10000";
  o["msg"] = "Success";
  o["link_token"] = token;
  HttpAnswer answer = SignedRegisterAnswer(json::serialize(o), request);
  if (!options_.zone.empty()) answer.headers.emplace_back("Set-Cookie", "zone=" + options_.zone + "; Path=/");
  ++counters_.registers;
  spdlog::info("register.do: app {} registered ({} mode, {}), link_token {}", request.app->app_id,
               request.cert_client ? "cert" : "key", ToString(request.sign_type), token);
  return answer;
}

ConnectDecision Hub::CheckConnect(std::string_view query, std::string_view cookie_header) {
  ConnectDecision decision;
  CheckedRequest request = auth_.CheckConnect(query, cookie_header, now());
  if (request.error) {
    ++counters_.connections_rejected;
    const std::string* app_id = FindParam(request.params, "app_id");
    spdlog::warn("/websocket connect from app {} refused: {} {}: {}", app_id ? *app_id : "?", request.error->code,
                 request.error->sub_code, request.error->sub_msg);
    if (request.error->sub_code == "isv.invalid-signature") {
      spdlog::warn("/websocket: the server verified the client's sign against this content: {}",
                   request.expected_sign_content);
    }
    decision.rejection = HttpAnswer{403, "application/json;charset=UTF-8", ResponseObject(*request.error), {}};
    return decision;
  }
  decision.ok = true;
  decision.app_id = request.app->app_id;
  decision.sign_type = request.sign_type;
  decision.cert_client = request.cert_client;
  return decision;
}

uint64_t Hub::AddConnection(Connection* connection, const ConnectDecision& decision, std::string peer) {
  uint64_t id = next_connection_id_++;
  Live& live = live_[id];
  live.id = id;
  live.connection = connection;
  live.app_id = decision.app_id;
  live.sign_type = decision.sign_type;
  live.cert_client = decision.cert_client;
  live.peer = std::move(peer);
  live.connected_ms = now();
  by_app_[decision.app_id].ids.push_back(id);
  ++counters_.connections_total;
  spdlog::info("connection {} open: app {} from {}", id, decision.app_id, live.peer);
  Pump(decision.app_id);
  return id;
}

void Hub::RemoveConnection(uint64_t id, std::string_view reason) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  std::string app_id = it->second.app_id;
  live_.erase(it);
  auto& ids = by_app_[app_id].ids;
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  spdlog::info("connection {} (app {}) closed: {}", id, app_id, reason);
  if (shutting_down_) return;
  for (const auto& app : store_.OnConnectionLost(id, now())) Pump(app);
}

void Hub::OnPing(uint64_t id) {
  ++counters_.pings;
  auto it = live_.find(id);
  if (it != live_.end()) ++it->second.pings;
}

void Hub::OnWritable(uint64_t id) {
  auto it = live_.find(id);
  if (it != live_.end()) Pump(it->second.app_id);
}

void Hub::Shutdown() {
  shutting_down_ = true;
  std::vector<Connection*> all;
  for (auto& [id, live] : live_) all.push_back(live.connection);
  for (Connection* c : all) c->Drop();
}

// ---------------------------------------------------------------------------------------------
// Delivery

Hub::Live* Hub::PickConnection(AppConnections& app) {
  for (size_t tried = 0; tried < app.ids.size(); ++tried) {
    uint64_t id = app.ids[app.next++ % app.ids.size()];
    Live& live = live_.at(id);
    if (live.connection->QueuedFrames() >= options_.connection_queue_limit) continue;
    if (options_.max_inflight_per_connection != 0 &&
        store_.InflightCount(id) >= options_.max_inflight_per_connection) {
      continue;
    }
    return &live;
  }
  return nullptr;
}

void Hub::Pump(const std::string& app_id) {
  if (shutting_down_) return;
  auto it = by_app_.find(app_id);
  if (it == by_app_.end() || it->second.ids.empty()) return;  // offline: messages wait
  while (store_.HasReady(app_id)) {
    Live* live = PickConnection(it->second);
    if (live == nullptr) return;  // all busy; OnWritable / acks pump again
    Message* message = store_.PopReady(app_id);
    if (message == nullptr) return;
    Deliver(*message, *live);
  }
  Forge(app_id, it->second);
}

namespace {
constexpr std::string_view kForgedPrefix = "forged-";  // msg ids of forgeries (real ones are hex)
}  // namespace

void Hub::Forge(const std::string& app_id, AppConnections& connections) {
  if (!faults_.Forging(app_id, now()) || !forge_payload_ || forge_payload_->app_id != app_id) return;
  // Only a connection's own write queue limits the pace: OnWritable comes back here as it drains.
  while (Live* live = PickConnection(connections)) {
    consume_header_.stream_id = NextStreamId();
    consume_fields_.msg_id = std::string(kForgedPrefix) + std::to_string(++counters_.forged_sent);
    consume_fields_.timestamp = std::to_string(now());
    consume_fields_.sign_type = std::string(ToString(live->sign_type));
    std::string sign = SignatureFor(*forge_payload_, live->sign_type);
    if (!sign.empty()) sign[sign.size() / 2] = sign[sign.size() / 2] == 'A' ? 'B' : 'A';
    consume_fields_.sign = std::move(sign);
    live->connection->SendText(SerializeFrame(consume_header_, consume_fields_, forge_payload_->data));
  }
}

const std::string& Hub::SignatureFor(Payload& payload, SignType type) {
  std::string& slot = type == SignType::kRsa ? payload.sign_rsa : payload.sign_rsa2;
  if (slot.empty()) {
    auto sign = Sign(identity_.private_key, type, payload.data, "UTF-8");
    if (sign.ok()) {
      slot = std::move(sign).value();
    } else {
      spdlog::error("cannot sign a CONSUME with the Alipay key: {}", sign.status().ToString());
    }
  }
  return slot;
}

std::string Hub::NextStreamId() {
  // Like the transcripts: "s" + 13 digits.
  std::string digits = std::to_string(++stream_counter_);
  return "s" + std::string(digits.size() < 13 ? 13 - digits.size() : 0, '0') + digits;
}

std::string Hub::NewMsgId() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = msg_id_prefix_;
  id.resize(32);
  uint64_t n = ++msg_counter_;
  for (int i = 31; i >= 16; --i, n >>= 4) id[i] = kHex[n & 0xF];
  return id;
}

void Hub::Deliver(Message& message, Live& live) {
  Payload& payload = *message.payload;
  const int64_t now_us = clock_->NowUs();
  const int64_t now_ms = now_us / 1000;
  const bool bad = faults_.TakeBadSignature(live.app_id);
  const bool duplicate = faults_.TakeDuplicate(live.app_id);
  std::string stream_id = NextStreamId();
  consume_header_.stream_id = stream_id;
  consume_fields_.msg_id = message.msg_id;
  consume_fields_.timestamp = std::to_string(now_ms);
  consume_fields_.sign_type = std::string(ToString(live.sign_type));
  consume_fields_.sign = SignatureFor(payload, live.sign_type);
  if (bad && !consume_fields_.sign.empty()) {
    // Still valid base64, no longer the signature of this data.
    char& c = consume_fields_.sign[consume_fields_.sign.size() / 2];
    c = c == 'A' ? 'B' : 'A';
    spdlog::info("CONSUME {} to connection {} signed wrongly on purpose (bad_signature fault)", message.msg_id, live.id);
  }
  std::string frame = SerializeFrame(consume_header_, consume_fields_, payload.data);
  store_.MarkDelivered(message, live.id, std::move(stream_id), now_ms, bad, duplicate, now_us);
  if (duplicate) {
    spdlog::info("CONSUME {} sent twice to connection {} (duplicate fault)", message.msg_id, live.id);
    live.connection->SendText(frame);
  }
  live.connection->SendText(std::move(frame));
}

// ---------------------------------------------------------------------------------------------
// Frames from clients

void Hub::OnText(uint64_t id, std::string_view text) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  Live& live = it->second;
  auto frame = ParseFrame(text);
  if (!frame.ok()) {
    ++counters_.malformed_received;
    spdlog::warn("connection {} (app {}) sent a malformed frame: {} -- frame: {}", id, live.app_id,
                 frame.status().message(), std::string(text.substr(0, 512)));
    return;
  }
  if (frame->empty_document) return;
  const std::string& cmd = frame->protocol.cmd;
  if (cmd == kCmdConsumeAck) {
    HandleAck(live, *frame);
  } else if (cmd == kCmdProduce) {
    HandleProduce(live, *frame);
  } else {
    ++counters_.malformed_received;
    spdlog::warn("connection {} (app {}) sent x-cmd '{}': a client sends only CONSUME_ACK and PRODUCE", id,
                 live.app_id, cmd);
  }
}

void Hub::HandleAck(Live& live, const Frame& frame) {
  const std::string& status = frame.protocol.status;
  if (frame.protocol.msg_id.empty()) {
    spdlog::warn("connection {} (app {}) sent a CONSUME_ACK without x-msgId (stream-id {}): ignored", live.id,
                 live.app_id, frame.header.stream_id);
    return;
  }
  if (status != "SUCCESS" && status != "FAIL") {
    spdlog::warn("connection {} (app {}) acked {} with x-status '{}': only SUCCESS counts, treated as FAIL", live.id,
                 live.app_id, frame.protocol.msg_id, status);
  }
  const bool success = status == "SUCCESS";
  if (frame.protocol.msg_id.starts_with(kForgedPrefix)) {  // a forge_flood frame: counted, nothing stored
    ++(success ? counters_.forged_acked_success : counters_.forged_acked_fail);
    return;
  }
  if (faults_.AckWindowSlow(now())) {
    held_acks_.push_back(HeldAck{frame.protocol.msg_id, live.app_id, live.id, success});
    return;
  }
  ApplyAck(frame.protocol.msg_id, live.app_id, live.id, success, false);
}

void Hub::ApplyAck(const std::string& msg_id, const std::string& app_id, uint64_t connection, bool success, bool late) {
  const int64_t now_us = clock_->NowUs();
  AckOutcome outcome = store_.OnAck(msg_id, app_id, connection, success, now_us / 1000, late, now_us);
  switch (outcome) {
    case AckOutcome::kUnknownMessage:
      spdlog::warn("connection {} (app {}) acked unknown message {}", connection, app_id, msg_id);
      break;
    case AckOutcome::kWrongApp:
      spdlog::warn("connection {} (app {}) acked message {} of another app", connection, app_id, msg_id);
      break;
    case AckOutcome::kGivenUp:
      spdlog::info("message {} acked FAIL on its last delivery: given up", msg_id);
      break;
    default:
      break;
  }
  if (options_.max_inflight_per_connection != 0) Pump(app_id);
}

void Hub::ReleaseHeldAcks() {
  if (held_acks_.empty() || faults_.AckWindowSlow(now())) return;
  std::vector<HeldAck> held;
  held.swap(held_acks_);
  spdlog::info("slow_ack_window over: applying {} held acks", held.size());
  for (const auto& ack : held) ApplyAck(ack.msg_id, ack.app_id, ack.connection, ack.success, true);
}

void Hub::HandleProduce(Live& live, const Frame& frame) {
  ++counters_.produce_received;
  const AppEntry* app = auth_.FindApp(live.app_id);
  Produced record;
  record.at_ms = now();
  record.connection = live.id;
  record.app_id = live.app_id;
  record.stream_id = frame.header.stream_id;
  record.msg_id = RandomHex32(random_);
  record.msg_api = frame.msg_api;
  record.content = frame.content.value_or("");
  auto type = ParseSignType(frame.protocol.sign_type);
  if (!frame.has_data) {
    record.error = "PRODUCE has no data part";
  } else if (frame.protocol.sign.empty()) {
    record.error = "PRODUCE has no x-sign";
  } else if (!type.ok()) {
    record.error = "PRODUCE x-signType '" + frame.protocol.sign_type + "' is unknown";
  } else if (frame.app_id != live.app_id) {
    record.error = "PRODUCE data.header.appId '" + frame.app_id + "' is not the connection's app " + live.app_id;
  } else if (app->cert_mode && frame.app_cert_sn != app->app_cert_sn) {
    record.error = "PRODUCE data.header.app_cert_sn '" + frame.app_cert_sn + "' does not match the app certificate SN " +
                   app->app_cert_sn;
  } else {
    Status verified = Verify(app->public_key, *type, frame.signed_data, frame.protocol.sign,
                             frame.protocol.charset.empty() ? "UTF-8" : frame.protocol.charset);
    if (verified.ok()) {
      record.signature_ok = true;
    } else {
      record.error = "PRODUCE signature does not verify with the app public key: " + verified.message();
      spdlog::warn("connection {} (app {}): {}; the server verified over the data text: {}", live.id, live.app_id,
                   record.error, frame.signed_data);
    }
  }
  if (!record.error.empty()) {
    ++counters_.produce_bad;
    if (!record.signature_ok) spdlog::warn("connection {} (app {}): {}", live.id, live.app_id, record.error);
  }
  ProtocolFields ack;
  ack.type = "message";
  ack.cmd = std::string(kCmdProduceAck);
  ack.msg_id = record.msg_id;
  ack.version = "1.0";
  if (record.error.empty()) {
    ack.status = "SUCCESS";
    ack.code = "10000";
  } else {
    ack.status = "FAIL";
    ack.code = "40002";
    ack.error = record.error;
  }
  FrameHeader header;
  header.stream_id = frame.header.stream_id;  // §10.4: matched only by stream-id
  live.connection->SendText(SerializeFrame(header, ack));
  produced_.push_back(std::move(record));
  while (produced_.size() > 1000) produced_.pop_front();
}

// ---------------------------------------------------------------------------------------------
// Timers

void Hub::Tick() {
  const int64_t now_ms = now();
  ReleaseHeldAcks();
  for (const auto& app : store_.Advance(now_ms)) Pump(app);
  for (auto& [id, job] : notify_jobs_) {
    if (job.state == "pending" && !job.in_flight && job.next_at_ms <= now_ms) SendNotify(job);
  }
}

int64_t Hub::NextWakeupMs() {
  int64_t next = store_.NextDueMs();
  if (!held_acks_.empty()) next = std::min(next, faults_.slow_ack_until_ms());
  for (const auto& [id, job] : notify_jobs_) {
    if (job.state == "pending" && !job.in_flight) next = std::min(next, job.next_at_ms);
  }
  return next;
}

std::vector<Hub::Live*> Hub::Targets(const std::string& app_id) {
  std::vector<Live*> targets;
  for (auto& [id, live] : live_) {
    if (app_id.empty() || live.app_id == app_id) targets.push_back(&live);
  }
  return targets;
}

}  // namespace alipaymsg::sim
