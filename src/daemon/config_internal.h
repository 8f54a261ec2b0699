// The config parser's state, shared by config.cpp (YAML walking, environment),
// config_validate.cpp (turning raw values into a DaemonConfig), config_sinks.cpp, config_bus.cpp
// and config_notify.cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/config_keys.h"

namespace alipaymsg::daemon {

// Base64 of 16, 24 or 32 bytes (an AES key as the Alipay console shows it).
bool LooksLikeAesKey(std::string_view text);

// "text" with its quotes, for messages about a value.
std::string Quote(std::string_view s);

class ConfigParser {
 public:
  ConfigParser(std::string file, const Environment& env);
  Result<DaemonConfig> Run(std::string_view yaml);

  // A scalar setting and where it came from.
  struct Value {
    std::string text;
    std::string where;  // "config.yaml:7" or "environment"
    std::string key;    // "alipay.sign-type" or "ALIPAY_SIGN_TYPE"
    bool from_env = false;
  };

 private:
  struct RawApp {
    std::string name;   // "alipay" or "apps[0]"
    std::string where;  // where the block starts
    int line = 0;
    std::map<std::string, Value> fields;  // canonical key -> value
  };
  using KeyFn = std::function<void(const YAML::Node&, const YAML::Node&, const std::string&)>;

  std::string Where(const YAML::Node& node) const;
  void Error(const Value& v, const std::string& message);
  void Warn(const Value& v, const std::string& message);
  std::optional<Value> Scalar(const YAML::Node& key, const YAML::Node& value, const std::string& key_name);
  void ForEachKey(const YAML::Node& map, const std::string& prefix, const std::vector<KeySpec>* specs,
                  const KeyFn& on_key);
  std::string ResolvePath(const Value& v) const;
  std::string ExistingFile(const Value& v);
  std::optional<int> Int(const Value& v, int min, int max);
  std::optional<bool> Bool(const Value& v);

  void ParseTop(const YAML::Node& root, DaemonConfig& config);
  void ParseAppBlock(const YAML::Node& key, const YAML::Node& block, const std::string& name);
  void ParseSinks(const YAML::Node& key, const YAML::Node& list, DaemonConfig& config);
  // One item of sinks: (config_sinks.cpp), and the parts that need more than a line.
  void ParseSink(const YAML::Node& item, const std::string& name, DaemonConfig& config);
  void ParseSinkMatch(const YAML::Node& key, const YAML::Node& value, const std::string& key_name, SinkConfig& sink);
  void ParseExecSink(const YAML::Node& key, const YAML::Node& value, const std::string& key_name, SinkConfig& sink);
  void ParseWebhookSink(const YAML::Node& key, const YAML::Node& value, const std::string& key_name,
                        SinkConfig& sink);
  // The redis: / nats: block of a sink (config_bus.cpp).
  void ParseBusSink(const YAML::Node& key, const YAML::Node& value, const std::string& key_name, bool redis,
                    SinkConfig& sink);
  void ParseSection(const YAML::Node& key, const YAML::Node& value, const std::string& name,
                    const std::vector<KeySpec>& specs, const std::function<void(const std::string&, const Value&)>& on);
  void ApplyEnvironment();
  void ApplyGlobal(const std::string& normalized, const Value& v, DaemonConfig& config);
  void ValidateApp(const RawApp& raw, DaemonConfig& config);
  // host:port (admin.listen, notify.listen): false after an error naming the value.
  bool ParseListen(const Value& v, std::string& host, int& port);
  void FinishNotify(DaemonConfig& config);

  std::string file_;
  std::filesystem::path base_dir_;
  const Environment& env_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
  std::vector<RawApp> apps_;
  // Global settings by normalized "section + key" ("inboxpath", "retrymaxattempts"): the YAML's,
  // then the environment's on top.
  std::map<std::string, Value> globals_;
  std::vector<Value> notify_paths_;  // notify.path: one or a list
  int notify_line_ = 0;
};

}  // namespace alipaymsg::daemon
