// Well-formed UTF-8: what JSON text and PostgreSQL text values must be, whatever bytes came in.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace alipaymsg {

// The length of the well-formed UTF-8 sequence at the start of `s` (1 to 4), or 0 when there is
// none: a stray continuation byte, a truncated sequence, an overlong form, a surrogate, or a code
// point above U+10FFFF.
std::size_t Utf8SequenceLength(std::string_view s);

bool IsValidUtf8(std::string_view s);

// `s` with every byte that does not start a well-formed sequence replaced by `replacement`.
std::string ReplaceInvalidUtf8(std::string_view s, std::string_view replacement);

}  // namespace alipaymsg
