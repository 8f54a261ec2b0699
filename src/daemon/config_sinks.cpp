// The sinks: list of the daemon config: match patterns, jsonl, exec, webhook (redis: and nats: in
// config_bus.cpp), timeout and concurrency.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "base/msg_api_pattern.h"
#include "daemon/config_internal.h"

namespace alipaymsg::daemon {
namespace {

namespace fs = std::filesystem;

bool IsExecutableFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0;
}

// A bare program name is looked up in PATH now, so a typo fails at start-up, not at the first message.
fs::path FindInPath(const std::string& program) {
  const char* path_env = std::getenv("PATH");
  const std::string dirs = path_env ? path_env : "/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path candidate = fs::path(dirs.substr(start, end - start)) / program;
    if (end > start && IsExecutableFile(candidate)) return candidate;
    start = end + 1;
  }
  return {};
}

}  // namespace

void ConfigParser::ParseSinks(const YAML::Node& key, const YAML::Node& list, DaemonConfig& config) {
  if (list.IsNull()) return;
  if (!list.IsSequence()) {
    errors_.push_back(Where(key) + ": sinks: expected a list (- match: \"*\"\\n  jsonl: FILE)");
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) ParseSink(list[i], "sinks[" + std::to_string(i) + "]", config);
}

void ConfigParser::ParseSink(const YAML::Node& item, const std::string& name, DaemonConfig& config) {
  if (!item.IsMap() || item.begin() == item.end()) {
    errors_.push_back(Where(item) + ": " + name + ": expected a map (match: plus one of jsonl, exec, webhook, redis, nats)");
    return;
  }
  SinkConfig sink;
  sink.key_name = name;
  const YAML::Node first_key = (*item.begin()).first;
  sink.line = first_key.Mark().line + 1;
  const std::string where = Where(first_key);
  std::vector<std::string> kinds;  // as written
  bool has_match = false, has_timeout = false, has_concurrency = false;

  ForEachKey(item, name, &SinkKeys(), [&](const YAML::Node& k, const YAML::Node& v, const std::string& key_name) {
    const KeySpec* spec = FindKey(SinkKeys(), k.Scalar());
    if (!spec) {
      warnings_.push_back(Where(k) + ": " + key_name + ": unknown key, ignored" + DidYouMean(SinkKeys(), k.Scalar()));
      return;
    }
    const std::string& key = spec->canonical;
    if (key == "match") {
      has_match = true;
      ParseSinkMatch(k, v, key_name, sink);
    } else if (key == "jsonl") {
      kinds.push_back(key_name);
      sink.kind = SinkConfig::Kind::kJsonl;
      if (auto s = Scalar(k, v, key_name)) {
        if (s->text.empty()) Error(*s, "is empty; give the file to append to");
        else sink.jsonl_path = ResolvePath(*s);
      }
    } else if (key == "exec") {
      kinds.push_back(key_name);
      sink.kind = SinkConfig::Kind::kExec;
      ParseExecSink(k, v, key_name, sink);
    } else if (key == "webhook") {
      kinds.push_back(key_name);
      sink.kind = SinkConfig::Kind::kWebhook;
      ParseWebhookSink(k, v, key_name, sink);
    } else if (key == "redis" || key == "nats") {
      kinds.push_back(key_name);
      ParseBusSink(k, v, key_name, key == "redis", sink);
    } else if (key == "timeout-ms") {
      has_timeout = true;
      if (auto s = Scalar(k, v, key_name)) { if (auto n = Int(*s, 1, 86400000)) sink.timeout_ms = *n; }
    } else if (key == "concurrency") {
      has_concurrency = true;
      if (auto s = Scalar(k, v, key_name)) { if (auto n = Int(*s, 1, 1024)) sink.concurrency = *n; }
    }
  });

  if (!has_match) errors_.push_back(where + ": " + name + ": missing match (a msgApi, \"prefix.*\" or \"*\")");
  if (kinds.empty()) {
    errors_.push_back(where + ": " + name + ": needs one of jsonl, exec, webhook, redis, nats");
    return;
  }
  if (kinds.size() > 1) {
    errors_.push_back(where + ": " + name + ": has " + kinds[0] + " and " + kinds[1] +
                      "; one sink does one thing (add another list item for the second)");
    return;
  }
  if (sink.kind == SinkConfig::Kind::kJsonl && (has_timeout || has_concurrency)) {
    warnings_.push_back(where + ": " + name + ": timeout-ms and concurrency apply to exec and webhook "
                        "sinks; a jsonl sink writes in order, ignored");
  }
  config.sinks.push_back(std::move(sink));
}

