// alipay-msgd's configuration: a YAML file (the `alipay:` block of a Spring application.yml pastes
// in as is), then ALIPAY_* environment variables on top. Every error names the file, the line and
// the key; relative paths are resolved against the config file's directory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "alipaymsg/client.h"  // AckMode
#include "alipaymsg/credentials.h"
#include "alipaymsg/listener_limits.h"
#include "alipaymsg/status.h"

namespace alipaymsg {

// Where a value came from, for messages: "config.yaml:7" or "environment ALIPAY_SIGN_TYPE".
struct ConfigSource {
  std::string where;  // "config.yaml:7", "environment"
  std::string key;    // "alipay.sign-type", "ALIPAY_SIGN_TYPE"
  std::string ToString() const { return where + ": " + key; }
};

struct AppConfig {
  CredentialsConfig credentials;          // paths absolute
  std::string server_host = "openchannel.alipay.com";  // host[:port]
  bool ssl = true;
  std::string ca_file;                    // extra CA bundle (absolute), empty = system store only
  std::string key_name;                   // "alipay" or "apps[1]" (for messages)
  int line = 0;                           // 1-based line of the app block (0: unknown)
  // Where each key/cert path setting was given ("app-private-key-path" -> config.yaml:6,
  // alipay.app-private-key-path), for errors found only when the files are loaded.
  std::map<std::string, ConfigSource> sources;
  // Base64 AES key (Spring alipay.encrypt-key) for notifications with encrypt_type=AES; empty: such
  // notifications are answered fail. A secret: never logged.
  std::string encrypt_key;
  bool cert_mode() const { return !credentials.app_cert_path.empty(); }
};

// "after-store" / "after-handle" (AckMode is the client's, alipaymsg/client.h).
std::string_view AckModeName(AckMode mode);

struct SinkConfig {
  enum class Kind { kJsonl, kExec, kWebhook, kRedis, kNats };
  Kind kind = Kind::kJsonl;
  std::vector<std::string> match;          // "*", "prefix.*" or an exact msgApi; any may match
  std::string jsonl_path;                  // kJsonl (absolute)
  std::vector<std::string> exec_argv;      // kExec: argv[0] absolute, no shell
  std::string webhook_url;                 // kWebhook: http[s]://host[:port]/path
  std::map<std::string, std::string> webhook_headers;
  std::string webhook_ca_file;             // kWebhook, https: extra CA bundle (absolute); system store too
  int timeout_ms = 30000;                  // kExec / kWebhook / kRedis / kNats: per run or publish
  int concurrency = 4;                     // kExec / kWebhook: runs at once; kRedis / kNats: publishes
  std::string key_name;                    // "sinks[0]"
  int line = 0;
  // kRedis / kNats: a message bus the daemon publishes to (README: "Redis Streams and NATS JetStream").
  struct Bus {
    std::string url;                       // redis://host[:port][/db] or nats://host[:port] (tls://)
    std::string target;                    // redis: stream name; nats: subject ({app_id}, {msg_api})
    std::string nats_stream;               // nats: the JetStream stream, created when missing
    int64_t maxlen = 0;                    // redis: XADD MAXLEN (0 = unbounded)
    bool maxlen_approximate = false;       // redis: "~N" (MAXLEN ~)
    int64_t dedup_ttl_s = 7 * 24 * 3600;   // redis: lifetime of the per-message marker
    int64_t duplicate_window_s = 120;      // nats: the created stream's duplicate window
    std::string user;                      // redis ACL user / nats user (with a password)
    std::string password_file;             // absolute; first line = the password
    std::string password_env;              // or: the environment variable holding it
    std::string creds_file;                // nats: .creds (JWT + seed), absolute
    bool tls = false;                      // nats: TLS (tls:// URL or tls: true)
    std::string ca_file;                   // nats, TLS: extra CA bundle (absolute)
  } bus;
  // Where each bus setting was given ("url" -> {config.yaml:12, sinks[1].redis.url}), for errors
  // found only when connecting.
  std::map<std::string, ConfigSource> sources;
};
std::string_view ToString(SinkConfig::Kind kind);

// Redelivery of failed sink runs (exec / webhook): backoff doubling from initial to max, then dead.
struct RetryConfig {
  int max_attempts = 10;
  int initial_backoff_ms = 1000;
  int max_backoff_ms = 300000;
};

// The WebSocket keepalive of every app connection: a ping every ping_interval_ms; no pong for
// pong_timeout_ms means a dead link (half-open TCP, a stuck proxy): close it and reconnect.
struct HeartbeatConfig {
  int ping_interval_ms = 2000;
  int pong_timeout_ms = 10000;
};

// The HTTP(S) notification endpoint (`notify:`): Alipay POSTs signed forms here; they go into the
// same inbox, dispatcher and sinks as the long connection's messages (channel "http").
struct NotifyConfig {
  bool enabled = false;  // a listen address was given
  std::string host;
  int port = 0;
  std::vector<std::string> paths = {"/alipay/notify"};
  std::string cert_file, key_file;  // both: HTTPS (absolute)
  ListenerLimits limits;            // 64 KiB bodies, 10 s header/body timeouts, 1024 connections
  int line = 0;                     // of the notify: key (0: environment)
};

struct LogConfig {
  std::string level = "info";   // trace, debug, info, warn, error, off
  std::string format = "text";  // text or json
  std::string file;             // empty = stderr; reopened on SIGHUP
};

struct DaemonConfig {
  std::string path;                 // the config file, as given
  std::vector<AppConfig> apps;      // at least one
  std::string inbox_path;           // absolute (SQLite, the default)
  // A PostgreSQL inbox shared by several instances instead (inbox.url / ALIPAY_INBOX_URL; empty:
  // SQLite at inbox_path). May carry a password: log it only through RedactInboxUrl.
  std::string inbox_url;
  std::string inbox_password_file;  // absolute; its first line is the password (inbox.password-file)
  int inbox_lease_ms = 15000;       // a claim's lease (inbox.lease-ms), renewed every third of it
  // This instance's name: lease owner in a shared inbox, `instance` label on /metrics, in logs.
  // Empty: "<hostname>-<pid>" (see EffectiveInstanceId).
  std::string instance_id;
  // inbox.rejected-max-rows / -max-bytes / -max-frame-bytes: bounds on the audit of forged frames.
  RejectedAuditLimits inbox_rejected;
  AckMode ack = AckMode::kAfterStore;
  std::vector<SinkConfig> sinks;    // first match wins
  RetryConfig retry;
  int dispatch_concurrency = 8;
  HeartbeatConfig heartbeat;
  std::string admin_host;           // empty = no admin server
  int admin_port = 0;
  NotifyConfig notify;
  LogConfig log;
  int shutdown_timeout_ms = 10000;  // SIGTERM: drain at most this long
  std::vector<std::string> warnings;  // "config.yaml:12: alpay: unknown key (did you mean alipay?)"
};

struct ConfigFinding {
  enum class Severity { kError, kWarning, kOk };
  Severity severity = Severity::kError;
  std::string message;  // "config.yaml:7: alipay.sign-type: "RSA3" is not one of RSA2, RSA, SM2"
};
std::string_view ToString(ConfigFinding::Severity severity);

using Environment = std::map<std::string, std::string>;
// The ALIPAY_* variables of this process.
Environment ProcessEnvironment();

// Parses `yaml` as if read from `path` (relative paths resolve against its directory), applies the
// environment overrides, validates. Fails with every error found, one per line.
Result<DaemonConfig> ParseDaemonConfig(std::string_view yaml, const std::string& path,
                                       const Environment& env = {});
Result<DaemonConfig> LoadDaemonConfig(const std::string& path, const Environment& env = {});

// What `alipay-msg check-config FILE` reports: the config errors and warnings, then per app the
// key/cert self-test (Credentials::Load: formats, pairing, certificate SNs), the inbox directory and
// the sinks' files and programs. No error findings = the daemon would start.
std::vector<ConfigFinding> CheckDaemonConfig(const std::string& path, const Environment& env = {});

// `alipay-msg check-config --connect`: connects to the server of every redis: and nats: sink (AUTH,
// the script, the JetStream stream, created when missing) and reports each (ok or an error naming the
// sink and the setting to blame).
std::vector<ConfigFinding> CheckSinkConnections(const DaemonConfig& config);

// A Credentials::Load error of `app` as alipay-msgd and check-config report it: the app block's
// file:line, then the setting whose file the error is about and where it was set, then the error:
// "config.yaml:1: alipay (app 2021...): alipay.app-private-key-path (config.yaml:6): app private key ...".
std::string DescribeCredentialsError(const DaemonConfig& config, const AppConfig& app, const Status& error);

// config.instance_id, or "<hostname>-<pid>" when not set.
std::string EffectiveInstanceId(const DaemonConfig& config);

// The inbox password from inbox.password-file (its first line), or "" when none is configured.
Result<std::string> ReadInboxPassword(const DaemonConfig& config);

// The environment variables honoured (for --help and the README), e.g. "ALIPAY_APP_ID".
std::vector<std::string> ConfigEnvironmentVariables();

}  // namespace alipaymsg
