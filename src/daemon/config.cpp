// The daemon config: YAML -> raw values with their source (file:line or environment) -> validated
// DaemonConfig. Values are collected first and validated after the environment is applied, so an
// error names wherever the offending value came from.
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "daemon/config.h"
#include "daemon/config_internal.h"
#include "daemon/config_keys.h"

extern char** environ;

namespace alipaymsg {

std::string_view AckModeName(AckMode mode) {
  return mode == AckMode::kAfterStore ? "after-store" : "after-handle";
}

std::string_view ToString(SinkConfig::Kind kind) {
  switch (kind) {
    case SinkConfig::Kind::kJsonl: return "jsonl";
    case SinkConfig::Kind::kExec: return "exec";
    case SinkConfig::Kind::kWebhook: return "webhook";
    case SinkConfig::Kind::kRedis: return "redis";
    case SinkConfig::Kind::kNats: return "nats";
  }
  return "?";
}

std::string_view ToString(ConfigFinding::Severity severity) {
  switch (severity) {
    case ConfigFinding::Severity::kError: return "error";
    case ConfigFinding::Severity::kWarning: return "warning";
    case ConfigFinding::Severity::kOk: return "ok";
  }
  return "?";
}

Environment ProcessEnvironment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (!entry.starts_with("ALIPAY")) continue;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

namespace daemon {
namespace {

namespace fs = std::filesystem;

// Global (not per-app) settings reachable from the environment.
struct GlobalEnvKey {
  const char* name;        // ALIPAY_INBOX_PATH
  const char* normalized;  // inboxpath
};
constexpr GlobalEnvKey kGlobalEnv[] = {
    {"ALIPAY_INBOX_PATH", "inboxpath"},   {"ALIPAY_ACK", "ack"},
    {"ALIPAY_INBOX_REJECTED_MAX_ROWS", "inboxrejectedmaxrows"},
    {"ALIPAY_INBOX_REJECTED_MAX_BYTES", "inboxrejectedmaxbytes"},
    {"ALIPAY_INBOX_REJECTED_MAX_FRAME_BYTES", "inboxrejectedmaxframebytes"},
    {"ALIPAY_ADMIN_LISTEN", "adminlisten"}, {"ALIPAY_LOG_LEVEL", "loglevel"},
    {"ALIPAY_LOG_FORMAT", "logformat"},   {"ALIPAY_LOG_FILE", "logfile"},
    {"ALIPAY_RETRY_MAX_ATTEMPTS", "retrymaxattempts"},
    {"ALIPAY_RETRY_INITIAL_BACKOFF_MS", "retryinitialbackoffms"},
    {"ALIPAY_RETRY_MAX_BACKOFF_MS", "retrymaxbackoffms"},
    {"ALIPAY_DISPATCH_CONCURRENCY", "dispatchconcurrency"},
    {"ALIPAY_HEARTBEAT_PING_INTERVAL_MS", "heartbeatpingintervalms"},
    {"ALIPAY_HEARTBEAT_PONG_TIMEOUT_MS", "heartbeatpongtimeoutms"},
    {"ALIPAY_SHUTDOWN_TIMEOUT_MS", "shutdowntimeoutms"},
    {"ALIPAY_NOTIFY_LISTEN", "notifylisten"},
    {"ALIPAY_INBOX_URL", "inboxurl"},
    {"ALIPAY_INBOX_PASSWORD_FILE", "inboxpasswordfile"},
    {"ALIPAY_INBOX_LEASE_MS", "inboxleasems"},
    {"ALIPAY_INSTANCE_ID", "instanceid"},
};

std::string EnvNameOf(const std::string& canonical) {
  std::string name = "ALIPAY_";
  for (char c : canonical) name.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return name;
}

}  // namespace

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

ConfigParser::ConfigParser(std::string file, const Environment& env) : file_(std::move(file)), env_(env) {
  fs::path p(file_);
  base_dir_ = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  fs::path absolute = fs::absolute(base_dir_, ec);
  if (!ec) base_dir_ = absolute.lexically_normal();
}

std::string ConfigParser::Where(const YAML::Node& node) const {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return file_;
  return file_ + ":" + std::to_string(mark.line + 1);
}

void ConfigParser::Error(const Value& v, const std::string& message) {
  errors_.push_back(v.where + ": " + v.key + ": " + message);
}
void ConfigParser::Warn(const Value& v, const std::string& message) {
  warnings_.push_back(v.where + ": " + v.key + ": " + message);
}

std::optional<ConfigParser::Value> ConfigParser::Scalar(const YAML::Node& key, const YAML::Node& value,
                                                        const std::string& key_name) {
  Value v{"", Where(key), key_name, false};
  if (value.IsNull()) {
    Error(v, "has no value");
    return std::nullopt;
  }
  if (!value.IsScalar()) {
    Error(v, std::string("expected a single value, got a ") + (value.IsMap() ? "map" : "list"));
    return std::nullopt;
  }
  v.text = value.Scalar();
  return v;
}

// Walks a map, calling `on_key(key_node, value_node, key_name_as_written)` per entry; reports keys
// given twice (also under two spellings of the same key).
void ConfigParser::ForEachKey(const YAML::Node& map, const std::string& prefix,
                              const std::vector<KeySpec>* specs,
                              const std::function<void(const YAML::Node&, const YAML::Node&,
                                                       const std::string&)>& on_key) {
  std::map<std::string, std::pair<std::string, int>> seen;  // normalized/canonical -> (as written, line)
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = (*it).first;  // copies: it-> yields a temporary proxy
    const YAML::Node value = (*it).second;
    if (!key.IsScalar()) {
      errors_.push_back(Where(key) + ": " + prefix + ": a key must be a plain name");
      continue;
    }
    const std::string written = key.Scalar();
    std::string identity = NormalizeKey(written);
    if (specs) {
      if (const KeySpec* spec = FindKey(*specs, written)) identity = spec->canonical;
    }
    const std::string key_name = prefix.empty() ? written : prefix + "." + written;
    auto [prev, inserted] = seen.emplace(identity, std::make_pair(written, key.Mark().line + 1));
    if (!inserted) {
      const bool same = prev->second.first == written;
      errors_.push_back(Where(key) + ": " + key_name + ": " +
                        (same ? "given twice (also on line " + std::to_string(prev->second.second) + ")"
                              : "means the same as " + prev->second.first + " on line " +
                                    std::to_string(prev->second.second) + "; keep one"));
      continue;
    }
    on_key(key, value, key_name);
  }
}

std::string ConfigParser::ResolvePath(const Value& v) const {
  fs::path p(v.text);
  if (p.is_absolute()) return p.lexically_normal().string();
  if (v.from_env) {
    std::error_code ec;
    fs::path absolute = fs::absolute(p, ec);
    return (ec ? p : absolute).lexically_normal().string();
  }
  return (base_dir_ / p).lexically_normal().string();
}

// An existing, readable regular file; the resolved path or "" after an error.
std::string ConfigParser::ExistingFile(const Value& v) {
  if (v.text.empty()) {
    Error(v, "is empty");
    return "";
  }
  std::string path = ResolvePath(v);
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    Error(v, path + ": no such file");
    return "";
  }
  if (fs::is_directory(st)) {
    Error(v, path + ": is a directory, not a file");
    return "";
  }
  if (access(path.c_str(), R_OK) != 0) {
    Error(v, path + ": not readable by this user");
    return "";
  }
  return path;
}

