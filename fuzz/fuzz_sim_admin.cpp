// libFuzzer: the simulator's admin API (Hub::HandleAdmin) on a sequence of requests, with a fresh
// hub per input (keys loaded once; two apps: key mode and cert mode; fixed seed; a manual clock
// that moves between requests; notifications answered "success" after the request that sent them).
// Input: requests separated by a line "--"; each is "METHOD TARGET" on its first line, the JSON
// body after it.
// Every answer must be a known HTTP status with a JSON body.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "alipaymsg/clock.h"
#include "fuzz_common.h"
#include "sim/hub.h"

namespace alipaymsg::sim {
namespace {

using fuzz::Check;

// Notifications "sent" during a request, answered once it returned (as the server thread would).
class Transport final : public NotifyTransport {
 public:
  void Post(const std::string&, std::string,
            std::function<void(int, std::string, std::string)> done) override {
    pending_.push_back(std::move(done));
  }
  void AnswerAll() {
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& done : pending) done(200, "success", "");
  }

 private:
  std::vector<std::function<void(int, std::string, std::string)>> pending_;
};

SimulatorOptions Options(const std::shared_ptr<ManualClock>& clock) {
  const std::string dir = ALIPAYMSG_FUZZ_INPUTS;
  SimulatorOptions options;
  options.alipay_private_key = dir + "/alipay_private_pkcs1.pem";
  options.alipay_cert = dir + "/alipayCertPublicKey_RSA2_test.crt";
  options.root_cert = dir + "/alipayRootCert_test.crt";
  options.apps = {{"2021000000000001", dir + "/app_public.pem"},
                  {"2021000000000000", dir + "/appCertPublicKey_2021000000000000.crt"}};
  options.clock = clock;
  options.seed = 1;
  options.max_finished_retained = 1000;
  return options;
}

// The simulator accepts {"count": up to 10,000,000} by design (benchmarks); a run stays short.
bool TooBig(std::string_view body) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return false;
  auto* count = doc.as_object().if_contains("count");
  return count != nullptr && count->is_int64() && count->as_int64() > 1000;
}

}  // namespace
}  // namespace alipaymsg::sim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace alipaymsg::sim;
  using alipaymsg::ManualClock;
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::vector<std::string_view> requests;
  for (size_t pos = 0; pos <= text.size();) {
    size_t end = text.find("\n--\n", pos);
    if (end == std::string_view::npos) end = text.size();
    requests.push_back(text.substr(pos, end - pos));
    pos = end + 4;
  }
  if (requests.size() > 16) return 0;
  for (std::string_view r : requests) {
    if (TooBig(r.substr(std::min(r.size(), r.find('\n'))))) return 0;
  }

  // Keys and certificates are read once; the hub itself (state, clock, random) is fresh per input.
  static const HubCredentials* credentials = [] {
    auto loaded = LoadHubCredentials(Options(nullptr));
    Check(loaded.ok());
    return new HubCredentials(std::move(loaded).value());
  }();
  auto clock = std::make_shared<ManualClock>(1'700'000'000'000);
  auto hub = Hub::Create(Options(clock), *credentials);
  Transport transport;
  hub->SetNotifyTransport(&transport);
  for (std::string_view request : requests) {
    const size_t nl = std::min(request.size(), request.find('\n'));
    const std::string_view line = request.substr(0, nl);
    const std::string_view body = nl < request.size() ? request.substr(nl + 1) : std::string_view();
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    const HttpAnswer answer = hub->HandleAdmin(line.substr(0, space), line.substr(space + 1), body);
    Check(answer.status >= 200 && answer.status < 600);
    if (answer.content_type.starts_with("application/json")) {
      // Structure only: an echoed target may carry bytes that are not UTF-8.
      boost::json::parse_options options;
      options.allow_invalid_utf8 = true;
      boost::system::error_code ec;
      boost::json::parse(answer.body, ec, {}, options);
      Check(!ec);
    }
    transport.AnswerAll();
    clock->Advance(1000);
    hub->Tick();
  }
  return 0;
}
