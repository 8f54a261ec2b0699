#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "base/backoff.h"
#include "daemon/sink_bus.h"

namespace alipaymsg {

namespace daemon {

std::string BusWhere(const SinkConfig& sink, const std::string& key) {
  auto it = sink.sources.find(key);
  if (it != sink.sources.end()) return it->second.ToString();
  const std::string kind(ToString(sink.kind));
  return sink.key_name + "." + kind;  // the caller adds the file:line of the sink
}

Result<std::string> ReadBusPassword(const SinkConfig& sink) {
  const SinkConfig::Bus& bus = sink.bus;
  if (!bus.password_file.empty()) {
    std::ifstream in(bus.password_file, std::ios::binary);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return InvalidArgument(BusWhere(sink, "password-file") + ": " + bus.password_file + ": cannot read a first line");
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) return InvalidArgument(BusWhere(sink, "password-file") + ": " + bus.password_file + ": the first line is empty");
    return line;
  }
  if (!bus.password_env.empty()) {
    const char* value = std::getenv(bus.password_env.c_str());
    if (!value || !*value) {
      return InvalidArgument(BusWhere(sink, "password-env") + ": the environment variable " + bus.password_env +
                             " is not set (or empty)");
    }
    return std::string(value);
  }
  return std::string();
}

std::optional<std::string> ReconnectGate::Blocked() {
  std::lock_guard lock(mu_);
  if (!failing_) return std::nullopt;  // healthy: connections open freely (at most one per slot)
  const Clock::time_point now = Clock::now();
  if (now < next_try_) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_try_ - now).count();
    return last_error_ + " (next connection attempt in " + std::to_string(wait) + " ms)";
  }
  // This caller holds the attempt: the others fail fast until it reports.
  next_try_ = now + backoff_;
  return std::nullopt;
}

void ReconnectGate::Failed(const std::string& why) {
  std::lock_guard lock(mu_);
  failing_ = true;
  last_error_ = why;
  backoff_ = CappedExponential(std::chrono::milliseconds(100), 2.0, std::chrono::seconds(5), ++failures_);
  next_try_ = Clock::now() + backoff_;
}

void ReconnectGate::Succeeded() {
  std::lock_guard lock(mu_);
  failing_ = false;
  failures_ = 0;
  backoff_ = std::chrono::milliseconds(0);
  last_error_.clear();
}

}  // namespace daemon

std::vector<ConfigFinding> CheckSinkConnections(const DaemonConfig& config) {
  std::vector<ConfigFinding> findings;
  for (const SinkConfig& sink : config.sinks) {
    if (sink.kind != SinkConfig::Kind::kRedis && sink.kind != SinkConfig::Kind::kNats) continue;
    const std::string at = config.path + ":" + std::to_string(sink.line) + ": ";
    Status probed;
    std::vector<std::string> warnings;
    if (sink.kind == SinkConfig::Kind::kRedis) {
      auto made = daemon::RedisSink::Make(sink);
      probed = made.ok() ? (*made)->Probe() : made.status();
    } else {
      auto made = daemon::NatsSink::Make(sink);
      probed = made.ok() ? (*made)->Probe(&warnings) : made.status();
    }
    for (const std::string& w : warnings) {
      findings.push_back(ConfigFinding{ConfigFinding::Severity::kWarning,
                                       daemon::BusWhere(sink, "stream").starts_with(config.path)
                                           ? daemon::BusWhere(sink, "stream") + ": " + w
                                           : at + sink.key_name + ": " + w});
    }
    if (probed.ok()) {
      findings.push_back(ConfigFinding{ConfigFinding::Severity::kOk,
                                       at + sink.key_name + " (" + std::string(ToString(sink.kind)) + "): reached " +
                                           sink.bus.url});
    } else {
      // The messages start with "file:line: sinks[N].kind.key: " when a setting is to blame.
      const std::string& m = probed.message();
      findings.push_back(ConfigFinding{ConfigFinding::Severity::kError,
                                       m.starts_with(config.path + ":") ? m : at + m});
    }
  }
  return findings;
}

}  // namespace alipaymsg
