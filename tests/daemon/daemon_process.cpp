#include "daemon_process.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>

#include "testing/test_paths.h"

namespace alipaymsg::daemontest {

using clienttest::ReadFile;
using clienttest::WaitUntil;

std::string DaemonBinary() { return testing::BinDir() + "/alipay-msgd"; }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

std::string WriteScript(const std::string& path, const std::string& body) {
  WriteFile(path, "#!/bin/sh\n" + body);
  chmod(path.c_str(), 0755);
  return path;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  return lines;
}

std::vector<boost::json::object> JsonlLines(const std::string& path) {
  std::vector<boost::json::object> out;
  for (const std::string& line : Lines(ReadFile(path))) {
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "not a JSON object line in " << path << ": " << line;
      continue;
    }
    out.push_back(v.as_object());
  }
  return out;
}

std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> samples;
  for (const std::string& line : Lines(text)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const std::string value = line.substr(space + 1);
    samples[line.substr(0, space)] = value == "+Inf" ? INFINITY : std::strtod(value.c_str(), nullptr);
  }
  return samples;
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return -WTERMSIG(wait_status);
  return -1000;
}

namespace {

// "admin on http://127.0.0.1:PORT (...)", as the daemon logs it (also inside a JSON log line).
int AdminPortIn(const std::string& log) {
  static const std::regex admin(R"(admin on http://[^ ]+:([0-9]+) )");
  std::smatch m;
  return std::regex_search(log, m, admin) ? std::stoi(m[1].str()) : 0;
}

// "notify listener on http://127.0.0.1:PORT (/alipay/notify)", logged before the admin address.
int NotifyPortIn(const std::string& log) {
  static const std::regex notify(R"(notify listener on https?://[^ ]+:([0-9]+) )");
  std::smatch m;
  return std::regex_search(log, m, notify) ? std::stoi(m[1].str()) : 0;
}

}  // namespace

std::unique_ptr<DaemonProcess> DaemonProcess::Start(const std::string& config_path, const std::string& log_path,
                                                    const std::vector<std::string>& args,
                                                    const std::string& log_file) {
  auto daemon = std::unique_ptr<DaemonProcess>(new DaemonProcess());
  daemon->log_path_ = log_path;
  daemon->log_file_ = log_file;
  // Only this run's lines count: the log files may hold an earlier run's admin address.
  const size_t skip = ReadFile(log_path).size(), skip_file = log_file.empty() ? 0 : ReadFile(log_file).size();
  std::vector<std::string> argv = {DaemonBinary(), "--config", config_path};
  argv.insert(argv.end(), args.begin(), args.end());
  daemon->process_ = ChildProcess::Start(argv, log_path);
  if (!daemon->process_) return nullptr;
  WaitUntil(
      [&] {
        std::string log = ReadFile(log_path);
        daemon->admin_port_ = AdminPortIn(log.size() > skip ? log.substr(skip) : "");
        daemon->notify_port_ = NotifyPortIn(log.size() > skip ? log.substr(skip) : "");
        if (daemon->admin_port_ == 0 && !log_file.empty()) {
          std::string file = ReadFile(log_file);
          daemon->admin_port_ = AdminPortIn(file.size() > skip_file ? file.substr(skip_file) : "");
          daemon->notify_port_ = NotifyPortIn(file.size() > skip_file ? file.substr(skip_file) : "");
        }
        return daemon->admin_port_ != 0 || !daemon->process_->running();
      },
      std::chrono::seconds(20));
  if (daemon->admin_port_ == 0) {
    ADD_FAILURE() << "alipay-msgd did not start (no admin address logged):\n" << daemon->Log();
    return nullptr;
  }
  return daemon;
}

DaemonProcess::~DaemonProcess() {
  if (process_ && process_->running()) Kill();
}

HttpReply DaemonProcess::Admin(const std::string& path) const { return clienttest::Http(admin_port_, "GET", path); }

std::map<std::string, double> DaemonProcess::Metrics() const {
  HttpReply reply = Admin("/metrics");
  EXPECT_EQ(reply.status, 200) << reply.error << reply.body;
  return ParseMetrics(reply.body);
}

double DaemonProcess::Metric(const std::string& key) const {
  auto metrics = Metrics();
  auto it = metrics.find(key);
  if (it == metrics.end()) {
    ADD_FAILURE() << "no metric " << key << " in /metrics:\n" << Admin("/metrics").body;
    return -1;
  }
  return it->second;
}

int DaemonProcess::Stop(std::chrono::milliseconds timeout) {
  process_->Signal(SIGTERM);
  int status = 0;
  if (!process_->WaitFor(timeout, &status)) {
    Kill();
    return -1000;
  }
  return ExitCodeOf(status);
}

void DaemonProcess::Kill() {
  process_->Signal(SIGKILL);
  process_->Wait();
}

std::string DaemonProcess::Log() const {
  std::string log = ReadFile(log_path_);
  if (!log_file_.empty()) log += "--- " + log_file_ + ":\n" + ReadFile(log_file_);
  return log;
}

DaemonExit RunDaemonToExit(const std::string& config_path, const std::string& log_path,
                           std::chrono::milliseconds timeout) {
  DaemonExit result;
  auto process = ChildProcess::Start({DaemonBinary(), "--config", config_path}, log_path);
  if (!process) return result;
  int status = 0;
  if (process->WaitFor(timeout, &status)) {
    result.code = ExitCodeOf(status);
  } else {
    process->Signal(SIGKILL);
    process->Wait();
  }
  result.output = ReadFile(log_path);
  return result;
}

}  // namespace alipaymsg::daemontest
