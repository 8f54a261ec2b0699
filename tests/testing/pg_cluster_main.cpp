// pg_cluster start|stop STATE_DIR: the PostgreSQL cluster a ctest run shares (the fixture tests
// postgres_cluster_start and postgres_cluster_stop). start replaces a cluster a killed run left behind.
#include <cstdio>
#include <string>

#include "testing/postgres_server.h"

int main(int argc, char** argv) {
  using alipaymsg::testing::PostgresServer;
  if (argc != 3 || (std::string(argv[1]) != "start" && std::string(argv[1]) != "stop")) {
    std::fprintf(stderr, "usage: pg_cluster start|stop STATE_DIR\n");
    return 2;
  }
  const std::string state = argv[2];
  std::string error = PostgresServer::StopRecorded(state);
  if (std::string(argv[1]) == "stop") {
    if (!error.empty()) std::fprintf(stderr, "pg_cluster: %s\n", error.c_str());
    return error.empty() ? 0 : 1;
  }
  auto server = PostgresServer::Start(error);
  if (!server) {
    std::fprintf(stderr, "pg_cluster: PostgreSQL could not start: %s\n", error.c_str());
    return 1;
  }
  error = server->Detach(state);
  if (!error.empty()) {
    std::fprintf(stderr, "pg_cluster: %s\n", error.c_str());
    return 1;
  }
  std::printf("PostgreSQL test cluster on 127.0.0.1:%d (%s)\n", server->port(), server->dir().c_str());
  return 0;
}
