// The commands that work from alipay-msgd's config: check-config, inbox list/show/replay/stats, send.
//
// The inbox beside a running daemon: list/show/stats open it read-only (no owner lock, no writes,
// nothing created), so they never disturb the daemon. replay and send write through their own
// connection but never take the owner lock, so they never run crash recovery (which could race a
// daemon starting at the same moment); SQLite serialises their short writes with the daemon's.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alipaymsg/client.h"
#include "alipaymsg/clock.h"
#include "alipaymsg/inbox.h"
#include "commands.h"
#include "daemon/config.h"
#include "daemon/sinks.h"  // Rfc3339Utc

namespace alipaymsg::cli {
namespace {

namespace json = boost::json;

// Exit code 2 with the reason when `path` cannot be read (missing, a directory, no permission).
std::optional<std::string> UnreadableProblem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path + ": " + std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return path + " is a directory";
  std::ifstream in(path);
  if (!in) return path + ": cannot be read by this user";
  return std::nullopt;
}

// Loads the config for a command; prints why not (exit 2) and returns nullopt when it cannot.
std::optional<DaemonConfig> LoadConfigOrPrint(const std::string& path, int& exit_code) {
  if (auto problem = UnreadableProblem(path)) {
    PrintError(*problem);
    exit_code = 2;
    return std::nullopt;
  }
  auto config = LoadDaemonConfig(path, ProcessEnvironment());
  if (!config.ok()) {
    PrintErrorLines(config.status().message());
    PrintError("(run `alipay-msg check-config " + path + "` for the full check)");
    exit_code = 2;
    return std::nullopt;
  }
  return std::move(*config);
}

// ---- check-config ------------------------------------------------------------------------------

void AddCheckConfig(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "check-config",
      "Check an alipay-msgd config as the daemon would, plus the key/cert self-test; exit 0 no errors, 1 errors, "
      "2 unreadable file");
  auto file = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("FILE", *file, "alipay-msgd YAML config (ALIPAY_* environment variables apply)")->required();
  auto connect = std::make_shared<bool>(false);
  cmd->add_flag("--json", *as_json, "Print {\"ok\":bool,\"findings\":[{\"severity\",\"message\"}]}");
  cmd->add_flag("--connect", *connect,
                "Also reach the servers of the redis: and nats: sinks (credentials, script, JetStream stream)");
  cmd->callback([=, &exit_code] {
    if (auto problem = UnreadableProblem(*file)) return PrintError(*problem), void(exit_code = 2);
    std::vector<ConfigFinding> findings = CheckDaemonConfig(*file, ProcessEnvironment());
    if (*connect) {
      // Only a config that parses has sinks to reach (its errors are already among the findings).
      if (Result<DaemonConfig> config = LoadDaemonConfig(*file, ProcessEnvironment()); config.ok()) {
        for (ConfigFinding& f : CheckSinkConnections(*config)) findings.push_back(std::move(f));
      }
    }
    int errors = 0, warnings = 0;
    for (const ConfigFinding& f : findings) {
      errors += f.severity == ConfigFinding::Severity::kError;
      warnings += f.severity == ConfigFinding::Severity::kWarning;
    }
    exit_code = errors > 0 ? 1 : 0;
    if (*as_json) {
      json::array list;
      for (const ConfigFinding& f : findings) {
        list.push_back(json::object{{"severity", std::string(ToString(f.severity))}, {"message", f.message}});
      }
      std::cout << json::serialize(json::object{{"ok", errors == 0}, {"findings", std::move(list)}}) << "\n";
      return;
    }
    for (const ConfigFinding& f : findings) std::cout << ToString(f.severity) << ": " << f.message << "\n";
    if (errors > 0) {
      std::cout << errors << (errors == 1 ? " error" : " errors") << ", " << warnings
                << (warnings == 1 ? " warning" : " warnings") << ": alipay-msgd would not start\n";
    } else {
      std::cout << "config OK (" << warnings << (warnings == 1 ? " warning" : " warnings")
                << "): alipay-msgd would start\n";
    }
  });
}

// ---- inbox -------------------------------------------------------------------------------------

enum class InboxAccess { kReadOnly, kWrite };

