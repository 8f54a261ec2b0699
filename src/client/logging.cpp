#include <spdlog/spdlog.h>

#include "alipaymsg/client.h"

namespace alipaymsg {

Logger SpdlogLogger() {
  return [](LogLevel level, std::string_view line) {
    switch (level) {
      case LogLevel::kDebug: spdlog::debug("{}", line); break;
      case LogLevel::kInfo: spdlog::info("{}", line); break;
      case LogLevel::kWarn: spdlog::warn("{}", line); break;
      case LogLevel::kError: spdlog::error("{}", line); break;
    }
  };
}

}  // namespace alipaymsg
