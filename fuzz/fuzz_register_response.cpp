// libFuzzer: the register.do response scanner and the zone cookie parser on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/register.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto r = alipaymsg::ParseRegisterResponse(text);
  if (r.ok()) {
    // Everything returned is a piece of the body.
    Check(text.find(r->signed_text) != std::string_view::npos);
    Check(!r->signed_text.empty() && r->signed_text.front() == '{' && r->signed_text.back() == '}');
    Check(r->sign.empty() || text.find(r->sign) != std::string_view::npos);
    if (r->alipay_cert_sn) Check(text.find(*r->alipay_cert_sn) != std::string_view::npos);
    // The simulator's writer produces what the scanner reads back (unless the object itself
    // mentions alipay_cert_sn, which the SDK's layout rule forbids).
    if (r->signed_text.find("alipay_cert_sn") == std::string::npos) {
      const std::string body = alipaymsg::BuildRegisterResponseBody(r->signed_text, "c2ln", std::nullopt);
      auto again = alipaymsg::ParseRegisterResponse(body);
      Check(again.ok() && again->signed_text == r->signed_text && again->code == r->code);
    }
  } else {
    Check(!r.status().message().empty());
  }

  auto zone = alipaymsg::ParseZoneCookie(text);
  if (zone.ok() && zone->has_value()) {
    Check(!(*zone)->empty());
    Check(text.find(**zone) != std::string_view::npos);
  }
  return 0;
}
