#include "sim_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "testing/run_process.h"
#include "testing/test_paths.h"

namespace alipaymsg::clienttest {

std::unique_ptr<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv,
                                                  const std::string& log_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return nullptr;
  }
  if (pid == 0) {
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  auto child = std::unique_ptr<ChildProcess>(new ChildProcess());
  child->pid_ = pid;
  return child;
}

ChildProcess::~ChildProcess() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

void ChildProcess::Signal(int signal) {
  if (!reaped_) kill(pid_, signal);
}

int ChildProcess::Wait() {
  if (!reaped_) {
    while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  return status_;
}

bool ChildProcess::WaitFor(std::chrono::milliseconds timeout, int* status) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reaped_) {
    const pid_t r = waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (status) *status = status_;
  return true;
}

bool ChildProcess::running() { return !WaitFor(std::chrono::milliseconds(0), nullptr); }

HttpReply Http(int port, const std::string& method, const std::string& path,
               const std::string& body) {
  HttpReply reply;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    reply.error = "socket failed";
    return reply;
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    reply.error = std::string("connect: ") + std::strerror(errno);
    close(fd);
    return reply;
  }
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST")
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      reply.error = "send failed";
      close(fd);
      return reply;
    }
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buffer[65536];
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  const size_t head_end = response.find("\r\n\r\n");
  if (response.size() < 12 || head_end == std::string::npos) {
    reply.error = "no HTTP answer";
    return reply;
  }
  reply.status = std::atoi(response.c_str() + 9);
  reply.body = response.substr(head_end + 4);
  return reply;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
std::string SimBinary() { return testing::BinDir() + "/alipay-msg-sim"; }
}  // namespace

SimKeys Keygen(const std::string& dir, const std::string& app_id) {
  auto result = testing::RunProcess({SimBinary(), "keygen", dir, "--app-id", app_id});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  SimKeys keys;
  keys.dir = dir;
  keys.app_private_key = dir + "/app_private_key.pem";
  keys.app_public_key = dir + "/app_public_key.pem";
  keys.alipay_private_key = dir + "/alipay_private_key.pem";
  keys.alipay_public_key = dir + "/alipay_public_key.pem";
  keys.app_cert = dir + "/appCertPublicKey_" + app_id + ".crt";
  keys.alipay_cert = dir + "/alipayCertPublicKey_RSA2.crt";
  keys.root_cert = dir + "/alipayRootCert.crt";
  for (const auto& f : {keys.app_private_key, keys.app_public_key, keys.alipay_private_key,
                        keys.alipay_public_key, keys.app_cert, keys.alipay_cert, keys.root_cert})
    EXPECT_TRUE(std::filesystem::exists(f)) << "keygen did not write " << f << "\n" << result.out;
  return keys;
}

const SimKeys& SharedKeys(const std::string& app_id) {
  static std::mutex mu;
  static std::map<std::string, SimKeys> keys;
  std::lock_guard lock(mu);
  auto it = keys.find(app_id);
  if (it == keys.end()) it = keys.emplace(app_id, Keygen(testing::MakeTempDir("sim-keys"), app_id)).first;
  return it->second;
}


TlsKeys TlsKeygen(const std::string& dir, const std::string& names) {
  std::vector<std::string> argv = {SimBinary(), "tls-keygen", dir};
  if (!names.empty()) argv.insert(argv.end(), {"--names", names});
  auto result = testing::RunProcess(argv);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return TlsKeys{dir + "/ca.crt", dir + "/server.crt", dir + "/server.key"};
}

std::vector<std::string> SimArgsForApp(const SimKeys& keys, const std::string& app_id, bool cert_mode,
                                       const TlsKeys* tls) {
  std::vector<std::string> args = {"--alipay-private-key", keys.alipay_private_key,
                                   "--redelivery-scale", "0.001", "--log-level", "warn"};
  if (cert_mode) {
    args.insert(args.end(), {"--alipay-cert", keys.alipay_cert, "--root-cert", keys.root_cert, "--app",
                             app_id + "=" + keys.app_cert});
  } else {
    args.insert(args.end(), {"--app", app_id + "=" + keys.app_public_key});
  }
  if (tls) args.insert(args.end(), {"--tls-cert", tls->cert, "--tls-key", tls->key});
  return args;
}

