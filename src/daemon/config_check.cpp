// `alipay-msg check-config`: the config's own errors and warnings, then what only loading can tell:
// the keys and certificates of every app, and whether the inbox and jsonl files can be written.
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "alipaymsg/inbox.h"
#include "daemon/config.h"

namespace alipaymsg {
namespace {

namespace fs = std::filesystem;

ConfigFinding Finding(ConfigFinding::Severity severity, std::string message) {
  return ConfigFinding{severity, std::move(message)};
}

// A file the daemon will create: its nearest existing ancestor must be a writable directory.
std::optional<std::string> WritableProblem(const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (fs::is_directory(path, ec)) return path + " is a directory";
    if (access(path.c_str(), W_OK) != 0) return path + " is not writable by this user";
    return std::nullopt;
  }
  fs::path dir = fs::path(path).parent_path();
  while (!dir.empty() && !fs::exists(dir, ec)) dir = dir.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) return dir.string() + " is not a directory";
  if (access(dir.c_str(), W_OK | X_OK) != 0) return "cannot create " + path + ": " + dir.string() + " is not writable";
  return std::nullopt;
}

}  // namespace

std::string DescribeCredentialsError(const DaemonConfig& config, const AppConfig& app, const Status& error) {
  std::string out = config.path + ":" + std::to_string(app.line) + ": " + app.key_name + " (app " +
                    app.credentials.app_id + "): ";
  // The setting named: the one whose file the message mentions first (Load names files by path).
  const std::string& text = error.message();
  const CredentialsConfig& c = app.credentials;
  const std::pair<const char*, const std::string*> files[] = {
      {"app-private-key-path", &c.app_private_key_path},
      {"alipay-public-key-path", &c.alipay_public_key_path},
      {"app-cert-public-key-path", &c.app_cert_path},
      {"alipay-cert-public-key-path", &c.alipay_cert_path},
      {"alipay-root-cert-path", &c.root_cert_path}};
  size_t first = std::string::npos;
  const ConfigSource* source = nullptr;
  for (const auto& [key, file] : files) {
    auto it = app.sources.find(key);
    const size_t at = file->empty() || it == app.sources.end() ? std::string::npos : text.find(*file);
    if (at < first) first = at, source = &it->second;
  }
  if (source) out += source->key + " (" + source->where + "): ";
  return out + text;
}

std::vector<ConfigFinding> CheckDaemonConfig(const std::string& path, const Environment& env) {
  std::vector<ConfigFinding> findings;
  Result<DaemonConfig> config = LoadDaemonConfig(path, env);
  if (!config.ok()) {
    std::istringstream lines(config.status().message());
    for (std::string line; std::getline(lines, line);) {
      findings.push_back(Finding(ConfigFinding::Severity::kError, line));
    }
    return findings;
  }
  for (const std::string& w : config->warnings) findings.push_back(Finding(ConfigFinding::Severity::kWarning, w));

  for (const AppConfig& app : config->apps) {
    const std::string where = config->path + ":" + std::to_string(app.line) + ": " + app.key_name + " (app " +
                              app.credentials.app_id + ")";
    Result<Credentials> credentials = Credentials::Load(app.credentials);
    if (!credentials.ok()) {
      findings.push_back(Finding(ConfigFinding::Severity::kError,
                                 DescribeCredentialsError(*config, app, credentials.status())));
      continue;
    }
    std::string what = std::string(ToString(credentials->sign_type())) + ", " + app.credentials.charset + ", ";
    if (credentials->cert_mode()) {
      what += "certificate mode: app_cert_sn " + credentials->app_cert_sn() + ", alipay_cert_sn " +
              credentials->alipay_cert_sn().value_or("") + ", alipay_root_cert_sn " +
              credentials->alipay_root_cert_sn().value_or("");
    } else {
      what += "key mode: app private key and Alipay public key load";
    }
    findings.push_back(Finding(ConfigFinding::Severity::kOk, where + ": " + what));
    findings.push_back(Finding(ConfigFinding::Severity::kOk,
                               where + ": connects to " + std::string(app.ssl ? "wss://" : "ws://") +
                                   app.server_host + (app.ca_file.empty() ? "" : " trusting " + app.ca_file)));
  }
  if (!config->inbox_url.empty()) {
    // The shared inbox: connect and report the schema (the daemon creates or migrates it).
    const std::string url = RedactInboxUrl(config->inbox_url);
    auto password = ReadInboxPassword(*config);
    Result<int> version = password.ok() ? PostgresInboxSchemaVersion(config->inbox_url, *password, 5000)
                                        : Result<int>(password.status());
    if (!version.ok()) {
      findings.push_back(Finding(ConfigFinding::Severity::kError,
                                 config->path + ": inbox.url: " + version.status().message()));
    } else if (*version > PostgresInboxCurrentSchemaVersion()) {
      findings.push_back(Finding(ConfigFinding::Severity::kError,
                                 config->path + ": inbox.url: " + url + " has inbox schema version " +
                                     std::to_string(*version) + ", newer than this build (" +
                                     std::to_string(PostgresInboxCurrentSchemaVersion()) + ")"));
    } else {
      findings.push_back(Finding(
          ConfigFinding::Severity::kOk,
          config->path + ": inbox " + url + " (PostgreSQL, shared; instance " + EffectiveInstanceId(*config) +
              "): " +
              (*version == 0 ? "reachable, no inbox schema yet (alipay-msgd creates version " +
                                   std::to_string(PostgresInboxCurrentSchemaVersion()) + ")"
                             : "schema version " + std::to_string(*version))));
    }
  } else if (auto problem = WritableProblem(config->inbox_path)) {
    findings.push_back(Finding(ConfigFinding::Severity::kError, config->path + ": inbox.path: " + *problem));
  } else {
    findings.push_back(Finding(ConfigFinding::Severity::kOk, config->path + ": inbox " + config->inbox_path));
  }
  for (const SinkConfig& sink : config->sinks) {
    if (sink.kind != SinkConfig::Kind::kJsonl) continue;
    if (auto problem = WritableProblem(sink.jsonl_path)) {
      findings.push_back(Finding(ConfigFinding::Severity::kError,
                                 config->path + ":" + std::to_string(sink.line) + ": " + sink.key_name + ".jsonl: " + *problem));
    }
  }
  return findings;
}

}  // namespace alipaymsg