// Opens the config's inbox; never creates one. Prints why not (exit 2) and returns nullptr.
// The inbox a command works on: the config's inbox.path (and its apps), or --inbox PATH, which needs
// no valid config (a missing key file or sink program must not hide the inbox).
struct InboxTarget {
  std::string path;
  std::string url;                    // a PostgreSQL inbox (inbox.url of the config) instead of path
  std::string password;               // from inbox.password-file
  std::string source;                 // "inbox.path of FILE" or "--inbox"
  std::vector<std::string> app_ids;   // the config's apps; empty with --inbox
};

struct InboxArgs {
  std::string config;
  std::string inbox;
  bool json = false;
};

std::optional<InboxTarget> ResolveInboxOrPrint(const InboxArgs& args, int& exit_code) {
  if (!args.inbox.empty()) return InboxTarget{args.inbox, "", "", "--inbox", {}};
  if (args.config.empty()) {
    PrintError("needs --config FILE (the daemon's config) or --inbox PATH");
    exit_code = 2;
    return std::nullopt;
  }
  auto config = LoadConfigOrPrint(args.config, exit_code);
  if (!config) {
    PrintError("(--inbox PATH opens the inbox without the config)");
    return std::nullopt;
  }
  InboxTarget target{config->inbox_path, "", "", "inbox.path of " + config->path, {}};
  if (!config->inbox_url.empty()) {
    target.url = config->inbox_url;
    target.source = "inbox.url of " + config->path;
    auto password = ReadInboxPassword(*config);
    if (!password.ok()) {
      PrintError(password.status().message());
      exit_code = 2;
      return std::nullopt;
    }
    target.password = *password;
  }
  for (const AppConfig& a : config->apps) target.app_ids.push_back(a.credentials.app_id);
  return target;
}

std::unique_ptr<Inbox> OpenInboxOrPrint(const InboxTarget& target, InboxAccess access, int& exit_code) {
  if (!target.url.empty()) {
    PostgresInboxOptions options;
    options.read_only = access == InboxAccess::kReadOnly;
    options.may_own = false;  // beside running daemons: no instance lock, no claims of its own
    options.instance_id = "alipay-msg-cli-" + std::to_string(::getpid());
    options.password = target.password;
    auto inbox = OpenPostgresInbox(target.url, options);
    if (!inbox.ok()) {
      PrintErrorLines(inbox.status().message() + " (" + target.source + ")");
      exit_code = 2;
      return nullptr;
    }
    return std::move(*inbox);
  }
  SqliteInboxOptions options;
  options.read_only = access == InboxAccess::kReadOnly;
  options.may_own = false;
  struct stat st {};
  if (::stat(target.path.c_str(), &st) != 0) {
    PrintError("no inbox at " + target.path + " (" + target.source + "): alipay-msgd creates it when it first starts");
    exit_code = 2;
    return nullptr;
  }
  auto inbox = OpenSqliteInbox(target.path, options);
  if (!inbox.ok()) {
    PrintErrorLines(inbox.status().message());
    exit_code = 2;
    return nullptr;
  }
  return std::move(*inbox);
}

// A failed inbox call: says what to do when the cause is the daemon holding the write lock.
void PrintInboxError(const Status& status, int& exit_code) {
  PrintError(status.message());
  if (status.code() == StatusCode::kUnavailable) {
    PrintError("the inbox is busy (a running alipay-msgd is writing to it): try again in a moment");
  }
  exit_code = 2;
}

json::value BizContentJson(const std::string& raw) {
  json::error_code ec;
  json::value parsed = json::parse(raw, ec);
  if (ec) return json::string(raw);  // kept as text; the inbox stores what arrived
  return parsed;
}

json::object MessageJsonObject(const StoredMessage& m) {
  json::object o;
  o["app_id"] = m.message.app_id;
  o["msg_id"] = m.message.msg_id;
  o["msg_api"] = m.message.msg_api;
  o["state"] = std::string(ToString(m.state));
  o["attempts"] = m.attempts;
  o["delivery_count"] = m.delivery_count;
  o["last_error"] = m.last_error;
  o["channel"] = m.message.channel;
  o["received_at"] = daemon::Rfc3339Utc(m.message.received_at_ms);
  o["updated_at"] = daemon::Rfc3339Utc(m.updated_at_ms);
  if (m.state == MessageState::kPending) o["next_attempt_at"] = daemon::Rfc3339Utc(m.next_attempt_at_ms);
  o["biz_content"] = BizContentJson(m.message.biz_content);
  return o;
}

