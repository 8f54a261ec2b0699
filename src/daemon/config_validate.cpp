// From raw values to a DaemonConfig: the top-level sections, sinks and per-app checks.

#include <algorithm>
#include <climits>
#include <set>

#include "alipaymsg/inbox.h"
#include "base/host_port.h"
#include "daemon/config_internal.h"

namespace alipaymsg::daemon {
namespace {

const std::vector<KeySpec>& TopKeys() {
  static const std::vector<KeySpec> keys = {
      Key("alipay"), Key("apps"),  Key("inbox"), Key("ack"),      Key("sinks"),
      Key("admin"),  Key("log"),   Key("retry"), Key("dispatch"), Key("heartbeat"),
      Key("shutdown-timeout-ms"), Key("notify"), Key("instance-id")};
  return keys;
}
const std::vector<KeySpec>& SectionKeys(const std::string& section) {
  static const std::map<std::string, std::vector<KeySpec>> sections = {
      {"inbox", {Key("path"), Key("url"), Key("password-file"), Key("lease-ms"), Key("rejected-max-rows"),
                 Key("rejected-max-bytes"), Key("rejected-max-frame-bytes")}},
      {"admin", {Key("listen")}},
      {"log", {Key("level"), Key("format"), Key("file")}},
      {"retry", {Key("max-attempts"), Key("initial-backoff-ms"), Key("max-backoff-ms")}},
      {"dispatch", {Key("concurrency")}},
      {"heartbeat", {Key("ping-interval-ms"), Key("pong-timeout-ms")}},
      {"notify", {Key("listen"), Key("path"), Key("cert-file"), Key("key-file"), Key("encrypt-key"),
                  Key("max-body-bytes"), Key("header-timeout-ms"), Key("body-timeout-ms"), Key("idle-timeout-ms"),
                  Key("max-connections")}},
  };
  return sections.at(section);
}

bool IsPostgresUrl(std::string_view text) {
  return text.starts_with("postgresql://") || text.starts_with("postgres://");
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool IsLoopbackHost(std::string_view host_port) {
  auto parsed = ParseHostPort(host_port, {.port_required = false});
  if (!parsed.ok()) return false;
  return parsed->host == "localhost" || parsed->host.starts_with("127.") || parsed->host == "::1";
}

constexpr const char* kCertKeys[] = {"app-cert-public-key-path", "alipay-cert-public-key-path",
                                     "alipay-root-cert-path"};

}  // namespace

Result<DaemonConfig> ConfigParser::Run(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    std::string where = file_;
    if (!e.mark.is_null()) where += ":" + std::to_string(e.mark.line + 1);
    return ParseError(where + ": not valid YAML: " + e.msg);
  }
  DaemonConfig config;
  config.path = file_;
  config.inbox_path = (base_dir_ / "alipay-msg.db").lexically_normal().string();
  if (root.IsMap()) {
    ParseTop(root, config);
  } else if (!root.IsNull()) {
    errors_.push_back(file_ + ":1: the config must be a map of settings (alipay:, inbox:, sinks:, ...)");
  }
  ApplyEnvironment();
  for (const auto& [name, value] : globals_) ApplyGlobal(name, value, config);
  if (config.heartbeat.pong_timeout_ms <= config.heartbeat.ping_interval_ms) {
    auto pong = globals_.find("heartbeatpongtimeoutms");
    auto ping = globals_.find("heartbeatpingintervalms");
    const Value& at = pong != globals_.end() ? pong->second : ping->second;  // one of them was set
    Error(at, "the pong timeout (" + std::to_string(config.heartbeat.pong_timeout_ms) +
                  " ms) must be longer than the ping interval (" +
                  std::to_string(config.heartbeat.ping_interval_ms) + " ms), or every link looks dead");
  }

  if (auto url = globals_.find("inboxurl"); url != globals_.end()) {
    if (auto path = globals_.find("inboxpath"); path != globals_.end()) {
      Error(url->second, "set either inbox.path (SQLite, one instance) or inbox.url (PostgreSQL, shared by "
                         "instances), not both (inbox.path is set at " + path->second.where + ")");
    }
  } else {
    for (const char* only_pg : {"inboxpasswordfile", "inboxleasems"}) {
      if (auto it = globals_.find(only_pg); it != globals_.end()) {
        Warn(it->second, "only used with a PostgreSQL inbox (inbox.url); ignored");
      }
    }
  }