std::unique_ptr<SimProcess> SimProcess::Start(const std::string& work_dir,
                                              const std::vector<std::string>& args) {
  static int counter = 0;
  const std::string tag = std::to_string(getpid()) + "-" + std::to_string(++counter);
  const std::string ready = work_dir + "/sim-ready-" + tag + ".json";
  auto sim = std::unique_ptr<SimProcess>(new SimProcess());
  sim->log_path_ = work_dir + "/sim-" + tag + ".log";
  std::vector<std::string> argv = {SimBinary(), "--listen", "127.0.0.1:0", "--admin",
                                   "127.0.0.1:0", "--ready-file", ready};
  argv.insert(argv.end(), args.begin(), args.end());
  sim->process_ = ChildProcess::Start(argv, sim->log_path_);
  if (!sim->process_) return nullptr;
  const bool up = WaitUntil([&] { return std::filesystem::exists(ready) || !sim->process_->running(); },
                            std::chrono::seconds(20));
  if (!up || !std::filesystem::exists(ready)) {
    ADD_FAILURE() << "alipay-msg-sim did not start:\n" << ReadFile(sim->log_path_);
    return nullptr;
  }
  auto doc = boost::json::parse(ReadFile(ready));
  sim->port_ = static_cast<int>(doc.at("port").as_int64());
  sim->admin_port_ = static_cast<int>(doc.at("admin_port").as_int64());
  return sim;
}

SimProcess::~SimProcess() {
  if (process_ && process_->running()) {
    process_->Signal(SIGTERM);
    if (!process_->WaitFor(std::chrono::seconds(5), nullptr)) process_->Signal(SIGKILL);
  }
}

boost::json::value SimProcess::Get(const std::string& path) const {
  HttpReply r = Http(admin_port_, "GET", path);
  boost::json::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (ec) ADD_FAILURE() << "GET " << path << ": " << r.status << " " << r.body << " " << r.error;
  return v;
}

boost::json::value SimProcess::Post(const std::string& path, const std::string& body) const {
  HttpReply r = Http(admin_port_, "POST", path, body);
  boost::json::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (ec || r.status != 200)
    ADD_FAILURE() << "POST " << path << " " << body << ": " << r.status << " " << r.body << " " << r.error;
  return v;
}

std::string SimProcess::AddMessage(const std::string& app_id, const std::string& msg_api,
                                   const std::string& content_json) const {
  auto v = Post("/messages", R"({"app_id":")" + app_id + R"(","msg_api":")" + msg_api +
                                 R"(","content":)" + content_json + "}");
  if (!v.is_object() || !v.as_object().contains("msg_id")) return "";
  return std::string(v.at("msg_id").as_string());
}

std::vector<std::string> SimProcess::AddMessages(const std::string& app_id, const std::string& msg_api,
                                                 const std::string& content_json, int count) const {
  auto v = Post("/messages/batch", R"({"count":)" + std::to_string(count) + R"(,"app_id":")" +
                                       app_id + R"(","msg_api":")" + msg_api + R"(","content":)" +
                                       content_json + "}");
  std::vector<std::string> ids;
  if (!v.is_object() || !v.as_object().contains("msg_ids")) return ids;
  for (const auto& id : v.at("msg_ids").as_array()) ids.emplace_back(id.as_string());
  return ids;
}

int64_t SimProcess::Stat(const std::string& dotted) const {
  boost::json::value v = Get("/stats");
  std::string rest = dotted;
  while (true) {
    const size_t dot = rest.find('.');
    const std::string key = rest.substr(0, dot);
    if (!v.is_object() || !v.as_object().contains(key)) {
      ADD_FAILURE() << "no stat " << dotted << " in " << boost::json::serialize(v);
      return -1;
    }
    v = v.at(key);
    if (dot == std::string::npos) break;
    rest = rest.substr(dot + 1);
  }
  return v.is_int64() ? v.as_int64() : v.is_uint64() ? static_cast<int64_t>(v.as_uint64()) : -1;
}

}  // namespace alipaymsg::clienttest