// One member per line, values compact: readable, and still valid JSON for jq.
std::string PrettyObject(const json::object& o) {
  std::string out = "{\n";
  size_t i = 0;
  for (const auto& [key, value] : o) {
    out += "  " + json::serialize(json::string_view(key)) + ": " + json::serialize(value);
    out += ++i < o.size() ? ",\n" : "\n";
  }
  return out + "}";
}

std::string Clip(const std::string& text, size_t width) {
  return text.size() <= width ? text : text.substr(0, width - 3) + "...";
}

std::optional<MessageState> ParseStateName(const std::string& name) {
  for (MessageState s : {MessageState::kPending, MessageState::kInFlight, MessageState::kDone, MessageState::kDead,
                         MessageState::kUnhandled}) {
    if (ToString(s) == name) return s;
  }
  return std::nullopt;
}

CLI::App* AddInboxSubcommand(CLI::App& inbox, const std::string& name, const std::string& what, InboxArgs& args) {
  auto* cmd = inbox.add_subcommand(name, what);
  auto* config = cmd->add_option("--config,-c", args.config, "alipay-msgd YAML config (its inbox.path is used)");
  cmd->add_option("--inbox", args.inbox, "The inbox file itself, instead of --config")->excludes(config);
  cmd->add_flag("--json", args.json, "Machine-readable output");
  return cmd;
}

void AddInboxList(CLI::App& inbox, int& exit_code) {
  auto args = std::make_shared<InboxArgs>();
  auto query = std::make_shared<InboxQuery>();
  auto state = std::make_shared<std::string>();
  query->limit = 50;
  auto* cmd = AddInboxSubcommand(inbox, "list", "List stored messages, most recent first", *args);
  cmd->add_option("--state", *state, "pending, in_flight, done, dead or unhandled");
  cmd->add_option("--app-id", query->app_id, "Only this app");
  cmd->add_option("--msg-api", query->msg_api, "Only this msgApi; \"prefix.*\" for a family");
  cmd->add_option("--limit", query->limit, "At most this many (default 50; -1 for all)");
  cmd->callback([=, &exit_code] {
    InboxQuery q = *query;
    if (!state->empty()) {
      q.state = ParseStateName(*state);
      if (!q.state) {
        return PrintError("--state: \"" + *state + "\" is not one of pending, in_flight, done, dead, unhandled"),
               void(exit_code = 2);
      }
    }
    auto target = ResolveInboxOrPrint(*args, exit_code);
    if (!target) return;
    auto box = OpenInboxOrPrint(*target, InboxAccess::kReadOnly, exit_code);
    if (!box) return;
    auto found = box->Find(q);
    if (!found.ok()) return PrintInboxError(found.status(), exit_code);
    if (args->json) {
      json::array list;
      for (const StoredMessage& m : *found) list.push_back(MessageJsonObject(m));
      std::cout << json::serialize(list) << "\n";
      return;
    }
    if (found->empty()) {
      std::cout << "no messages" << (q.state || !q.app_id.empty() || !q.msg_api.empty() ? " match" : "") << "\n";
      return;
    }
    auto row = [](const std::string& received, const std::string& app, const std::string& id, const std::string& api,
                  const std::string& st, const std::string& attempts, const std::string& deliveries,
                  const std::string& error) {
      std::cout << std::left << std::setw(25) << received << std::setw(18) << app << std::setw(34) << id
                << std::setw(44) << api << std::setw(10) << st << std::setw(9) << attempts << std::setw(11)
                << deliveries << error << "\n";
    };
    row("RECEIVED", "APP_ID", "MSG_ID", "MSG_API", "STATE", "ATTEMPTS", "DELIVERIES", "LAST_ERROR");
    for (const StoredMessage& m : *found) {
      row(daemon::Rfc3339Utc(m.message.received_at_ms), m.message.app_id, m.message.msg_id,
          Clip(m.message.msg_api, 43), std::string(ToString(m.state)), std::to_string(m.attempts),
          std::to_string(m.delivery_count), Clip(m.last_error, 60));
    }
  });
}

