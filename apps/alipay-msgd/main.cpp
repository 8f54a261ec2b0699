// alipay-msgd: holds the Alipay open-channel connection(s) and hands each message, once, to sinks.
//   alipay-msgd --config FILE [--log-format text|json] [--log-level LEVEL] [--log-file FILE]
//   alipay-msgd --version
// Exit status: 0 after a clean stop (SIGTERM/SIGINT), 2 for a config or credentials error (nothing
// connected), 1 for a runtime failure.
#include <signal.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <future>
#include <iostream>
#include <thread>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/idle_trim.h"

namespace {

// JSON-escapes for the json log pattern: spdlog's %v is raw, so messages are escaped before logging.
std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

struct Logging {
  bool json = false;
  std::string file;
};
Logging g_logging;

void SetUpLogging(const std::string& level) {
  std::shared_ptr<spdlog::logger> logger;
  if (g_logging.file.empty()) {
    logger = std::make_shared<spdlog::logger>("alipay-msgd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } else {
    logger = std::make_shared<spdlog::logger>(
        "alipay-msgd", std::make_shared<spdlog::sinks::basic_file_sink_mt>(g_logging.file, false));
  }
  logger->set_pattern(g_logging.json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%v"})"
                                     : "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v",
                      spdlog::pattern_time_type::utc);
  // Every line at the chosen level is flushed at once: someone who turned on debug is watching.
  const spdlog::level::level_enum threshold = spdlog::level::from_str(level);
  logger->set_level(threshold);
  logger->flush_on(std::min(threshold, spdlog::level::info));
  spdlog::set_default_logger(logger);
}

void Emit(alipaymsg::LogLevel level, std::string_view line) {
  const std::string text = g_logging.json ? JsonEscape(line) : std::string(line);
  switch (level) {
    case alipaymsg::LogLevel::kDebug: spdlog::debug("{}", text); break;
    case alipaymsg::LogLevel::kInfo: spdlog::info("{}", text); break;
    case alipaymsg::LogLevel::kWarn: spdlog::warn("{}", text); break;
    case alipaymsg::LogLevel::kError: spdlog::error("{}", text); break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"alipay-msgd: receives Alipay open-platform messages and hands each one, once, to sinks"};
  cli.set_version_flag("--version", "alipay-msgd " ALIPAYMSG_VERSION);
  std::string config_path, log_format, log_level, log_file;
  cli.add_option("--config,-c", config_path, "YAML config file")->required();
  cli.add_option("--log-format", log_format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  cli.add_option("--log-level", log_level, "trace, debug, info (default), warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  cli.add_option("--log-file", log_file, "log to this file instead of stderr (reopened on SIGHUP)");
  std::string env_help = "Environment overrides:";
  for (const std::string& name : alipaymsg::ConfigEnvironmentVariables()) env_help += " " + name;
  cli.footer(env_help);
  CLI11_PARSE(cli, argc, argv);

  alipaymsg::daemon::KeepArenaTopsSmall();
  // Block the signals in every thread; one thread waits for them (sigwait) below.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto config = alipaymsg::LoadDaemonConfig(config_path, alipaymsg::ProcessEnvironment());
  if (!config.ok()) {
    std::cerr << "alipay-msgd: config error\n" << config.status().message() << "\n";
    return 2;
  }
  g_logging.json = (log_format.empty() ? config->log.format : log_format) == "json";
  g_logging.file = log_file.empty() ? config->log.file : log_file;
  const std::string level = log_level.empty() ? config->log.level : log_level;
  try {
    SetUpLogging(level);
  } catch (const spdlog::spdlog_ex& e) {
    std::cerr << "alipay-msgd: cannot open log file " << g_logging.file << ": " << e.what() << "\n";
    return 2;
  }
  for (const std::string& w : config->warnings) Emit(alipaymsg::LogLevel::kWarn, "config: " + w);

  auto daemon = alipaymsg::daemon::Daemon::Create(*config, Emit);
  if (!daemon.ok()) {
    Emit(alipaymsg::LogLevel::kError, "cannot start: " + daemon.status().message());
    spdlog::shutdown();
    return 2;
  }
  if (alipaymsg::Status started = (*daemon)->Start(); !started.ok()) {
    Emit(alipaymsg::LogLevel::kError, "cannot start: " + started.message());
    spdlog::shutdown();
    return 1;
  }
  std::string apps;
  for (const auto& app : config->apps) {
    apps += (apps.empty() ? "" : ", ") + app.credentials.app_id + (app.cert_mode() ? " (cert mode)" : " (key mode)") +
            " → " + (app.ssl ? "wss://" : "ws://") + app.server_host;
  }
  const std::string inbox = config->inbox_url.empty()
                                ? config->inbox_path
                                : alipaymsg::RedactInboxUrl(config->inbox_url) + " (shared, PostgreSQL)";
  Emit(alipaymsg::LogLevel::kInfo, "alipay-msgd started: instance " + (*daemon)->instance_id() + "; " + apps +
                                       "; inbox " + inbox + "; ack " + std::string(alipaymsg::AckModeName(config->ack)));

  // This thread waits for signals; between them, once a second, it hands the memory a burst of
  // traffic freed back to the system when the burst is over.
  alipaymsg::daemon::IdleTrim idle_trim(alipaymsg::daemon::ReleaseFreedMemory);
  while (true) {
    const timespec one_second{1, 0};
    const int sig = sigtimedwait(&signals, nullptr, &one_second);
    if (sig < 0) {
      if (errno == EAGAIN) idle_trim.Tick((*daemon)->ActivityCount());
      continue;
    }
    if (sig == SIGHUP) {
      if (!g_logging.file.empty()) {
        try {
          SetUpLogging(level);
          Emit(alipaymsg::LogLevel::kInfo, "SIGHUP: log file reopened");
        } catch (const spdlog::spdlog_ex& e) {
          std::cerr << "alipay-msgd: cannot reopen log file: " << e.what() << "\n";
        }
      }
      continue;
    }
    Emit(alipaymsg::LogLevel::kInfo, std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") + ": draining");
    break;
  }

  // Drain within the bound; past it, exit anyway: whatever did not finish is still in the inbox
  // (pending or in flight) and runs at the next start, and unacked messages are redelivered.
  auto drained = std::async(std::launch::async, [&] { (*daemon)->Stop(); });
  if (drained.wait_for(std::chrono::milliseconds(config->shutdown_timeout_ms)) != std::future_status::ready) {
    Emit(alipaymsg::LogLevel::kWarn, "drain exceeded " + std::to_string(config->shutdown_timeout_ms) +
                                         " ms; exiting, unfinished messages resume from the inbox at next start");
    spdlog::shutdown();
    std::_Exit(0);
  }
  Emit(alipaymsg::LogLevel::kInfo, "stopped");
  spdlog::shutdown();
  return 0;
}
