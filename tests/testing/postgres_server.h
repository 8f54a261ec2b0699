// A throwaway PostgreSQL cluster for tests: initdb into a temp dir, a free port on 127.0.0.1, its
// unix socket in the temp dir, stopped and removed at the end. As root (CI) the server runs as the
// unprivileged user `nobody` (PostgreSQL refuses to run as root). The binaries come from
// $ALIPAYMSG_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin (Debian's `postgresql`).
//
// Sharing: under ctest one cluster serves the whole run (ctest runs every test in a process of its
// own): the fixture tests postgres_cluster_start / _stop run `pg_cluster start|stop DIR` and the
// tests find it through $ALIPAYMSG_PG_CLUSTER=DIR. Run directly, a test binary starts one cluster on
// first use (SharedPostgres(); a gtest Environment stops it). Each test takes a fresh database. A
// cluster that cannot start FAILS the test with the reason (never a skip). Tests that stop or
// restart the server start a private one (PostgresServer::Start).
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace alipaymsg::testing {

class PostgresServer {
 public:
  // Starts a cluster; on failure returns nullptr and sets `error` (the failing command and its output).
  static std::unique_ptr<PostgresServer> Start(std::string& error);
  ~PostgresServer();  // stops it (immediate) and removes its directory
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // postgresql://postgres@127.0.0.1:<port>/<database>
  std::string Url(const std::string& database) const;
  // Creates a database named `name` (dropped with the cluster); "" on success, else the error.
  std::string CreateDatabase(const std::string& name);
  // A new database with a unique name; returns its URL, or "" after failing the current test.
  std::string FreshDatabaseUrl(const std::string& prefix = "t");
  // Runs one SQL statement on `database` (the test's own connection); "" on success, else the error.
  std::string Exec(const std::string& database, const std::string& sql, std::string* first_value = nullptr);

  // Stops the server (immediate shutdown: like a crash, as far as clients see) and starts it again on
  // the same port; "" on success.
  std::string Stop();
  std::string Restart();

  // For `pg_cluster`: records the running cluster in `state_dir` and leaves it running when this
  // object goes away; Attach finds it again (nullptr + error when there is none, or it is down);
  // StopRecorded stops and removes it.
  std::string Detach(const std::string& state_dir);
  static std::unique_ptr<PostgresServer> Attach(const std::string& state_dir, std::string& error);
  static std::string StopRecorded(const std::string& state_dir);

 private:
  PostgresServer() = default;
  std::string RunAsOwner(const std::vector<std::string>& argv);
  std::string StartServer();
  std::string CopyTemplateCluster();

  std::string bin_;
  std::string dir_;
  std::string data_;
  int port_ = 0;
  bool running_ = false;
  bool owned_ = true;  // stop and remove at destruction
  int next_db_ = 0;
};

// The cluster shared by this test binary (started on first call). Fails the current test and
// returns nullptr when it cannot start; later calls report the same failure.
PostgresServer* SharedPostgres();

}  // namespace alipaymsg::testing
