// Small text helpers shared by the protocol module: Java's notions of "blank" and trim(), Java
// String ordering for UTF-8, and JSON string escaping. Internal (not part of the public API).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace alipaymsg::protocol_internal {

// java.lang.String.trim(): strips every char <= U+0020 at both ends.
std::string_view JavaTrim(std::string_view s);

// Alipay StringUtils.isEmpty(): zero length or only Character.isWhitespace() code points
// (decoded from UTF-8; an invalid byte counts as not whitespace).
bool IsBlank(std::string_view s);

// a < b in java.lang.String.compareTo order (UTF-16 code units) for UTF-8 strings. Byte order
// equals it except that supplementary characters (4-byte UTF-8) sort before U+E000..U+FFFF.
bool JavaStringLess(std::string_view a, std::string_view b);

// Appends `s` as the inside of a JSON string: '"' and '\\' escaped, control characters as
// \b \f \n \r \t or \u00XX (uppercase hex). '/' and non-ASCII bytes are written as they are.
void AppendJsonEscaped(std::string& out, std::string_view s);

// Standard JSON insignificant whitespace.
inline bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Java regex \s: [ \t\n\x0B\f\r].
inline bool IsRegexSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\x0B' || c == '\f' || c == '\r';
}

// Given text[pos] == '"', the index just past the closing quote (escape-aware), or npos when the
// string is not terminated.
std::size_t SkipJsonString(std::string_view text, std::size_t pos);

// Shortens untrusted text for an error message: at most `max` bytes, control bytes replaced.
std::string Snippet(std::string_view s, std::size_t max = 64);

}  // namespace alipaymsg::protocol_internal
