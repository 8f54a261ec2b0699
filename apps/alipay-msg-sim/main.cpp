// alipay-msg-sim: a local Alipay open-channel server. Thin: parse flags, start, wait for a signal.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "sim/keygen.h"
#include "sim/simulator.h"

namespace sim = alipaymsg::sim;

int main(int argc, char** argv) {
  CLI::App app{"alipay-msg-sim: a local Alipay open-channel (WebSocket message) server with an admin API"};
  sim::SimulatorOptions options;
  std::vector<std::string> app_specs;
  double scale = 1.0;
  std::string schedule_text, ready_file, log_level = "info";
  app.add_option("--listen", options.listen, "HOST:PORT for GET /websocket/register.do and /websocket")
      ->default_val("127.0.0.1:8080");
  app.add_option("--admin", options.admin, "HOST:PORT for the admin HTTP API")->default_val("127.0.0.1:8081");
  app.add_option("--alipay-private-key", options.alipay_private_key, "the simulated Alipay private key (PEM or bare base64)");
  app.add_option("--alipay-cert", options.alipay_cert, "cert mode: the Alipay certificate (alipayCertPublicKey_RSA2.crt)");
  app.add_option("--root-cert", options.root_cert, "cert mode: the root bundle (alipayRootCert.crt)");
  app.add_option("--app", app_specs, "APP_ID=FILE: an app and its public key (key mode) or app certificate (cert mode); repeat");
  app.add_option("--tls-cert", options.tls_cert, "serve HTTPS/WSS with this certificate chain (PEM)");
  app.add_option("--tls-key", options.tls_key, "private key for --tls-cert");
  app.add_option("--redelivery-scale", scale, "multiply the redelivery schedule (0.001: 2m becomes 120ms)")->default_val(1.0);
  app.add_option("--redelivery", schedule_text, "explicit schedule, e.g. 0,2m,10m,10m,1h,2h,6h,15h (the default); units ms s m h");
  app.add_option("--timestamp-window-ms", options.timestamp_window_ms, "allowed clock skew of request timestamps; 0 = no check")
      ->default_val(options.timestamp_window_ms);
  app.add_option("--link-token-ttl-ms", options.link_token_ttl_ms, "how long a link_token stays usable")
      ->default_val(options.link_token_ttl_ms);
  app.add_option("--zone", options.zone, "zone cookie set by register.do and required on /websocket (empty: none)")
      ->default_val(options.zone);
  app.add_option("--max-inflight", options.max_inflight_per_connection, "unacked CONSUMEs per connection; 0 = unlimited")
      ->default_val(0);
  app.add_option("--retain", options.max_finished_retained, "finished messages kept for GET /messages/ID")
      ->default_val(options.max_finished_retained);
  app.add_option("--seed", options.seed, "random seed (0: random)")->default_val(0);
  app.add_option("--ready-file", ready_file, "write {\"port\":..,\"admin_port\":..} here once listening");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->default_val("info");

  std::string keygen_dir, tls_dir;
  sim::KeygenOptions keygen_options;
  auto* keygen = app.add_subcommand("keygen", "write a throwaway app + Alipay key pair, CA, app cert, Alipay cert and root bundle");
  keygen->add_option("DIR", keygen_dir, "output directory")->required();
  keygen->add_option("--app-id", keygen_options.app_id, "app id for the app certificate")->default_val(keygen_options.app_id);
  auto* tls_keygen = app.add_subcommand("tls-keygen", "write a throwaway CA and a server certificate for 127.0.0.1/localhost");
  tls_keygen->add_option("DIR", tls_dir, "output directory")->required();
  std::string tls_names = sim::kDefaultTlsNames;
  tls_keygen->add_option("--names", tls_names, "the names the server certificate is for (subjectAltName)")
      ->capture_default_str();
  app.require_subcommand(0, 1);

  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("alipay-msg-sim");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (keygen->parsed() || tls_keygen->parsed()) {
    auto files = keygen->parsed() ? sim::GenerateKeys(keygen_dir, keygen_options) : sim::GenerateTlsKeys(tls_dir, tls_names);
    if (!files.ok()) {
      std::cerr << "alipay-msg-sim: " << files.status().ToString() << "\n";
      return 1;
    }
    for (const auto& f : *files) std::cout << f << "\n";
    return 0;
  }

  if (options.alipay_private_key.empty()) {
    std::cerr << "alipay-msg-sim: --alipay-private-key is required (try `alipay-msg-sim keygen DIR` first)\n";
    return 2;
  }
  for (const auto& spec : app_specs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      std::cerr << "alipay-msg-sim: --app '" << spec << "' is not APP_ID=FILE\n";
      return 2;
    }
    options.apps.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
  }
  if (!schedule_text.empty()) {
    auto parsed = sim::RedeliverySchedule::Parse(schedule_text);
    if (!parsed.ok()) {
      std::cerr << "alipay-msg-sim: --redelivery: " << parsed.status().message() << "\n";
      return 2;
    }
    options.schedule = *parsed;
  }
  if (scale <= 0) {
    std::cerr << "alipay-msg-sim: --redelivery-scale must be positive\n";
    return 2;
  }
  options.schedule = options.schedule.Scaled(scale);

  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto simulator = sim::Simulator::Start(options);
  if (!simulator.ok()) {
    std::cerr << "alipay-msg-sim: " << simulator.status().ToString() << "\n";
    return 1;
  }
  spdlog::info("redelivery schedule: {}", options.schedule.ToString());
  if (!ready_file.empty()) {
    std::string tmp = ready_file + ".tmp";
    std::ofstream(tmp) << "{\"port\":" << (*simulator)->port() << ",\"admin_port\":" << (*simulator)->admin_port() << "}\n";
    std::rename(tmp.c_str(), ready_file.c_str());
  }
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  (*simulator)->Stop();
  return 0;
}
