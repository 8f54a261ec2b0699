// Test support for the daemon end-to-end tests: the real alipay-msgd as a child process (its admin
// port read from its log), its /metrics parsed, and small file helpers. The simulator side is
// tests/client/sim_process.h.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../client/sim_process.h"

namespace alipaymsg::daemontest {

using clienttest::ChildProcess;
using clienttest::HttpReply;

std::string DaemonBinary();  // BinDir()/alipay-msgd

void WriteFile(const std::string& path, const std::string& text);
// Writes an executable /bin/sh script.
std::string WriteScript(const std::string& path, const std::string& body);
std::vector<std::string> Lines(const std::string& text);
// A jsonl sink's lines, parsed (a line that is not a JSON object fails the test).
std::vector<boost::json::object> JsonlLines(const std::string& path);

// Prometheus text → {"name{labels}": value} (labels exactly as rendered); comments skipped.
std::map<std::string, double> ParseMetrics(const std::string& text);

// The exit of a process that was expected to stop: exit code, or -signal when killed.
int ExitCodeOf(int wait_status);

class DaemonProcess {
 public:
  // Starts `alipay-msgd --config CONFIG ARGS...` (stdout/stderr appended to `log_path`) and waits
  // until it logs its admin address. `log_file`: where the daemon logs instead (--log-file), read
  // for the admin address. Fails the test (nullptr) when it exits or logs nothing in time.
  static std::unique_ptr<DaemonProcess> Start(const std::string& config_path, const std::string& log_path,
                                              const std::vector<std::string>& args = {},
                                              const std::string& log_file = "");
  ~DaemonProcess();

  int admin_port() const { return admin_port_; }
  int notify_port() const { return notify_port_; }  // 0 when no notify: listener was logged
  pid_t pid() const { return process_->pid(); }
  HttpReply Admin(const std::string& path) const;
  std::map<std::string, double> Metrics() const;
  // One sample, e.g. `alipaymsg_duplicates_total{app_id="2021..."}`; -1 (and a test failure) when absent.
  double Metric(const std::string& key) const;
  bool Ready() const { return Admin("/readyz").status == 200; }

  // SIGTERM and wait (at most `timeout`): the exit code, -signal if killed, -1000 on timeout (then SIGKILLed).
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void Kill();  // SIGKILL and reap
  void Signal(int signal) { process_->Signal(signal); }
  std::string Log() const;  // what it wrote to stderr/stdout (and its --log-file)

 private:
  std::unique_ptr<ChildProcess> process_;
  std::string log_path_, log_file_;
  int admin_port_ = 0;
  int notify_port_ = 0;
};

// Runs alipay-msgd to its exit (at most `timeout`, then SIGKILL): {exit code, output}.
struct DaemonExit {
  int code = -1000;
  std::string output;
};
DaemonExit RunDaemonToExit(const std::string& config_path, const std::string& log_path,
                           std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace alipaymsg::daemontest
