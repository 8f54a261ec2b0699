// Shared by the alipay-msgd end-to-end tests: throwaway keys, the config text for one app against
// the simulator, and reading the jsonl sink's output.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "daemon_process.h"
#include "testing/test_paths.h"

namespace alipaymsg::daemontest {

namespace json = boost::json;
using clienttest::ReadFile;
using clienttest::SimKeys;
using clienttest::SimProcess;
using clienttest::TlsKeys;

inline constexpr const char* kApp = "2021000000000001";
inline constexpr const char* kApi = "alipay.open.mini.version.audit.passed";

inline const SimKeys& Keys() {
  static SimKeys keys = clienttest::Keygen(testing::MakeTempDir("daemon-e2e-keys"), kApp);
  return keys;
}
inline const TlsKeys& Tls() {
  static TlsKeys keys = clienttest::TlsKeygen(testing::MakeTempDir("daemon-e2e-tls"));
  return keys;
}

enum class Mode { kKey, kCert };

// ---- config text ------------------------------------------------------------------------------

inline std::string AppYaml(Mode mode, const SimProcess& sim, bool tls) {
  const SimKeys& k = Keys();
  std::string y = std::string("alipay:\n  app-id: \"") + kApp + "\"\n  server-host: \"" + sim.listen() + "\"\n";
  y += tls ? "  ssl: true\n  ca-file: " + Tls().ca + "\n" : "  ssl: false\n";
  y += "  sign-type: RSA2\n  app-private-key-path: " + k.app_private_key + "\n";
  if (mode == Mode::kCert) {
    y += "  app-cert-public-key-path: " + k.app_cert + "\n  alipay-cert-public-key-path: " + k.alipay_cert +
         "\n  alipay-root-cert-path: " + k.root_cert + "\n";
  } else {
    y += "  alipay-public-key-path: " + k.alipay_public_key + "\n";
  }
  return y;
}

// Inbox in `dir`, admin on a free port, fast retries, a short drain.
inline std::string CommonYaml(const std::string& dir) {
  return "inbox:\n  path: " + dir + "/inbox.db\nadmin:\n  listen: 127.0.0.1:0\n"
         "retry:\n  max-attempts: 3\n  initial-backoff-ms: 20\n  max-backoff-ms: 100\n"
         "shutdown-timeout-ms: 5000\n";
}

inline std::string JsonlSinkYaml(const std::string& path) { return "sinks:\n  - match: \"*\"\n    jsonl: " + path + "\n"; }

// ---- the jsonl output -------------------------------------------------------------------------

// The jsonl sink's lines, parsed (a line that is not a JSON object fails the test).
inline std::vector<json::object> JsonlLines(const std::string& path) {
  std::vector<json::object> out;
  for (const std::string& line : Lines(ReadFile(path))) {
    json::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "not a JSON object line in " << path << ": " << line;
      continue;
    }
    out.push_back(v.as_object());
  }
  return out;
}

inline size_t LineCount(const std::string& path) { return Lines(ReadFile(path)).size(); }

}  // namespace alipaymsg::daemontest
