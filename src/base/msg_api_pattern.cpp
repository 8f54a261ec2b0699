#include "base/msg_api_pattern.h"

#include <string>

namespace alipaymsg {

Status CheckMsgApiPattern(std::string_view pattern) {
  if (pattern.empty()) return InvalidArgument("an empty pattern matches nothing (use \"*\" for every message)");
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos || pattern == "*") return Status::Ok();
  if (star != pattern.size() - 1 || pattern.size() < 3 || pattern[star - 1] != '.') {
    return InvalidArgument("\"" + std::string(pattern) +
                           "\": a wildcard may only end the pattern, after a dot (\"alipay.open.mini.*\"), "
                           "or stand alone (\"*\")");
  }
  return Status::Ok();
}

bool MsgApiPatternMatches(std::string_view pattern, std::string_view msg_api) {
  if (pattern == "*") return true;
  if (pattern.ends_with(".*")) return msg_api.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == msg_api;
}

}  // namespace alipaymsg
