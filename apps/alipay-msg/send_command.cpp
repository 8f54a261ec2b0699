// `alipay-msg send`: one PRODUCE through a connection of its own, using alipay-msgd's config.
//
// Alipay (and alipay-msg-sim) spread an app's CONSUMEs over all of its connections, this short-lived
// one included. So that nothing meant for the daemon is lost, doubled or consumed elsewhere, this
// connection uses the daemon's own inbox (never as its owner): a message that lands here is verified
// and committed to that inbox like any other, and the daemon dispatches it from there (a running
// daemon within its poll interval, a stopped one when it starts). With ack: after-store it is then
// acked SUCCESS, as the daemon would; with ack: after-handle it is acked FAIL (not handled yet), so
// Alipay redelivers it and the daemon acks it once handled. The count is reported on stderr.
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "alipaymsg/client.h"
#include "alipaymsg/inbox.h"
#include "commands.h"
#include "daemon/config.h"

namespace alipaymsg::cli {
namespace {

namespace json = boost::json;

struct SendArgs {
  std::string config;
  std::string msg_api;
  std::string content;
  std::string app_id;
  double connect_timeout_s = 15;
  bool json = false;
  bool verbose = false;
};

// The config's app to send as: --app-id, or the only one.
const AppConfig* PickApp(const DaemonConfig& config, const std::string& app_id, std::string& why_not) {
  if (app_id.empty()) {
    if (config.apps.size() == 1) return &config.apps.front();
    why_not = config.path + " has " + std::to_string(config.apps.size()) + " apps: choose one with --app-id";
    return nullptr;
  }
  for (const AppConfig& app : config.apps) {
    if (app.credentials.app_id == app_id) return &app;
  }
  why_not = "app " + app_id + " is not in " + config.path;
  return nullptr;
}

// Prints the outcome (stdout) and sets the exit code: 0 SUCCESS, 1 anything else.
void Report(const SendArgs& args, const std::string& app_id, const Result<SendResult>& result, int& exit_code) {
  exit_code = result.ok() && result->success ? 0 : 1;
  if (args.json) {
    json::object o{{"app_id", app_id}, {"msg_api", args.msg_api}, {"success", exit_code == 0}};
    if (result.ok()) {
      o["status"] = result->status;
      o["code"] = result->code;
      o["error"] = result->error;
      o["msg_id"] = result->msg_id;
      o["stream_id"] = result->stream_id;
    } else {
      o["error"] = result.status().message();
    }
    std::cout << json::serialize(o) << "\n";
    if (!result.ok()) PrintError(result.status().message());
    return;
  }
  if (!result.ok()) return PrintError("not sent: " + result.status().message());
  if (result->success) {
    std::cout << "SUCCESS: PRODUCE " << args.msg_api << " acked, msg_id " << result->msg_id << " (x-code "
              << result->code << ", stream-id " << result->stream_id << ")\n";
  } else {
    std::cout << "FAIL: PRODUCE " << args.msg_api << " answered x-status '" << result->status << "', x-code '"
              << result->code << "'" << (result->error.empty() ? "" : ": " + result->error) << "\n";
  }
}

void RunSend(const SendArgs& args, int& exit_code) {
  json::error_code ec;
  json::value content = json::parse(args.content, ec);
  if (ec || !content.is_object()) {
    PrintError("--content must be a JSON object (the bizContent), got: " + args.content.substr(0, 80));
    exit_code = 2;
    return;
  }
  if (args.connect_timeout_s <= 0) return PrintError("--connect-timeout must be positive"), void(exit_code = 2);
  auto config = LoadDaemonConfig(args.config, ProcessEnvironment());
  if (!config.ok()) {
    PrintErrorLines(config.status().message());
    exit_code = 2;
    return;
  }
  std::string why_not;
  const AppConfig* app = PickApp(*config, args.app_id, why_not);
  if (app == nullptr) return PrintError(why_not), void(exit_code = 2);
  const std::string where = config->path + ":" + std::to_string(app->line) + ": " + app->key_name + " (app " +
                            app->credentials.app_id + ")";
  auto credentials = Credentials::Load(app->credentials);
  if (!credentials.ok()) return PrintError(where + ": " + credentials.status().message()), void(exit_code = 2);

  // The daemon's inbox, created where the daemon would create it; never its owner.
  std::error_code fs_error;
  std::filesystem::create_directories(std::filesystem::path(config->inbox_path).parent_path(), fs_error);
  SqliteInboxOptions inbox_options;
  inbox_options.may_own = false;
  inbox_options.rejected = config->inbox_rejected;
  auto inbox = OpenSqliteInbox(config->inbox_path, inbox_options);
  if (!inbox.ok()) return PrintError(inbox.status().message()), void(exit_code = 2);

  ClientOptions options;
  options.inbox = inbox->get();
  options.ack_mode = config->ack;
  if (config->ack == AckMode::kAfterHandle) {
    options.handle_now = [](const InboundMessage&, StoreOutcome, std::function<void(bool)> done) { done(false); };
  }
  const bool verbose = args.verbose;
  options.logger = [verbose](LogLevel level, std::string_view line) {
    if (verbose || level >= LogLevel::kWarn) PrintError(std::string(line));
  };
  auto client = Client::Create(std::move(options));
  if (!client.ok()) return PrintError(client.status().message()), void(exit_code = 2);
  AppOptions app_options;
  app_options.credentials = std::make_shared<const Credentials>(std::move(*credentials));
  app_options.server_host = app->server_host;
  app_options.tls = app->ssl;
  app_options.ca_file = app->ca_file;
  const std::string app_id = app->credentials.app_id;
  Status added = (*client)->AddApp(std::move(app_options));
  if (!added.ok()) return PrintError(where + ": " + added.message()), void(exit_code = 2);

  (*client)->Start();
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(args.connect_timeout_s * 1000));
  while (!(*client)->AllConnected() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Result<SendResult> result = Status(StatusCode::kUnavailable, "");
  if ((*client)->AllConnected()) {
    result = (*client)->Send(app_id, args.msg_api, args.content);
  } else {
    const auto stats = (*client)->Stats(app_id);
    std::ostringstream why;
    why << "could not connect to " << app->server_host << " within " << args.connect_timeout_s << " s";
    if (stats && !stats->last_error.empty()) why << ": " << stats->last_error;
    result = Timeout(why.str());
  }
  (*client)->StopAndWait();  // stores and acks whatever arrived on this connection first
  if (auto stats = (*client)->Stats(app_id); stats && stats->received > 0) {
    PrintError("note: " + std::to_string(stats->received) + " message(s) for " + app_id +
               " arrived on this connection: " + std::to_string(stats->stored_new) + " stored new and " +
               std::to_string(stats->duplicates) + " duplicate(s) in the inbox " + config->inbox_path +
               ", for alipay-msgd to dispatch; " + std::to_string(stats->signature_failures) +
               " failed the signature check");
  }
  client->reset();
  (*inbox)->Close();
  Report(args, app_id, result, exit_code);
}

}  // namespace

void AddSendCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<SendArgs>();
  auto* cmd = app.add_subcommand(
      "send",
      "PRODUCE one message through a connection of its own (the app of an alipay-msgd config); exit 0 when "
      "acked SUCCESS, 1 otherwise, 2 bad arguments or config");
  cmd->add_option("--config,-c", args->config, "alipay-msgd YAML config")->required();
  cmd->add_option("--msg-api", args->msg_api, "The msgApi, e.g. alipay.open.app.openbizmock.message.send")
      ->required();
  cmd->add_option("--content", args->content, "bizContent: a JSON object; - reads it from stdin")->required();
  cmd->add_option("--app-id", args->app_id, "The app to send as (default: the config's only app)");
  cmd->add_option("--connect-timeout", args->connect_timeout_s, "Seconds to wait for the connection (default 15)");
  cmd->add_flag("--json", args->json, "Print the PRODUCE_ACK as JSON");
  cmd->add_flag("--verbose,-v", args->verbose, "Print the connection's log lines");
  cmd->callback([args, &exit_code] {
    SendArgs a = *args;
    if (a.content == "-") {
      std::cin >> std::noskipws;
      a.content.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    if (a.msg_api.empty()) return PrintError("--msg-api must not be empty"), void(exit_code = 2);
    RunSend(a, exit_code);
  });
}

}  // namespace alipaymsg::cli
