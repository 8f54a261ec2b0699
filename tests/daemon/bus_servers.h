// Test support: throwaway real Redis and NATS (JetStream) servers, each in its own directory on a
// free 127.0.0.1 port, stopped when the object goes (and stoppable / restartable mid-test on the
// same port and data). A server that cannot start FAILS the test saying why; nothing is skipped.
// Also small readers of what landed in them (hiredis / cnats), for the checks.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../client/sim_process.h"

namespace alipaymsg::daemontest {

class BusServer {
 public:
  enum class Kind { kRedis, kNats };
  struct Options {
    std::string user;      // nats: with password
    std::string password;  // redis: requirepass; nats: --user/--pass (or --auth when no user)
    std::string tls_cert, tls_key;  // nats: TLS required of clients (--tls --tlscert --tlskey)
  };
  // Starts the server in a fresh directory under `work_dir`; nullptr (and a test failure) when it
  // does not come up.
  static std::unique_ptr<BusServer> Start(Kind kind, const std::string& work_dir, const Options& options = {});
  ~BusServer();

  int port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:PORT/0, nats://127.0.0.1:PORT
  // SIGTERM and wait (the server saves and exits); false (and a failure) when it does not exit.
  bool Stop();
  // Starts it again on the same port and data; false (and a failure) when it does not come up.
  bool Restart();
  bool running() const { return process_ != nullptr; }
  std::string Log() const;

 private:
  BusServer() = default;
  bool Launch();
  std::vector<std::string> Argv() const;
  bool Ready() const;

  Kind kind_ = Kind::kRedis;
  Options options_;
  std::string dir_, log_path_;
  int port_ = 0, monitor_port_ = 0;
  std::unique_ptr<clienttest::ChildProcess> process_;
};

// A port nothing listens on right now (bound and released).
int FreeLocalPort();

// One entry of a Redis stream: its field/value pairs in order.
struct StreamEntry {
  std::string id;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string Field(const std::string& name) const;
};
// XRANGE stream - + (all entries). Fails the test on errors.
std::vector<StreamEntry> RedisStreamEntries(int port, const std::string& stream, const std::string& password = "");
// XLEN stream (0 when it does not exist); -1 and a failure on errors.
int64_t RedisStreamLength(int port, const std::string& stream, const std::string& password = "");
// The number of keys matching `pattern` (SCAN), e.g. the sink's markers.
size_t RedisKeyCount(int port, const std::string& pattern, const std::string& password = "");

// One message stored in a JetStream stream.
struct JetStreamMessage {
  std::string subject, msg_id_header, data;
};
// Every message of `stream`, by sequence. Fails the test on errors.
std::vector<JetStreamMessage> JetStreamMessages(int port, const std::string& stream);
// The number of messages in `stream` (0 when it does not exist yet).
int64_t JetStreamMessageCount(int port, const std::string& stream);
// Creates a JetStream stream (file storage) as another team might have; false (and a failure) on errors.
bool JetStreamCreate(int port, const std::string& stream, const std::string& subject, int64_t duplicate_window_s);
// The stream's duplicate window in seconds, and its subjects; false when it does not exist.
bool JetStreamConfig(int port, const std::string& stream, int64_t& duplicate_window_s, std::vector<std::string>& subjects);

}  // namespace alipaymsg::daemontest
