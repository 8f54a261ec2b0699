#include "protocol/json_spans.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <string>

#include "protocol/text_util.h"

namespace alipaymsg::protocol_internal {
namespace {

constexpr std::size_t npos = std::string_view::npos;

// One past the end of the JSON value starting at text[pos], or npos.
std::size_t SkipValue(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return npos;
  const char c = text[pos];
  if (c == '"') return SkipJsonString(text, pos);
  if (c == '{' || c == '[') {
    std::size_t depth = 0;
    std::size_t i = pos;
    while (i < text.size()) {
      const char d = text[i];
      if (d == '"') {
        i = SkipJsonString(text, i);
        if (i == npos) return npos;
        continue;
      }
      if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (depth == 0) return npos;
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return npos;
  }
  // Scalar: number, true, false, null.
  std::size_t i = pos;
  while (i < text.size()) {
    const char d = text[i];
    if (d == ',' || d == '}' || d == ']' || IsJsonSpace(d)) break;
    ++i;
  }
  return i == pos ? npos : i;
}

bool KeyEquals(std::string_view raw, std::string_view name) {
  if (raw.find('\\') == npos) return raw == name;
  // Rare: an escaped key. Decode it exactly as the validating parser did.
  std::string quoted;
  quoted.reserve(raw.size() + 2);
  quoted += '"';
  quoted += raw;
  quoted += '"';
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(quoted, ec);
  if (ec || !v.is_string()) return false;
  const boost::json::string& s = v.get_string();
  return std::string_view(s.data(), s.size()) == name;
}

}  // namespace

std::size_t SkipJsonSpace(std::string_view text, std::size_t pos) {
  while (pos < text.size() && IsJsonSpace(text[pos])) ++pos;
  return pos;
}

std::optional<Span> FindLastMember(std::string_view text, std::size_t object_begin,
                                   std::string_view name) {
  if (object_begin >= text.size() || text[object_begin] != '{') return std::nullopt;
  std::optional<Span> found;
  std::size_t i = SkipJsonSpace(text, object_begin + 1);
  if (i < text.size() && text[i] == '}') return std::nullopt;
  while (i < text.size()) {
    if (text[i] != '"') return std::nullopt;
    const std::size_t key_end = SkipJsonString(text, i);
    if (key_end == npos) return std::nullopt;
    const std::string_view raw_key = text.substr(i + 1, key_end - i - 2);
    i = SkipJsonSpace(text, key_end);
    if (i >= text.size() || text[i] != ':') return std::nullopt;
    i = SkipJsonSpace(text, i + 1);
    const std::size_t value_end = SkipValue(text, i);
    if (value_end == npos) return std::nullopt;
    if (KeyEquals(raw_key, name)) found = Span{i, value_end};
    i = SkipJsonSpace(text, value_end);
    if (i >= text.size()) return std::nullopt;
    if (text[i] == '}') return found;
    if (text[i] != ',') return std::nullopt;
    i = SkipJsonSpace(text, i + 1);
  }
  return std::nullopt;
}

}  // namespace alipaymsg::protocol_internal
