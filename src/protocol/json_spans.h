// Locating members of an already validated JSON object by byte span, without building a tree.
// Internal to the protocol module.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace alipaymsg::protocol_internal {

struct Span {
  std::size_t begin = 0;  // first byte of the value
  std::size_t end = 0;    // one past its last byte
};

// `text[object_begin]` must be the '{' of a JSON object inside `text`, and `text` must have been
// validated as JSON (the scanner is bounds-safe regardless: malformed text yields nullopt).
// Returns the span of the value of the LAST member named `name` (duplicate names: last one wins,
// as in a Java HashMap), comparing decoded key text; nullopt when there is none.
std::optional<Span> FindLastMember(std::string_view text, std::size_t object_begin,
                                   std::string_view name);

// The index of the first non-whitespace byte at or after `pos` (text.size() when none).
std::size_t SkipJsonSpace(std::string_view text, std::size_t pos);

}  // namespace alipaymsg::protocol_internal
