// §9.2: the text a sender signed, found the way the Java SDK finds it (a regular-expression search
// plus a brace scanner), so that what we verify is byte-for-byte what Alipay signed.
#include "protocol/frame.h"
#include "protocol/text_util.h"

namespace alipaymsg {
namespace {

// AlipaySignature.extractJsonObjectEndPosition: from the '{' at `begin`, the index one past the
// matching '}', counting braces outside strings; a '"' toggles "in string" only when preceded by an
// even number of consecutive backslashes. Unbalanced: text.size().
std::size_t ObjectEnd(std::string_view text, std::size_t begin) {
  std::size_t open = 0;
  bool in_quotes = false;
  std::size_t backslashes = 0;
  for (std::size_t i = begin; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"' && backslashes % 2 == 0) {
      in_quotes = !in_quotes;
    } else if (c == '{' && !in_quotes) {
      ++open;
    } else if (c == '}' && !in_quotes) {
      // The scan starts on a '{', so `open` is at least 1 here.
      if (open > 0) --open;
      if (open == 0) return i + 1;
    }
    backslashes = c == '\\' ? backslashes + 1 : 0;
  }
  return text.size();
}

// extractJsonBase64ValueEndPosition: one past the next '"' after `begin`, else text.size().
std::size_t QuotedEnd(std::string_view text, std::size_t begin) {
  const std::size_t q = text.find('"', begin + 1);
  return q == std::string_view::npos ? text.size() : q + 1;
}

}  // namespace

std::string_view ExtractSignContentAt(std::string_view text, std::size_t begin) {
  std::size_t b = begin;
  while (b < text.size() && text[b] != '{' && text[b] != '"') ++b;
  if (b >= text.size()) return {};
  const std::size_t end = text[b] == '{' ? ObjectEnd(text, b) : QuotedEnd(text, b);
  return text.substr(b, end - b);
}

std::optional<std::string_view> ExtractSignedData(std::string_view json) {
  using protocol_internal::IsRegexSpace;
  static constexpr std::string_view kKey = "\"data\"";
  std::size_t pos = 0;
  while ((pos = json.find(kKey, pos)) != std::string_view::npos) {
    std::size_t i = pos + kKey.size();
    while (i < json.size() && IsRegexSpace(json[i])) ++i;
    if (i < json.size() && json[i] == ':') {
      ++i;
      while (i < json.size() && IsRegexSpace(json[i])) ++i;
      if (i < json.size() && json[i] == '{') return json.substr(i, ObjectEnd(json, i) - i);
    }
    ++pos;
  }
  return std::nullopt;
}

}  // namespace alipaymsg
