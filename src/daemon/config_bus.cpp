// The redis: and nats: sink blocks of the daemon config (ParseSink hands them here).
#include <cstdlib>

#include "daemon/config_internal.h"
#include "daemon/sink_template.h"

namespace alipaymsg::daemon {
namespace {

const std::vector<KeySpec>& RedisKeys() {
  static const std::vector<KeySpec> keys = {
      Key("url"),           Key("stream"),       Key("maxlen"), Key("dedup-ttl-s"), Key("user"),
      Key("password-file"), Key("password-env"), Key("tls"),    Key("ca-file")};
  return keys;
}
const std::vector<KeySpec>& NatsKeys() {
  static const std::vector<KeySpec> keys = {
      Key("url"),  Key("subject"),       Key("stream"),       Key("duplicate-window-s"),
      Key("user"), Key("password-file"), Key("password-env"), Key("creds-file"),
      Key("tls"),  Key("ca-file")};
  return keys;
}

bool IsEnvName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '_') return false;
  }
  return true;
}

}  // namespace

void ConfigParser::ParseBusSink(const YAML::Node& key, const YAML::Node& value, const std::string& key_name,
                                bool redis, SinkConfig& sink) {
  sink.kind = redis ? SinkConfig::Kind::kRedis : SinkConfig::Kind::kNats;
  const std::vector<KeySpec>& specs = redis ? RedisKeys() : NatsKeys();
  if (!value.IsMap()) {
    errors_.push_back(Where(key) + ": " + key_name + (redis ? ": expected a map (url: redis://host:6379/0, stream: ...)"
                                                            : ": expected a map (url: nats://host:4222, subject: ..., stream: ...)"));
    return;
  }
  std::map<std::string, Value> given;
  ForEachKey(value, key_name, &specs, [&](const YAML::Node& k, const YAML::Node& v, const std::string& name) {
    const KeySpec* spec = FindKey(specs, k.Scalar());
    if (!spec) {
      warnings_.push_back(Where(k) + ": " + name + ": unknown key, ignored" + DidYouMean(specs, k.Scalar()));
      return;
    }
    if (auto scalar = Scalar(k, v, name)) {
      given[spec->canonical] = *scalar;
      sink.sources[spec->canonical] = ConfigSource{scalar->where, name};
    }
  });
  auto get = [&](const char* canonical) -> const Value* {
    auto it = given.find(canonical);
    return it == given.end() ? nullptr : &it->second;
  };
  auto missing = [&](const char* canonical, const char* example) {
    errors_.push_back(Where(key) + ": " + key_name + ": missing " + canonical + " (" + example + ")");
  };
  SinkConfig::Bus& bus = sink.bus;

  const char* kind = redis ? "redis" : "nats";
  if (const Value* v = get("url")) {
    std::string why;
    if (auto url = ParseBusUrl(v->text, kind, why)) {
      bus.url = v->text;
      bus.tls = url->scheme == "tls";
    } else {
      Error(*v, why);
    }
  } else {
    missing("url", redis ? "redis://127.0.0.1:6379/0" : "nats://127.0.0.1:4222");
  }
  const char* target_key = redis ? "stream" : "subject";
  if (const Value* v = get(target_key)) {
    auto problem = redis ? TemplateProblem(v->text) : NatsSubjectTemplateProblem(v->text);
    if (problem) Error(*v, "\"" + v->text + "\" " + *problem);
    else bus.target = v->text;
  } else {
    missing(target_key, redis ? "\"alipay:{msg_api}\"" : "\"alipay.{app_id}.{msg_api}\"");
  }
  if (!redis) {
    if (const Value* v = get("stream")) {
      if (v->text.empty() || v->text.find_first_of(" \t.*>/\\") != std::string::npos) {
        Error(*v, "\"" + v->text + "\" is not a JetStream stream name (no spaces, dots, *, >, slashes)");
      } else {
        bus.nats_stream = v->text;
      }
    } else {
      missing("stream", "ALIPAY");
    }
    if (const Value* v = get("duplicate-window-s")) {
      // A retry after a crash is absorbed only within the window: at least the 2 minutes that cover a
      // daemon restart.
      if (auto n = Int(*v, 120, 7 * 24 * 3600)) bus.duplicate_window_s = *n;
    }
    if (const Value* v = get("creds-file")) bus.creds_file = ExistingFile(*v);
  }
  if (redis) {
    if (const Value* v = get("maxlen")) {
      Value number = *v;
      if (number.text.starts_with('~')) {
        bus.maxlen_approximate = true;
        number.text = number.text.substr(1);
        number.text.erase(0, number.text.find_first_not_of(' '));
      }
      if (auto n = Int(number, 1, 2000000000)) bus.maxlen = *n;
    }
    if (const Value* v = get("dedup-ttl-s")) {
      // Alipay redelivers for about a day; the marker must outlive every retry of the same message.
      if (auto n = Int(*v, 3600, 366 * 24 * 3600)) bus.dedup_ttl_s = *n;
    }
  }
  if (const Value* v = get("user")) bus.user = v->text;
  const Value* password_file = get("password-file");
  const Value* password_env = get("password-env");
  if (password_file && password_env) {
    Error(*password_env, "conflicts with " + password_file->key + " (" + password_file->where + "); keep one");
  } else if (password_file) {
    bus.password_file = ExistingFile(*password_file);
  } else if (password_env) {
    if (!IsEnvName(password_env->text)) Error(*password_env, "\"" + password_env->text + "\" is not an environment variable name");
    else bus.password_env = password_env->text;
  }
  if (!bus.user.empty() && !password_file && !password_env) {
    Error(*get("user"), "needs password-file or password-env");
  }
  if (const Value* v = get("tls")) {
    if (auto on = Bool(*v)) {
      if (*on && redis) {
        Error(*v, "TLS is not supported: Debian 12's hiredis 0.14 has no TLS; reach Redis on a local or private "
                  "address, or through a TLS tunnel (stunnel, spiped)");
      }
      bus.tls = bus.tls || *on;
    }
  }
  if (const Value* v = get("ca-file")) {
    if (redis) Error(*v, "TLS is not supported for redis (hiredis 0.14)");
    else bus.ca_file = ExistingFile(*v);
    if (!redis && !bus.tls) Warn(*v, "ignored, TLS is off (tls://, or tls: true)");
  }
  if (!redis && !bus.creds_file.empty() && (password_file || password_env)) {
    Error(*get("creds-file"), "conflicts with a password; a creds file carries its own identity");
  }
}

}  // namespace alipaymsg::daemon
