#include "testing/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/file.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <vector>

#include "testing/run_process.h"

namespace alipaymsg::testing {
namespace {

std::string FindBinDir() {
  if (const char* env = std::getenv("ALIPAYMSG_PG_BIN"); env && *env) return env;
  std::error_code ec;
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    if (std::filesystem::exists(entry.path() / "bin" / "initdb")) found.push_back(entry.path() / "bin");
  }
  if (found.empty()) return "";
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::atoi(a.parent_path().filename().c_str()) < std::atoi(b.parent_path().filename().c_str());
  });
  return found.back().string();
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string Describe(const std::vector<std::string>& argv, const ProcessResult& r) {
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  return "`" + cmd + "` exited with " + std::to_string(r.exit_code) + ": " + r.err + r.out;
}

}  // namespace

std::string PostgresServer::RunAsOwner(const std::vector<std::string>& argv) {
  std::vector<std::string> full;
  if (::geteuid() == 0) full = {"/usr/sbin/runuser", "-u", "nobody", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  ProcessResult r = RunProcess(full);
  return r.exit_code == 0 ? "" : Describe(full, r);
}

std::unique_ptr<PostgresServer> PostgresServer::Start(std::string& error) {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  server->bin_ = FindBinDir();
  if (server->bin_.empty()) {
    error = "no PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin; run scripts/setup "
            "(installs Debian's postgresql) or set ALIPAYMSG_PG_BIN";
    return nullptr;
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "alipaymsg-pg-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    error = "mkdtemp " + tmpl + " failed";
    return nullptr;
  }
  server->dir_ = buf.data();
  server->data_ = server->dir_ + "/data";
  if (::geteuid() == 0) {
    struct passwd* nobody = ::getpwnam("nobody");
    if (nobody == nullptr || ::chown(server->dir_.c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
      error = "cannot hand " + server->dir_ + " to user nobody (PostgreSQL refuses to run as root)";
      return nullptr;
    }
  }
  error = server->CopyTemplateCluster();
  if (!error.empty()) return nullptr;
  // A few tries: the free port may be taken between our probe and the server's bind.
  for (int attempt = 0; attempt < 5; ++attempt) {
    server->port_ = FreePort();
    error = server->StartServer();
    if (error.empty()) return server;
  }
  error = "the PostgreSQL server did not start: " + error;
  return nullptr;
}

// initdb costs about a second of CPU; every test process (ctest runs each test in its own) copies a
// cluster initdb'd once per machine and PostgreSQL version instead. The template is made under a lock
// (tests run in parallel) in a temp name, then renamed: it is complete or absent.
std::string PostgresServer::CopyTemplateCluster() {
  const std::string version = std::filesystem::path(bin_).parent_path().filename().string();
  const std::string base = (std::filesystem::temp_directory_path() /
                            ("alipaymsg-pg-template-" + version + "-uid" + std::to_string(::geteuid())))
                               .string();
  const std::string template_dir = base + "/data";
  if (!std::filesystem::exists(template_dir + "/PG_VERSION")) {
    std::error_code ec;
    std::filesystem::create_directories(base, ec);
    const int lock = ::open((base + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0 || ::flock(lock, LOCK_EX) != 0) return "cannot lock " + base + ".lock";
    std::string error;
    if (!std::filesystem::exists(template_dir + "/PG_VERSION")) {
      if (::geteuid() == 0) {
        struct passwd* nobody = ::getpwnam("nobody");
        if (nobody == nullptr || ::chown(base.c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
          error = "cannot hand " + base + " to user nobody";
        }
      }
      const std::string building = base + "/building";
      std::filesystem::remove_all(building, ec);
      if (error.empty()) {
        error = RunAsOwner({bin_ + "/initdb", "-D", building, "-A", "trust", "-U", "postgres", "--no-sync", "-E",
                            "UTF8", "--locale=C"});
        if (!error.empty()) error = "initdb failed: " + error;
      }
      if (error.empty()) {
        std::filesystem::rename(building, template_dir, ec);
        if (ec) error = "cannot rename " + building + ": " + ec.message();
      }
    }
    ::close(lock);
    if (!error.empty()) return error;
  }
  ProcessResult copy = RunProcess({"/bin/cp", "-a", template_dir, data_});
  if (copy.exit_code != 0) return "cannot copy the template cluster " + template_dir + ": " + copy.err;
  return "";
}

std::string PostgresServer::StartServer() {
  // fsync off: the tests kill clients and the server process, never the machine, so the OS cache
  // keeps every commit; synchronous_commit stays on (a commit is in the WAL before it is reported).
  const std::string options = "-p " + std::to_string(port_) + " -k " + dir_ +
                              " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
                              " -c max_connections=200 -c shared_buffers=32MB";
  std::string error = RunAsOwner({bin_ + "/pg_ctl", "-D", data_, "-o", options, "-l", dir_ + "/server.log",
                                  "-w", "-t", "60", "start"});
  if (!error.empty()) {
    std::ifstream log(dir_ + "/server.log");
    std::string tail((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
    return error + "\nserver.log: " + tail;
  }
  running_ = true;
  return "";
}

std::string PostgresServer::Stop() {
  if (!running_) return "";
  running_ = false;
  return RunAsOwner({bin_ + "/pg_ctl", "-D", data_, "-m", "immediate", "-w", "stop"});
}

std::string PostgresServer::Restart() {
  std::string error = Stop();
  if (!error.empty()) return error;
  return StartServer();
}

std::string PostgresServer::Detach(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  std::ofstream out(state_dir + "/cluster");
  out << port_ << "\n" << dir_ << "\n" << bin_ << "\n";
  out.close();
  if (!out) return "cannot write " + state_dir + "/cluster";
  owned_ = false;
  return "";
}

std::unique_ptr<PostgresServer> PostgresServer::Attach(const std::string& state_dir, std::string& error) {
  std::ifstream in(state_dir + "/cluster");
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  if (!(in >> server->port_ >> server->dir_ >> server->bin_)) {
    error = "no cluster recorded in " + state_dir;
    return nullptr;
  }
  server->data_ = server->dir_ + "/data";
  server->owned_ = false;
  server->running_ = true;
  std::string probe = server->Exec("postgres", "SELECT 1");
  if (!probe.empty()) {
    error = "the cluster recorded in " + state_dir + " does not answer: " + probe;
    return nullptr;
  }
  return server;
}

std::string PostgresServer::StopRecorded(const std::string& state_dir) {
  std::string error;
  std::ifstream in(state_dir + "/cluster");
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  if (!(in >> server->port_ >> server->dir_ >> server->bin_)) return "";  // nothing recorded
  server->data_ = server->dir_ + "/data";
  server->running_ = std::filesystem::exists(server->data_ + "/postmaster.pid");
  std::filesystem::remove(state_dir + "/cluster");
  return "";  // the destructor stops and removes it
}

PostgresServer::~PostgresServer() {
  if (!owned_) return;
  (void)Stop();
  if (!dir_.empty() && std::getenv("ALIPAYMSG_KEEP_TMP") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string PostgresServer::Url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::Exec(const std::string& database, const std::string& sql, std::string* first_value) {
  PGconn* conn = PQconnectdb(Url(database).c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = std::string("connecting: ") + PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    const ExecStatusType status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      error = sql + ": " + PQresultErrorMessage(r);
    } else if (first_value != nullptr) {
      *first_value = PQntuples(r) > 0 && PQnfields(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    }
    PQclear(r);
  }
  PQfinish(conn);
  return error;
}

std::string PostgresServer::CreateDatabase(const std::string& name) {
  return Exec("postgres", "CREATE DATABASE \"" + name + "\"");
}

std::string PostgresServer::FreshDatabaseUrl(const std::string& prefix) {
  const std::string name = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(next_db_++);
  std::string error = CreateDatabase(name);
  if (!error.empty()) {
    ADD_FAILURE() << "cannot create test database " << name << ": " << error;
    return "";
  }
  return Url(name);
}

namespace {

struct Shared {
  std::mutex mu;
  std::unique_ptr<PostgresServer> server;
  std::string error;
  bool tried = false;
};

Shared& TheShared() {
  static Shared* shared = new Shared();  // never destroyed: the Environment stops the server
  return *shared;
}

class PostgresEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    Shared& shared = TheShared();
    std::lock_guard lock(shared.mu);
    shared.server.reset();
  }
};

}  // namespace

PostgresServer* SharedPostgres() {
  Shared& shared = TheShared();
  std::lock_guard lock(shared.mu);
  if (!shared.tried) {
    shared.tried = true;
    if (const char* state = std::getenv("ALIPAYMSG_PG_CLUSTER"); state && *state) {
      // Under ctest: the run's cluster (fixture postgres_cluster_start). Its absence is a failure,
      // not a reason to start another.
      shared.server = PostgresServer::Attach(state, shared.error);
      if (!shared.server) {
        ADD_FAILURE() << "PostgreSQL test cluster: " << shared.error
                      << " (ctest starts it in the test postgres_cluster_start)";
        return nullptr;
      }
      return shared.server.get();
    }
    shared.server = PostgresServer::Start(shared.error);
    if (shared.server) {
      ::testing::AddGlobalTestEnvironment(new PostgresEnvironment());
      // Also when the binary leaves without tearing down (exit() from a test).
      std::atexit([] { TheShared().server.reset(); });
    }
  }
  if (!shared.server) {
    ADD_FAILURE() << "PostgreSQL test cluster: " << shared.error;
    return nullptr;
  }
  return shared.server.get();
}

}  // namespace alipaymsg::testing
