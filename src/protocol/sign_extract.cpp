// §9.2: the text a sender signed, found the way the Java SDK finds it (a regular-expression search
// plus a brace scanner), so that what we verify is byte-for-byte what Alipay signed.
#include <cstring>

#include "protocol/frame.h"
#include "protocol/text_util.h"

namespace alipaymsg {
namespace {

// True when the '"' at text[quote] follows an even number of consecutive backslashes, counting
// only those at or after `begin` (where the Java scanner started counting).
bool QuoteCounts(std::string_view text, std::size_t begin, std::size_t quote) {
  std::size_t j = quote;
  while (j > begin && text[j - 1] == '\\') --j;
  return (quote - j) % 2 == 0;
}

// AlipaySignature.extractJsonObjectEndPosition: from the '{' at `begin`, the index one past the
// matching '}', counting braces outside strings; a '"' toggles "in string" only when preceded by an
// even number of consecutive backslashes. Unbalanced: text.size(). Inside a string only quotes
// matter, so the scan jumps from quote to quote with memchr (a bizContent is mostly one string).
std::size_t ObjectEnd(std::string_view text, std::size_t begin) {
  const char* const data = text.data();
  const std::size_t n = text.size();
  std::size_t open = 0;
  std::size_t i = begin;
  while (i < n) {
    const char c = data[i];
    if (c == '"' && QuoteCounts(text, begin, i)) {
      std::size_t from = i + 1;
      while (true) {  // to the quote that closes the string
        const void* q = std::memchr(data + from, '"', n - from);
        if (q == nullptr) return n;
        const auto quote = static_cast<std::size_t>(static_cast<const char*>(q) - data);
        if (QuoteCounts(text, begin, quote)) {
          i = quote;
          break;
        }
        from = quote + 1;
      }
    } else if (c == '{') {
      ++open;
    } else if (c == '}') {
      // The scan starts on a '{', so `open` is at least 1 here.
      if (open > 0) --open;
      if (open == 0) return i + 1;
    }
    ++i;
  }
  return n;
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