void ConfigParser::ParseSinkMatch(const YAML::Node& k, const YAML::Node& v, const std::string& key_name,
                                  SinkConfig& sink) {
  const Value at{"", Where(k), key_name, false};
  std::vector<Value> patterns;
  if (v.IsSequence()) {
    for (const YAML::Node& p : v) {
      if (!p.IsScalar()) return Error(at, "expected a msgApi pattern or a list of them");
      patterns.push_back(Value{p.Scalar(), at.where, key_name, false});
    }
    if (patterns.empty()) Error(at, "is an empty list");
  } else if (auto s = Scalar(k, v, key_name)) {
    patterns.push_back(*s);
  }
  for (const Value& p : patterns) {
    if (Status valid = CheckMsgApiPattern(p.text); !valid.ok()) Error(p, valid.message());
    else sink.match.push_back(p.text);
  }
}

void ConfigParser::ParseExecSink(const YAML::Node& k, const YAML::Node& v, const std::string& key_name,
                                 SinkConfig& sink) {
  const Value at{"", Where(k), key_name, false};
  std::vector<std::string> argv;
  if (v.IsSequence()) {
    for (const YAML::Node& a : v) {
      if (!a.IsScalar()) return Error(at, "expected [program, arg, ...] (strings)");
      argv.push_back(a.Scalar());
    }
  } else if (auto s = Scalar(k, v, key_name)) {
    if (s->text.find_first_of(" \t") != std::string::npos) {
      return Error(*s, Quote(s->text) + " has spaces; exec takes a list [program, arg, ...] and runs no shell");
    }
    argv.push_back(s->text);
  }
  if (argv.empty() || argv[0].empty()) {
    if (v.IsSequence()) Error(at, "names no program");
    return;
  }
  if (argv[0].find('/') == std::string::npos) {
    fs::path found = FindInPath(argv[0]);
    if (found.empty()) return Error(at, Quote(argv[0]) + ": no such program in PATH");
    argv[0] = found.string();
  } else {
    argv[0] = ResolvePath(Value{argv[0], at.where, key_name, false});
    std::error_code ec;
    if (!fs::exists(argv[0], ec)) return Error(at, argv[0] + ": no such file");
    if (!IsExecutableFile(argv[0])) return Error(at, argv[0] + ": not an executable file");
  }
  sink.exec_argv = argv;
}

void ConfigParser::ParseWebhookSink(const YAML::Node& k, const YAML::Node& v, const std::string& key_name,
                                    SinkConfig& sink) {
  std::optional<Value> url, ca_file;
  if (v.IsMap()) {
    ForEachKey(v, key_name, &WebhookKeys(), [&](const YAML::Node& wk, const YAML::Node& wv, const std::string& wname) {
      const KeySpec* ws = FindKey(WebhookKeys(), wk.Scalar());
      if (!ws) {
        warnings_.push_back(Where(wk) + ": " + wname + ": unknown key, ignored" + DidYouMean(WebhookKeys(), wk.Scalar()));
      } else if (ws->canonical == "url") {
        url = Scalar(wk, wv, wname);
      } else if (ws->canonical == "ca-file") {
        if (auto ca = Scalar(wk, wv, wname)) {
          ca_file = *ca;
          sink.webhook_ca_file = ExistingFile(*ca);
        }
      } else if (!wv.IsMap()) {
        errors_.push_back(Where(wk) + ": " + wname + ": expected a map of header: value");
      } else {
        for (auto h = wv.begin(); h != wv.end(); ++h) {
          const YAML::Node header = (*h).first, header_value = (*h).second;
          if (auto hv = Scalar(header, header_value, wname + "." + header.Scalar())) {
            sink.webhook_headers[header.Scalar()] = hv->text;
          }
        }
      }
    });
    if (!url) errors_.push_back(Where(k) + ": " + key_name + ": missing url");
  } else {
    url = Scalar(k, v, key_name);
  }
  if (!url) return;
  std::string why;
  std::optional<HttpUrl> parsed = ParseHttpUrl(url->text, why);
  if (!parsed) return Error(*url, why);
  sink.webhook_url = url->text;
  if (!parsed->tls && ca_file) Warn(*ca_file, "ignored, the url is not https://");
}

}  // namespace alipaymsg::daemon