std::optional<int> ConfigParser::Int(const Value& v, int min, int max) {
  int value = 0;
  auto [end, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(), value);
  if (ec != std::errc() || end != v.text.data() + v.text.size()) {
    Error(v, Quote(v.text) + " is not a whole number");
    return std::nullopt;
  }
  if (value < min || value > max) {
    Error(v, std::to_string(value) + " is out of range (" + std::to_string(min) + " to " +
                 std::to_string(max) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<bool> ConfigParser::Bool(const Value& v) {
  const std::string t = NormalizeKey(v.text);
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  Error(v, Quote(v.text) + " is not true or false");
  return std::nullopt;
}

void ConfigParser::ParseAppBlock(const YAML::Node& key, const YAML::Node& block, const std::string& name) {
  RawApp app;
  app.name = name;
  app.where = Where(key);
  app.line = key.Mark().line + 1;
  if (!block.IsMap()) {
    errors_.push_back(app.where + ": " + name + ": expected a map of settings (app-id, sign-type, ...)");
    return;
  }
  ForEachKey(block, name, &AppKeys(), [&](const YAML::Node& k, const YAML::Node& v, const std::string& key_name) {
    const std::string written = k.Scalar();
    const KeySpec* spec = FindKey(AppKeys(), written);
    if (!spec) {
      const std::string normalized = NormalizeKey(written);
      if (auto hint = InlineKeyHint(normalized)) {
        errors_.push_back(Where(k) + ": " + key_name + ": " + *hint);
      } else if (IsIgnoredSpringKey(normalized)) {
        warnings_.push_back(Where(k) + ": " + key_name +
                            ": ignored (an OpenAPI client setting; the message channel does not use it)");
      } else {
        warnings_.push_back(Where(k) + ": " + key_name + ": unknown key, ignored" + DidYouMean(AppKeys(), written));
      }
      return;
    }
    if (auto value = Scalar(k, v, key_name)) app.fields[spec->canonical] = *value;
  });
  apps_.push_back(std::move(app));
}

void ConfigParser::ApplyEnvironment() {
  std::map<std::string, Value> app_env;
  for (const auto& [name, text] : env_) {
    if (!name.starts_with("ALIPAY_")) continue;
    const std::string rest = NormalizeKey(std::string_view(name).substr(7));
    Value v{text, "environment", name, true};
    bool global = false;
    for (const GlobalEnvKey& g : kGlobalEnv) {
      if (rest == g.normalized) {
        globals_[g.normalized] = v;
        global = true;
      }
    }
    if (global) continue;
    if (const KeySpec* spec = FindKey(AppKeys(), std::string_view(name).substr(7))) {
      if (app_env.count(spec->canonical)) {
        Error(v, "sets the same setting as " + app_env[spec->canonical].key + "; keep one");
        continue;
      }
      app_env[spec->canonical] = v;
      continue;
    }
    // ALIPAY_ is a broad prefix (ALIPAY_MSG_ID is set for exec sinks): only near misses are reported.
    std::string best;
    size_t best_distance = 3;
    for (const std::string& known : ConfigEnvironmentVariables()) {
      size_t d = EditDistance(name, known, best_distance - 1);
      if (d < best_distance) best = known, best_distance = d;
    }
    if (!best.empty()) warnings_.push_back("environment: " + name + ": not a setting, ignored (did you mean " + best + "?)");
  }
  if (app_env.empty()) return;
  if (apps_.empty()) {
    RawApp app;
    app.name = "alipay";
    app.where = "environment";
    apps_.push_back(std::move(app));
  }
  if (apps_.size() > 1) {
    warnings_.push_back("environment: " + app_env.begin()->second.key + ": ignored, the config lists " +
                        std::to_string(apps_.size()) + " apps (per-app overrides need a single app)");
    return;
  }
  for (auto& [canonical, v] : app_env) apps_[0].fields[canonical] = v;
}

}  // namespace daemon

std::string EffectiveInstanceId(const DaemonConfig& config) {
  if (!config.instance_id.empty()) return config.instance_id;
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof(host), "host");
  return std::string(host) + "-" + std::to_string(::getpid());
}

Result<std::string> ReadInboxPassword(const DaemonConfig& config) {
  if (config.inbox_password_file.empty()) return std::string();
  std::ifstream in(config.inbox_password_file);
  if (!in) return IoError("inbox.password-file " + config.inbox_password_file + ": cannot read it");
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return InvalidArgument("inbox.password-file " + config.inbox_password_file + ": the first line is empty");
  return line;
}

std::vector<std::string> ConfigEnvironmentVariables() {
  std::vector<std::string> names;
  for (const daemon::KeySpec& spec : daemon::AppKeys()) names.push_back(daemon::EnvNameOf(spec.canonical));
  for (const daemon::GlobalEnvKey& g : daemon::kGlobalEnv) names.push_back(g.name);
  return names;
}

Result<DaemonConfig> ParseDaemonConfig(std::string_view yaml, const std::string& path,
                                       const Environment& env) {
  daemon::ConfigParser parser(path, env);
  return parser.Run(yaml);
}

Result<DaemonConfig> LoadDaemonConfig(const std::string& path, const Environment& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    return exists ? IoError(path + ": cannot read the config file")
                  : NotFound(path + ": no such config file");
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseDaemonConfig(text.str(), path, env);
}

}  // namespace alipaymsg
