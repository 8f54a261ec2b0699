// The nats: sink: a JetStream publish per message, Nats-Msg-Id = <app_id>/<msg_id>, done on the
// PubAck (sink_bus.h). One connection shared by the dispatcher's workers (cnats is thread-safe). Once
// connected, the client reconnects on its own every 500 ms while the server is away, and deliveries
// in the meantime fail fast (RetryLater) instead of queueing behind the reconnect. A first connection
// that fails, or one the client gave up on (closed), is retried through the ReconnectGate. (cnats'
// retry-on-failed-connect is not used: on an authentication error it loops inside Connect.)
#include <nats/nats.h>

#include <atomic>
#include <tuple>

#include "base/shared_library.h"
#include "daemon/sink_bus.h"

namespace alipaymsg::daemon {
namespace {

// The nats: sink's library, loaded when such a sink is configured (src/base/shared_library.h);
// its SONAME and Debian package come from CMake.
#define ALIPAYMSG_NATS_FUNCTIONS(X) \
  X(jsCtx_Destroy) X(jsOptions_Init) X(jsPubAck_Destroy) X(jsPubOptions_Init) \
  X(jsStreamConfig_Init) X(jsStreamInfo_Destroy) X(js_AddStream) X(js_GetStreamInfo) \
  X(js_PublishMsg) X(natsConnection_Connect) X(natsConnection_Destroy) \
  X(natsConnection_GetLastError) X(natsConnection_JetStream) X(natsConnection_Status) \
  X(natsMsgHeader_Set) X(natsMsg_Create) X(natsMsg_Destroy) X(natsOptions_Create) \
  X(natsOptions_Destroy) X(natsOptions_LoadCATrustedCertificates) \
  X(natsOptions_SetExpectedHostname) X(natsOptions_SetMaxReconnect) X(natsOptions_SetName) \
  X(natsOptions_SetReconnectWait) X(natsOptions_SetSecure) X(natsOptions_SetTimeout) \
  X(natsOptions_SetToken) X(natsOptions_SetURL) X(natsOptions_SetUserCredentialsFromFiles) \
  X(natsOptions_SetUserInfo) X(natsStatus_GetText) X(nats_GetLastError)
ALIPAYMSG_LIBRARY_TABLE(LibNats, ALIPAYMSG_NATS_FUNCTIONS);
ALIPAYMSG_LIBRARY_NAMES(LibNats, ALIPAYMSG_NATS_SONAME, "the nats: sink", ALIPAYMSG_NATS_PACKAGE);
const LibNats& Nats() { return LazyLibrary<LibNats>::Get(); }

std::string NatsError(natsStatus s) {
  std::string text = Nats().natsStatus_GetText(s);
  natsStatus ignored;
  const char* last = Nats().nats_GetLastError(&ignored);
  if (last && *last && text != last) text += std::string(" (") + last + ")";
  return text;
}

// NATS subject matching: "*" is one token, a final ">" one or more.
bool SubjectMatches(std::string_view pattern, std::string_view subject) {
  while (true) {
    const size_t pdot = pattern.find('.'), sdot = subject.find('.');
    const std::string_view ptoken = pattern.substr(0, pdot), stoken = subject.substr(0, sdot);
    if (ptoken == ">") return !subject.empty();
    if (ptoken != "*" && ptoken != stoken) return false;
    if (pdot == std::string_view::npos || sdot == std::string_view::npos) {
      return pdot == std::string_view::npos && sdot == std::string_view::npos;
    }
    pattern.remove_prefix(pdot + 1);
    subject.remove_prefix(sdot + 1);
  }
}

}  // namespace

struct NatsSink::State {
  std::mutex mu;  // creating the connection; creating the stream
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::atomic<bool> stream_ready{false};
  // Connections the client closed, kept until the end: a worker may still be using one.
  std::vector<std::tuple<natsOptions*, natsConnection*, jsCtx*>> retired;
  ~State() {
    for (auto [o, n, j] : retired) {
      Nats().jsCtx_Destroy(j), Nats().natsConnection_Destroy(n), Nats().natsOptions_Destroy(o);
    }
    if (js) Nats().jsCtx_Destroy(js);
    if (nc) Nats().natsConnection_Destroy(nc);
    if (opts) Nats().natsOptions_Destroy(opts);
  }
};

Result<std::shared_ptr<NatsSink>> NatsSink::Make(const SinkConfig& config) {
  if (auto lib = LazyLibrary<LibNats>::Load(); !lib.ok()) {
    return lib.status().WithContext(config.key_name);
  }
  std::string why;
  std::optional<BusUrl> url = ParseBusUrl(config.bus.url, "nats", why);
  if (!url) return InvalidArgument(BusWhere(config, "url") + ": " + why);
  auto password = ReadBusPassword(config);
  if (!password.ok()) return password.status();
  return std::shared_ptr<NatsSink>(new NatsSink(config, *url, std::move(*password)));
}

NatsSink::NatsSink(SinkConfig config, BusUrl url, std::string password)
    : config_(std::move(config)), url_(std::move(url)), password_(std::move(password)), slots_(config_.concurrency),
      state_(std::make_unique<State>()) {}

NatsSink::~NatsSink() = default;

Status NatsSink::EnsureConnection(natsConnection** nc, jsCtx** js) {
  std::lock_guard lock(state_->mu);
  if (state_->nc && Nats().natsConnection_Status(state_->nc) == NATS_CONN_STATUS_CLOSED) {
    // The client gave up (e.g. refused credentials after a server restart): start over.
    state_->retired.emplace_back(state_->opts, state_->nc, state_->js);
    state_->js = nullptr, state_->nc = nullptr, state_->opts = nullptr;
    state_->stream_ready = false;
  }
  if (!state_->js) {
    if (auto blocked = gate_.Blocked()) return Unavailable(*blocked);
    Status made = Connect();
    if (!made.ok()) {
      gate_.Failed(made.message());
      return made;
    }
    gate_.Succeeded();
  }
  if (nc) *nc = state_->nc;
  if (js) *js = state_->js;
  return Status::Ok();
}

Status NatsSink::Connect() {
  const SinkConfig::Bus& bus = config_.bus;
  natsOptions* opts = nullptr;
  natsStatus s = Nats().natsOptions_Create(&opts);
  const std::string url = (bus.tls ? "tls://" : "nats://") + url_.ToString().substr(url_.scheme.size() + 3);
  if (s == NATS_OK) s = Nats().natsOptions_SetURL(opts, url.c_str());
  if (s == NATS_OK) s = Nats().natsOptions_SetName(opts, "alipay-msgd");
  if (s == NATS_OK) s = Nats().natsOptions_SetTimeout(opts, std::min(config_.timeout_ms, 5000));
  if (s == NATS_OK) s = Nats().natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = Nats().natsOptions_SetReconnectWait(opts, 500);
  if (s != NATS_OK) {
    Nats().natsOptions_Destroy(opts);
    return Internal(config_.key_name + ".nats: client options: " + NatsError(s));
  }
  // Credentials: a .creds file, or user + password, or a password alone (a token).
  std::string credential_key;
  if (!bus.creds_file.empty()) {
    credential_key = "creds-file";
    s = Nats().natsOptions_SetUserCredentialsFromFiles(opts, bus.creds_file.c_str(), nullptr);
  } else if (!password_.empty()) {
    credential_key = bus.password_file.empty() ? "password-env" : "password-file";
    s = bus.user.empty() ? Nats().natsOptions_SetToken(opts, password_.c_str())
                         : Nats().natsOptions_SetUserInfo(opts, bus.user.c_str(), password_.c_str());
  }
  if (s != NATS_OK) {
    Nats().natsOptions_Destroy(opts);
    return InvalidArgument(BusWhere(config_, credential_key) + ": " + NatsError(s));
  }
  if (bus.tls) {
    s = Nats().natsOptions_SetSecure(opts, true);
    if (s == NATS_OK && !bus.ca_file.empty()) s = Nats().natsOptions_LoadCATrustedCertificates(opts, bus.ca_file.c_str());
    if (s == NATS_OK) s = Nats().natsOptions_SetExpectedHostname(opts, url_.host.c_str());
    if (s != NATS_OK) {
      Nats().natsOptions_Destroy(opts);
      return InvalidArgument(BusWhere(config_, bus.ca_file.empty() ? "url" : "ca-file") + ": TLS: " + NatsError(s));
    }
  }
  natsConnection* nc = nullptr;
  s = Nats().natsConnection_Connect(&nc, opts);
  if (s != NATS_OK) {
    Nats().natsOptions_Destroy(opts);
    if (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED) {
      return InvalidArgument(BusWhere(config_, credential_key.empty() ? "url" : credential_key) + ": " +
                             url_.ToString() + " refused the credentials: " + NatsError(s));
    }
    return Unavailable(BusWhere(config_, "url") + ": cannot connect to " + url_.ToString() + ": " + NatsError(s));
  }
  jsOptions js_options;
  Nats().jsOptions_Init(&js_options);
  js_options.Wait = config_.timeout_ms;
  jsCtx* js = nullptr;
  s = Nats().natsConnection_JetStream(&js, nc, &js_options);
  if (s != NATS_OK) {
    Nats().natsConnection_Destroy(nc);
    Nats().natsOptions_Destroy(opts);
    return Internal(config_.key_name + ".nats: JetStream context: " + NatsError(s));
  }
  state_->opts = opts, state_->nc = nc, state_->js = js;
  return Status::Ok();
}

Status NatsSink::EnsureStream() {
  if (state_->stream_ready.load()) return Status::Ok();
  std::lock_guard lock(state_->mu);
  if (state_->stream_ready.load()) return Status::Ok();
  if (!state_->js) return Unavailable(config_.key_name + ".nats: not connected to " + url_.ToString());
  const std::string& name = config_.bus.nats_stream;
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = Nats().js_GetStreamInfo(&info, state_->js, name.c_str(), nullptr, &code);
  if (s == NATS_OK) {
    // Someone else's stream: note what would weaken the guarantee (check-config --connect reports it).
    probe_notes_.clear();
    const int64_t window_s = info->Config->Duplicates / 1000000000;
    if (window_s < 120) {
      probe_notes_.push_back("stream " + name + " exists with a duplicate window of " + std::to_string(window_s) +
                             " s: a publish repeated after a daemon crash is absorbed only within it (at least 120 s "
                             "recommended; nats stream edit " + name + " --dupe-window 2m)");
    }
    const std::string sample = ExpandTemplate(config_.bus.target, "2021000000000001", "alipay.open.mini.x");
    bool covered = false;
    for (int i = 0; i < info->Config->SubjectsLen; ++i) covered = covered || SubjectMatches(info->Config->Subjects[i], sample);
    if (!covered) {
      probe_notes_.push_back("stream " + name + " exists, but none of its subjects is " +
                             NatsSubjectFilter(config_.bus.target) + ": publishes to " + config_.bus.target +
                             " may find no stream");
    }
    Nats().jsStreamInfo_Destroy(info);
    state_->stream_ready = true;
    return Status::Ok();
  }
  if (s != NATS_NOT_FOUND && code != JSStreamNotFoundErr) {
    return Unavailable(BusWhere(config_, "stream") + ": looking up stream " + name + " on " + url_.ToString() + ": " +
                       NatsError(s));
  }
  // Created with the subjects of the template and a duplicate window that covers a restart.
  const std::string filter = NatsSubjectFilter(config_.bus.target);
  const char* subjects[] = {filter.c_str()};
  jsStreamConfig stream;
  Nats().jsStreamConfig_Init(&stream);
  stream.Name = name.c_str();
  stream.Subjects = subjects;
  stream.SubjectsLen = 1;
  stream.Storage = js_FileStorage;
  stream.Duplicates = config_.bus.duplicate_window_s * int64_t{1000000000};
  s = Nats().js_AddStream(&info, state_->js, &stream, nullptr, &code);
  if (s != NATS_OK) {
    return Unavailable(BusWhere(config_, "stream") + ": creating stream " + name + " (subjects " + filter + ") on " +
                       url_.ToString() + ": " + NatsError(s));
  }
  Nats().jsStreamInfo_Destroy(info);
  state_->stream_ready = true;
  return Status::Ok();
}

HandlerOutcome NatsSink::Deliver(MessageView& message) {
  const std::string subject = ExpandTemplate(config_.bus.target, message.app_id(), message.msg_api());
  if (auto problem = NatsSubjectProblem(subject)) {
    return HandlerOutcome::Reject(config_.key_name + ".nats.subject: " + *problem);
  }
  if (!slots_.Acquire()) return HandlerOutcome::RetryLater("shutting down");
  struct Release {
    Slots& slots;
    ~Release() { slots.Release(); }
  } release{slots_};
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  if (Status connected = EnsureConnection(&nc, &js); !connected.ok()) return HandlerOutcome::RetryLater(connected.message());
  if (Nats().natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED) {
    const char* last = nullptr;
    Nats().natsConnection_GetLastError(nc, &last);
    return HandlerOutcome::RetryLater(config_.key_name + ".nats: not connected to " + url_.ToString() +
                                      " (reconnecting)" + (last && *last ? std::string(": ") + last : ""));
  }
  if (Status ready = EnsureStream(); !ready.ok()) return HandlerOutcome::RetryLater(ready.message());

  const std::string payload = MessageJson(message);
  const std::string msg_id = message.app_id() + "/" + message.msg_id();
  natsMsg* msg = nullptr;
  natsStatus s = Nats().natsMsg_Create(&msg, subject.c_str(), nullptr, payload.data(), static_cast<int>(payload.size()));
  if (s == NATS_OK) s = Nats().natsMsgHeader_Set(msg, "Nats-Msg-Id", msg_id.c_str());
  jsPubAck* ack = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  if (s == NATS_OK) {
    jsPubOptions options;
    Nats().jsPubOptions_Init(&options);
    options.MaxWait = config_.timeout_ms;
    s = Nats().js_PublishMsg(&ack, js, msg, &options, &code);
  }
  const std::string error = s == NATS_OK ? "" : NatsError(s);
  Nats().natsMsg_Destroy(msg);
  Nats().jsPubAck_Destroy(ack);
  if (s == NATS_OK) return HandlerOutcome::Done();
  // No responders: no stream listens on the subject (deleted meanwhile?): look it up again next time.
  if (s == NATS_NO_RESPONDERS) state_->stream_ready = false;
  return HandlerOutcome::RetryLater(config_.key_name + ".nats: publishing to " + subject + " on " + url_.ToString() +
                                    ": " + error);
}

Status NatsSink::Probe(std::vector<std::string>* warnings) {
  ALIPAYMSG_RETURN_IF_ERROR(EnsureConnection(nullptr, nullptr));
  ALIPAYMSG_RETURN_IF_ERROR(EnsureStream());
  if (warnings) {
    std::lock_guard lock(state_->mu);
    *warnings = probe_notes_;
  }
  return Status::Ok();
}

}  // namespace alipaymsg::daemon