void AddInboxShow(CLI::App& inbox, int& exit_code) {
  auto args = std::make_shared<InboxArgs>();
  auto msg_id = std::make_shared<std::string>();
  auto app_id = std::make_shared<std::string>();
  auto* cmd = AddInboxSubcommand(
      inbox, "show", "Print one stored message as JSON (biz_content, state, attempts, last error, deliveries)", *args);
  cmd->add_option("MSG_ID", *msg_id, "The message id")->required();
  cmd->add_option("--app-id", *app_id, "The app (default: every app of the config; required with --inbox)");
  cmd->callback([=, &exit_code] {
    auto target = ResolveInboxOrPrint(*args, exit_code);
    if (!target) return;
    auto box = OpenInboxOrPrint(*target, InboxAccess::kReadOnly, exit_code);
    if (!box) return;
    const std::vector<std::string> apps = app_id->empty() ? target->app_ids : std::vector<std::string>{*app_id};
    if (apps.empty()) return PrintError("show needs --app-id with --inbox"), void(exit_code = 2);
    std::vector<StoredMessage> found;
    for (const std::string& app : apps) {
      auto got = box->Get(app, *msg_id);
      if (!got.ok()) return PrintInboxError(got.status(), exit_code);
      if (*got) found.push_back(std::move(**got));
    }
    if (found.empty()) {
      PrintError("message " + *msg_id + " is not in the inbox " + target->path +
                 (app_id->empty() ? "" : " for app " + *app_id));
      exit_code = 1;
      return;
    }
    if (found.size() > 1) {
      PrintError("message " + *msg_id + " is stored for several apps: pick one with --app-id");
      exit_code = 2;
      return;
    }
    json::object o = MessageJsonObject(found.front());
    std::cout << (args->json ? json::serialize(o) : PrettyObject(o)) << "\n";
  });
}

void AddInboxReplay(CLI::App& inbox, int& exit_code) {
  auto args = std::make_shared<InboxArgs>();
  auto msg_id = std::make_shared<std::string>();
  auto app_id = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  auto* cmd = AddInboxSubcommand(
      inbox, "replay",
      "Put dead and unhandled messages (or the one given) back to pending: a running alipay-msgd delivers them "
      "within its poll interval (1 s), a stopped one when it next starts",
      *args);
  auto* id_opt = cmd->add_option("MSG_ID", *msg_id, "Replay this message only");
  auto* all_opt = cmd->add_flag("--all", *all, "Replay every dead and unhandled message");
  id_opt->excludes(all_opt);
  cmd->add_option("--app-id", *app_id, "Only this app");
  cmd->callback([=, &exit_code] {
    if (msg_id->empty() && !*all) {
      return PrintError("replay needs a MSG_ID or --all"), void(exit_code = 2);
    }
    auto target = ResolveInboxOrPrint(*args, exit_code);
    if (!target) return;
    auto box = OpenInboxOrPrint(*target, InboxAccess::kWrite, exit_code);
    if (!box) return;
    const int64_t now_ms = SystemClock::Instance().NowMs();
    auto replayed = box->Replay(app_id->empty() ? std::nullopt : std::optional<std::string>(*app_id),
                                msg_id->empty() ? std::nullopt : std::optional<std::string>(*msg_id), now_ms);
    if (!replayed.ok()) {
      if (replayed.status().code() == StatusCode::kNotFound) {
        return PrintError(replayed.status().message()), void(exit_code = 1);
      }
      return PrintInboxError(replayed.status(), exit_code);
    }
    if (!msg_id->empty() && *replayed == 0) {
      // Present but not dead/unhandled: say which state it is in.
      std::string state = "not dead or unhandled";
      for (const std::string& app : app_id->empty() ? target->app_ids : std::vector<std::string>{*app_id}) {
        auto got = box->Get(app, *msg_id);
        if (got.ok() && *got) state = "in state " + std::string(ToString((*got)->state));
      }
      PrintError("message " + *msg_id + " is " + state + ": only dead and unhandled messages are replayed");
      exit_code = 1;
      return;
    }
    box->Close();
    if (args->json) {
      std::cout << json::serialize(json::object{{"replayed", *replayed}}) << "\n";
    } else {
      std::cout << "replayed " << *replayed << (*replayed == 1 ? " message" : " messages")
                << (*replayed > 0 ? ": pending again; alipay-msgd delivers them (a running one within about 1 s)"
                                  : ": nothing dead or unhandled")
                << "\n";
    }
  });
}

