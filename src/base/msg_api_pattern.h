// The msgApi patterns that handlers (Router::On) and the daemon's sinks (match:) are chosen by:
// "*" (every message), "prefix.*" (every msgApi starting with "prefix.", the dot included) or an
// exact msgApi. One definition, so that a pattern the config accepts is one the router accepts.
#pragma once

#include <string_view>

#include "alipaymsg/status.h"

namespace alipaymsg {

// kInvalidArgument naming the pattern and the rule: empty, or '*' anywhere but alone or after a
// final '.'.
Status CheckMsgApiPattern(std::string_view pattern);

// Whether a valid `pattern` matches `msg_api`.
bool MsgApiPatternMatches(std::string_view pattern, std::string_view msg_api);

}  // namespace alipaymsg
