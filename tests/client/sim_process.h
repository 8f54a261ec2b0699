// Test support: the real alipay-msg-sim (and other test binaries) as child processes, and a tiny
// HTTP/1.1 client for the simulator's admin API (plain sockets, so this compiles fast).
#pragma once

#include "alipaymsg/credentials.h"

#include <gtest/gtest.h>
#include <sys/types.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "testing/wait.h"

namespace alipaymsg::clienttest {

// A child process; killed with SIGKILL (if still running) when destroyed.
class ChildProcess {
 public:
  // argv[0] is a path. stdout and stderr go to `log_path` (appended).
  static std::unique_ptr<ChildProcess> Start(const std::vector<std::string>& argv,
                                             const std::string& log_path);
  ~ChildProcess();
  pid_t pid() const { return pid_; }
  void Signal(int signal);
  // Waits for the exit; returns the raw wait status. A second call returns the same.
  int Wait();
  bool WaitFor(std::chrono::milliseconds timeout, int* status);
  bool running();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

struct HttpReply {
  int status = 0;  // 0: no answer (error says why)
  std::string body;
  std::string error;
};
HttpReply Http(int port, const std::string& method, const std::string& path,
               const std::string& body = "");

// Files written by `alipay-msg-sim keygen DIR --app-id APP`.
struct SimKeys {
  std::string dir;
  std::string app_private_key, app_public_key, alipay_private_key, alipay_public_key;
  std::string app_cert, alipay_cert, root_cert;
};
SimKeys Keygen(const std::string& dir, const std::string& app_id);
// Keygen for `app_id` once per test process (into a temporary directory), shared by its tests.
const SimKeys& SharedKeys(const std::string& app_id);
// Key-mode credentials for `app_id` from `keys` (the app's private key, Alipay's public key); null,
// and a test failure, when they do not load. Inline: only tests that call it link the crypto library.
inline std::shared_ptr<const Credentials> KeyModeCredentials(const SimKeys& keys, const std::string& app_id) {
  CredentialsConfig config;
  config.app_id = app_id;
  config.app_private_key_path = keys.app_private_key;
  config.alipay_public_key_path = keys.alipay_public_key;
  auto credentials = Credentials::Load(config);
  EXPECT_TRUE(credentials.ok()) << credentials.status().ToString();
  if (!credentials.ok()) return nullptr;
  return std::make_shared<const Credentials>(std::move(*credentials));
}
// `alipay-msg-sim tls-keygen DIR`: ca.crt, server.crt, server.key.
struct TlsKeys {
  std::string ca, cert, key;
};
// `names`: the server certificate's subjectAltName ("" = the default, 127.0.0.1/localhost/::1).
TlsKeys TlsKeygen(const std::string& dir, const std::string& names = "");

// alipay-msg-sim arguments for one app: the Alipay key; `app_id` in cert mode (its certificate, the
// Alipay certificate and the root bundle) or key mode (its public key); HTTPS/WSS when `tls` is
// given; redelivery shrunk 1000x; warn-level logs.
std::vector<std::string> SimArgsForApp(const SimKeys& keys, const std::string& app_id, bool cert_mode,
                                       const TlsKeys* tls);

class SimProcess {
 public:
  // Starts alipay-msg-sim on ephemeral ports with `args` (after --listen/--admin/--ready-file) and
  // waits until it listens. Fails the test (nullptr) when it does not come up.
  static std::unique_ptr<SimProcess> Start(const std::string& work_dir,
                                           const std::vector<std::string>& args);
  ~SimProcess();

  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  std::string listen() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& log_path() const { return log_path_; }

  boost::json::value Get(const std::string& path) const;
  boost::json::value Post(const std::string& path, const std::string& body) const;
  // POST /messages; the new msg_id ("" and a test failure when refused).
  std::string AddMessage(const std::string& app_id, const std::string& msg_api,
                         const std::string& content_json) const;
  // POST /messages/batch {"count":N,...}; the new msg_ids.
  std::vector<std::string> AddMessages(const std::string& app_id, const std::string& msg_api,
                                       const std::string& content_json, int count) const;
  boost::json::value Fault(const std::string& json) const { return Post("/faults", json); }
  int64_t Stat(const std::string& dotted) const;  // e.g. "acked.SUCCESS"

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
  int admin_port_ = 0;
  std::string log_path_;
};

using alipaymsg::testing::WaitUntil;

std::string ReadFile(const std::string& path);

}  // namespace alipaymsg::clienttest