void AddInboxStats(CLI::App& inbox, int& exit_code) {
  auto args = std::make_shared<InboxArgs>();
  auto* cmd = AddInboxSubcommand(inbox, "stats", "Count the stored messages by state", *args);
  cmd->callback([=, &exit_code] {
    auto target = ResolveInboxOrPrint(*args, exit_code);
    if (!target) return;
    auto box = OpenInboxOrPrint(*target, InboxAccess::kReadOnly, exit_code);
    if (!box) return;
    auto stats = box->Stats();
    if (!stats.ok()) return PrintInboxError(stats.status(), exit_code);
    const std::vector<std::pair<const char*, int64_t>> rows = {
        {"pending", stats->pending}, {"in_flight", stats->in_flight}, {"done", stats->done},
        {"dead", stats->dead},       {"unhandled", stats->unhandled}, {"rejected", stats->rejected},
        {"rejected_total", stats->rejected_total}, {"duplicates", stats->duplicates}};
    if (args->json) {
      json::object o;
      for (const auto& [name, n] : rows) o[name] = n;
      o["total"] = stats->pending + stats->in_flight + stats->done + stats->dead + stats->unhandled;
      std::cout << json::serialize(o) << "\n";
      return;
    }
    std::cout << "inbox " << target->path << "\n";
    for (const auto& [name, n] : rows) std::cout << "  " << std::left << std::setw(16) << name << n << "\n";
    std::cout << "(rejected: failed signature checks kept for audit, the newest within inbox.rejected-max-rows/-bytes;\n"
                 " rejected_total: every one since the inbox was created; duplicates: redeliveries absorbed)\n";
  });
}

// The full PRAGMA integrity_check (reads every page: slow on a large inbox, safe beside the daemon).
void AddInboxCheck(CLI::App& inbox, int& exit_code) {
  auto args = std::make_shared<InboxArgs>();
  auto* cmd = AddInboxSubcommand(inbox, "check", "Check the inbox file for damage (PRAGMA integrity_check)", *args);
  cmd->callback([=, &exit_code] {
    auto target = ResolveInboxOrPrint(*args, exit_code);
    if (!target) return;
    struct stat st {};
    if (::stat(target->path.c_str(), &st) != 0) {
      PrintError("no inbox at " + target->path + " (" + target->source + ")");
      exit_code = 2;
      return;
    }
    auto problems = CheckSqliteInbox(target->path);
    if (!problems.ok()) return PrintInboxError(problems.status(), exit_code);
    if (args->json) {
      json::array list;
      for (const std::string& p : *problems) list.push_back(json::string(p));
      std::cout << json::serialize(json::object{{"inbox", target->path}, {"ok", problems->empty()},
                                                {"problems", std::move(list)}})
                << "\n";
    } else if (problems->empty()) {
      std::cout << "inbox " << target->path << ": ok (PRAGMA integrity_check)\n";
    } else {
      std::cout << "inbox " << target->path << " is corrupt: PRAGMA integrity_check found\n";
      for (const std::string& p : *problems) std::cout << "  " << p << "\n";
      std::cout << "Stop alipay-msgd, keep a copy of the file, and recover what can be read into a new file:\n"
                << "  sqlite3 " << target->path << " .dump | sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' | sqlite3 NEW_FILE\n"
                << "then point inbox.path at NEW_FILE (README: \"A damaged inbox\").\n";
    }
    if (!problems->empty()) exit_code = 1;
  });
}

void AddInbox(CLI::App& app, int& exit_code) {
  auto* inbox = app.add_subcommand("inbox", "Inspect and replay alipay-msgd's inbox (safe while the daemon runs)");
  inbox->require_subcommand(1);
  AddInboxList(*inbox, exit_code);
  AddInboxShow(*inbox, exit_code);
  AddInboxReplay(*inbox, exit_code);
  AddInboxStats(*inbox, exit_code);
  AddInboxCheck(*inbox, exit_code);
}

}  // namespace

void PrintErrorLines(const std::string& message) {
  std::istringstream lines(message);
  for (std::string line; std::getline(lines, line);) PrintError(line);
}

void AddDaemonCommands(CLI::App& app, int& exit_code) {
  AddCheckConfig(app, exit_code);
  AddInbox(app, exit_code);
  AddSendCommand(app, exit_code);
}

}  // namespace alipaymsg::cli