  if (apps_.empty() && errors_.empty()) {
    errors_.push_back(file_ + ": no app configured: add an alipay: block (app-id, sign-type, key paths) "
                      "or an apps: list, or set ALIPAY_APP_ID and the ALIPAY_*_PATH variables");
  }
  for (const RawApp& raw : apps_) ValidateApp(raw, config);
  FinishNotify(config);
  std::map<std::string, std::string> seen_ids;
  for (const AppConfig& app : config.apps) {
    auto [it, inserted] = seen_ids.emplace(app.credentials.app_id, app.key_name);
    if (!inserted) {
      errors_.push_back(file_ + ":" + std::to_string(app.line) + ": " + app.key_name + ".app-id: " +
                        Quote(app.credentials.app_id) + " is already used by " + it->second);
    }
  }
  if (config.retry.initial_backoff_ms > config.retry.max_backoff_ms) {
    errors_.push_back(file_ + ": retry.initial-backoff-ms (" + std::to_string(config.retry.initial_backoff_ms) +
                      ") is larger than retry.max-backoff-ms (" + std::to_string(config.retry.max_backoff_ms) + ")");
  }
  if (config.sinks.empty() && errors_.empty()) {
    warnings_.push_back(file_ + ": sinks: none configured; messages are stored in the inbox and marked "
                        "unhandled (replay them later with alipay-msg inbox replay)");
  }
  if (!errors_.empty()) {
    // Top to bottom through the file; environment errors after.
    auto line_of = [&](const std::string& e) -> long {
      if (!e.starts_with(file_ + ":")) return LONG_MAX;
      return std::strtol(e.c_str() + file_.size() + 1, nullptr, 10);
    };
    std::stable_sort(errors_.begin(), errors_.end(),
                     [&](const std::string& a, const std::string& b) { return line_of(a) < line_of(b); });
    std::string all;
    for (const std::string& e : errors_) all += (all.empty() ? "" : "\n") + e;
    return InvalidArgument(all);
  }
  config.warnings = warnings_;
  return config;
}

void ConfigParser::ParseTop(const YAML::Node& root, DaemonConfig& config) {
  const YAML::Node* alipay_key = nullptr;
  YAML::Node alipay_key_copy;
  ForEachKey(root, "", &TopKeys(), [&](const YAML::Node& k, const YAML::Node& v, const std::string& name) {
    const KeySpec* spec = FindKey(TopKeys(), name);
    if (!spec) {
      warnings_.push_back(Where(k) + ": " + name + ": unknown key, ignored" + DidYouMean(TopKeys(), name));
      return;
    }
    const std::string& key = spec->canonical;
    if (key == "alipay") {
      alipay_key_copy = k;
      alipay_key = &alipay_key_copy;
      ParseAppBlock(k, v, name);
    } else if (key == "apps") {
      if (alipay_key) {
        errors_.push_back(Where(k) + ": " + name + ": the config has both alipay: (line " +
                          std::to_string(alipay_key->Mark().line + 1) +
                          ") and apps:; use alipay: for one app or apps: for a list");
        return;
      }
      if (!v.IsSequence() || v.size() == 0) {
        errors_.push_back(Where(k) + ": " + name + ": expected a list of app blocks (- app-id: ...)");
        return;
      }
      for (size_t i = 0; i < v.size(); ++i) {
        const YAML::Node item = v[i];
        const YAML::Node at = item.IsMap() && item.begin() != item.end() ? YAML::Node((*item.begin()).first) : k;
        ParseAppBlock(at, item, name + "[" + std::to_string(i) + "]");
      }
    } else if (key == "sinks") {
      ParseSinks(k, v, config);
    } else if (key == "ack" || key == "shutdown-timeout-ms" || key == "instance-id") {
      if (auto value = Scalar(k, v, name)) globals_[NormalizeKey(key)] = *value;
    } else {
      if (key == "notify") notify_line_ = k.Mark().line + 1;
      ParseSection(k, v, name, SectionKeys(key), [&](const std::string& sub, const Value& value) {
        if (key == "notify" && sub == "path") notify_paths_.push_back(value);
        else globals_[NormalizeKey(key) + NormalizeKey(sub)] = value;
      });
    }
  });
  if (alipay_key) {  // `apps:` may come before `alipay:`
    size_t lists = 0;
    for (const RawApp& app : apps_) lists += app.name.starts_with("apps[") ? 1 : 0;
    if (lists > 0) {
      errors_.push_back(Where(*alipay_key) + ": alipay: the config has both alipay: and apps:; use "
                        "alipay: for one app or apps: for a list");
    }
  }
}

// A section map (inbox, admin, log, retry, dispatch, heartbeat, notify); `inbox: PATH`, `admin: HOST:PORT`
// and `notify: HOST:PORT` shorthand; notify.path may be a list.
void ConfigParser::ParseSection(const YAML::Node& key, const YAML::Node& value, const std::string& name,
                                const std::vector<KeySpec>& specs,
                                const std::function<void(const std::string&, const Value&)>& on) {
  if (value.IsScalar() && (name == "inbox" || name == "admin" || name == "notify")) {
    // `inbox: postgresql://...` is the URL, any other `inbox: X` the SQLite path.
    const bool url = name == "inbox" && IsPostgresUrl(value.Scalar());
    on(url ? "url" : specs[0].canonical, Value{value.Scalar(), Where(key), name, false});
    return;
  }
  if (!value.IsMap()) {
    std::string keys;
    for (const KeySpec& s : specs) keys += (keys.empty() ? "" : ", ") + s.canonical;
    errors_.push_back(Where(key) + ": " + name + ": expected a map with " + keys);
    return;
  }
  ForEachKey(value, name, &specs, [&](const YAML::Node& k, const YAML::Node& v, const std::string& key_name) {
    const KeySpec* spec = FindKey(specs, k.Scalar());
    if (!spec) {
      warnings_.push_back(Where(k) + ": " + key_name + ": unknown key, ignored" + DidYouMean(specs, k.Scalar()));
      return;
    }
    if (name == "notify" && spec->canonical == "path" && v.IsSequence()) {
      if (v.size() == 0) errors_.push_back(Where(k) + ": " + key_name + ": is an empty list");
      for (const YAML::Node& item : v) {
        if (auto scalar = Scalar(k, item, key_name)) on(spec->canonical, *scalar);
      }
      return;
    }
    if (auto scalar = Scalar(k, v, key_name)) on(spec->canonical, *scalar);
  });
}

void ConfigParser::ApplyGlobal(const std::string& name, const Value& v, DaemonConfig& config) {
  if (name == "inboxpath") {
    if (v.text.empty()) return Error(v, "is empty");
    config.inbox_path = ResolvePath(v);
  } else if (name == "inboxurl") {
    if (!IsPostgresUrl(v.text)) {
      return Error(v, Quote(RedactInboxUrl(v.text)) +
                          " is not a PostgreSQL URL (postgresql://user@host:5432/dbname); a SQLite inbox is "
                          "inbox.path");
    }
    config.inbox_url = v.text;
  } else if (name == "inboxpasswordfile") {
    config.inbox_password_file = ExistingFile(v);
  } else if (name == "inboxleasems") {
    if (auto n = Int(v, 1000, 3600000)) config.inbox_lease_ms = *n;
  } else if (name == "instanceid") {
    if (v.text.empty()) return Error(v, "is empty (leave it out for <hostname>-<pid>)");
    config.instance_id = v.text;
  } else if (name == "inboxrejectedmaxrows") {
    if (auto n = Int(v, 1, 100000000)) config.inbox_rejected.max_rows = *n;
  } else if (name == "inboxrejectedmaxbytes") {
    if (auto n = Int(v, 4096, 2000000000)) config.inbox_rejected.max_bytes = *n;
  } else if (name == "inboxrejectedmaxframebytes") {
    if (auto n = Int(v, 64, 4194304)) config.inbox_rejected.max_frame_bytes = *n;
  } else if (name == "ack") {
    const std::string mode = NormalizeKey(v.text);
    if (mode == "afterstore") config.ack = AckMode::kAfterStore;
    else if (mode == "afterhandle") config.ack = AckMode::kAfterHandle;
    else Error(v, Quote(v.text) + " is not one of after-store, after-handle");
  } else if (name == "adminlisten") {
    std::string host;
    int port = 0;
    if (ParseListen(v, host, port)) config.admin_host = host, config.admin_port = port;
  } else if (name == "notifylisten") {
    if (ParseListen(v, config.notify.host, config.notify.port)) config.notify.enabled = true;
  } else if (name == "notifycertfile") {
    config.notify.cert_file = ExistingFile(v);
  } else if (name == "notifykeyfile") {
    config.notify.key_file = ExistingFile(v);
  } else if (name == "notifyencryptkey") {
    // Applied to the apps without their own in FinishNotify.
  } else if (name == "notifymaxbodybytes") {
    if (auto n = Int(v, 1024, 16 << 20)) config.notify.limits.max_body_bytes = static_cast<size_t>(*n);
  } else if (name == "notifyheadertimeoutms") {
    if (auto n = Int(v, 100, 600000)) config.notify.limits.header_timeout_ms = *n;
  } else if (name == "notifybodytimeoutms") {
    if (auto n = Int(v, 100, 600000)) config.notify.limits.body_timeout_ms = *n;
  } else if (name == "notifyidletimeoutms") {
    if (auto n = Int(v, 0, 600000)) config.notify.limits.idle_timeout_ms = *n;
  } else if (name == "notifymaxconnections") {
    if (auto n = Int(v, 1, 100000)) config.notify.limits.max_connections = *n;
  } else if (name == "loglevel") {
    static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
    std::string level = NormalizeKey(v.text);
    if (level == "warning") level = "warn";
    if (!levels.count(level)) return Error(v, Quote(v.text) + " is not one of trace, debug, info, warn, error, off");
    config.log.level = level;
  } else if (name == "logformat") {
    const std::string format = NormalizeKey(v.text);
    if (format != "text" && format != "json") return Error(v, Quote(v.text) + " is not one of text, json");
    config.log.format = format;
  } else if (name == "logfile") {
    config.log.file = v.text.empty() ? "" : ResolvePath(v);
  } else if (name == "retrymaxattempts") {
    if (auto n = Int(v, 1, 1000)) config.retry.max_attempts = *n;
  } else if (name == "retryinitialbackoffms") {
    if (auto n = Int(v, 1, 86400000)) config.retry.initial_backoff_ms = *n;
  } else if (name == "retrymaxbackoffms") {
    if (auto n = Int(v, 1, 86400000)) config.retry.max_backoff_ms = *n;
  } else if (name == "dispatchconcurrency") {
    if (auto n = Int(v, 1, 1024)) config.dispatch_concurrency = *n;
  } else if (name == "heartbeatpingintervalms") {
    if (auto n = Int(v, 100, 600000)) config.heartbeat.ping_interval_ms = *n;
  } else if (name == "heartbeatpongtimeoutms") {
    if (auto n = Int(v, 500, 3600000)) config.heartbeat.pong_timeout_ms = *n;
  } else if (name == "shutdowntimeoutms") {
    if (auto n = Int(v, 0, 600000)) config.shutdown_timeout_ms = *n;
  }
}

void ConfigParser::ValidateApp(const RawApp& raw, DaemonConfig& config) {
  AppConfig app;
  app.key_name = raw.name;
  app.line = raw.line;
  CredentialsConfig& c = app.credentials;
  auto get = [&](const char* key) -> const Value* {
    auto it = raw.fields.find(key);
    return it == raw.fields.end() ? nullptr : &it->second;
  };
  const std::string block = raw.where + ": " + raw.name;
  const size_t errors_before = errors_.size();

  if (const Value* v = get("app-id")) {
    if (v->text.empty()) Error(*v, "is empty");
    else if (v->text.find_first_of(" \t\r\n") != std::string::npos) Error(*v, Quote(v->text) + " contains whitespace");
    else c.app_id = v->text;
  } else {
    errors_.push_back(block + ": missing app-id (or set ALIPAY_APP_ID)");
  }
  if (const Value* v = get("server-host")) {
    if (v->text.find("://") != std::string::npos) {
      Error(*v, Quote(v->text) + ": give host[:port] without a scheme (ssl: chooses wss or ws)");
    } else if (v->text.empty()) {
      Error(*v, "is empty");
    } else {
      auto parsed = ParseHostPort(v->text, {.port_required = false, .min_port = 1});
      if (!parsed.ok()) Error(*v, parsed.status().message());
      app.server_host = v->text;
    }
  }
  if (const Value* v = get("ssl")) {
    if (auto b = Bool(*v)) app.ssl = *b;
  }
  if (const Value* v = get("ca-file")) {
    app.ca_file = ExistingFile(*v);
    if (!app.ssl) Warn(*v, "ignored, ssl is false");
  }
  if (!app.ssl && !IsLoopbackHost(app.server_host)) {
    const Value* v = get("ssl");
    warnings_.push_back((v ? v->where + ": " + v->key : block) + ": TLS is off for " + app.server_host +
                        ", which is not a local address; messages and signatures travel in clear");
  }
  if (const Value* v = get("sign-type")) {
    const std::string type = Upper(v->text);
    if (type == "RSA2" || type == "RSA" || type == "SM2") c.sign_type = type;
    else Error(*v, Quote(v->text) + " is not one of RSA2, RSA, SM2");
  }
  if (const Value* v = get("charset")) {
    std::string cs = Upper(v->text);
    if (cs == "UTF8") cs = "UTF-8";
    if (cs == "UTF-8" || cs == "GBK" || cs == "GB2312" || cs == "GB18030") c.charset = cs;
    else Error(*v, Quote(v->text) + " is not one of UTF-8, GBK, GB2312, GB18030");
  }
  if (const Value* v = get("app-private-key-path")) {
    c.app_private_key_path = ExistingFile(*v);
  } else {
    errors_.push_back(block + ": missing app-private-key-path (Spring: app-cert-private-key-path)");
  }

  const Value* key_mode = get("alipay-public-key-path");
  std::vector<const Value*> cert_given;
  std::vector<std::string> cert_missing;
  for (const char* k : kCertKeys) {
    if (const Value* v = get(k)) cert_given.push_back(v);
    else cert_missing.push_back(k);
  }
  if (key_mode && !cert_given.empty()) {
    Error(*key_mode, "conflicts with " + cert_given[0]->key + " (" + cert_given[0]->where +
                         "): key mode takes alipay-public-key-path; certificate mode takes "
                         "app-cert-public-key-path, alipay-cert-public-key-path and alipay-root-cert-path "
                         "instead. Keep the keys of one mode");
  } else if (key_mode) {
    c.alipay_public_key_path = ExistingFile(*key_mode);
  } else if (!cert_given.empty() && !cert_missing.empty()) {
    std::string missing;
    for (const std::string& m : cert_missing) missing += (missing.empty() ? "" : " and ") + m;
    errors_.push_back(block + ": certificate mode (" + cert_given[0]->key + ") also needs " + missing);
  } else if (cert_given.empty()) {
    errors_.push_back(block + ": missing alipay-public-key-path (key mode), or app-cert-public-key-path, "
                      "alipay-cert-public-key-path and alipay-root-cert-path (certificate mode)");
  } else {
    c.app_cert_path = ExistingFile(*get("app-cert-public-key-path"));
    c.alipay_cert_path = ExistingFile(*get("alipay-cert-public-key-path"));
    c.root_cert_path = ExistingFile(*get("alipay-root-cert-path"));
  }
  if (const Value* v = get("encrypt-key")) {
    if (!LooksLikeAesKey(v->text)) {
      Error(*v, "is not an AES key: expected the base64 text of 16, 24 or 32 bytes (the key the Alipay "
                "console shows under interface content encryption)");
    } else {
      app.encrypt_key = v->text;
    }
  }
  for (const char* key : {"app-private-key-path", "alipay-public-key-path", "app-cert-public-key-path",
                          "alipay-cert-public-key-path", "alipay-root-cert-path"}) {
    if (const Value* v = get(key)) app.sources[key] = ConfigSource{v->where, v->key};
  }
  if (errors_.size() == errors_before) config.apps.push_back(std::move(app));
}

}  // namespace alipaymsg::daemon
