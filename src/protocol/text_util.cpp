#include "protocol/text_util.h"

#include <cstdint>
#include <cstring>

namespace alipaymsg::protocol_internal {
namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when invalid.
std::size_t DecodeUtf8(std::string_view s, std::size_t i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

// java.lang.Character.isWhitespace(int).
bool IsJavaWhitespace(uint32_t cp) {
  if ((cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20)) return true;
  // Unicode space separators except the non-breaking ones, plus line/paragraph separators.
  if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x2006) || (cp >= 0x2008 && cp <= 0x200A)) return true;
  return cp == 0x2028 || cp == 0x2029 || cp == 0x205F || cp == 0x3000;
}

}  // namespace

std::string_view JavaTrim(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= 0x20) ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= 0x20) --e;
  return s.substr(b, e - b);
}

bool IsBlank(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    const std::size_t len = DecodeUtf8(s, i, cp);
    if (len == 0 || !IsJavaWhitespace(cp)) return false;
    i += len;
  }
  return true;
}

bool JavaStringLess(std::string_view a, std::string_view b) {
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    // Same prefix, so i is a character boundary in both (valid UTF-8). A 4-byte lead (a surrogate
    // pair in UTF-16, 0xD800..) sorts before the 3-byte leads 0xEE/0xEF (U+E000..U+FFFF).
    const bool x4 = x >= 0xF0;
    const bool y4 = y >= 0xF0;
    const bool xHigh3 = x == 0xEE || x == 0xEF;
    const bool yHigh3 = y == 0xEE || y == 0xEF;
    if (x4 && yHigh3) return true;
    if (y4 && xHigh3) return false;
    return x < y;
  }
  return a.size() < b.size();
}

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0x0F];
        } else {
          out += c;
        }
    }
  }
}

std::size_t SkipJsonString(std::string_view text, std::size_t pos) {
  // memchr for the next quote, then for a backslash before it: long runs of plain text (most of a
  // bizContent) go by at memchr's speed rather than byte by byte.
  const char* const data = text.data();
  const std::size_t n = text.size();
  std::size_t i = pos + 1;
  std::size_t quote = 0;  // the next '"' at or after i, once found
  bool have_quote = false;
  while (i < n) {
    if (!have_quote || quote < i) {
      const void* q = std::memchr(data + i, '"', n - i);
      if (q == nullptr) return std::string_view::npos;
      quote = static_cast<std::size_t>(static_cast<const char*>(q) - data);
      have_quote = true;
    }
    const void* b = std::memchr(data + i, '\\', quote - i);
    if (b == nullptr) return quote + 1;
    i = static_cast<std::size_t>(static_cast<const char*>(b) - data) + 2;  // the escaped byte, whatever it is
  }
  return std::string_view::npos;
}

std::string Snippet(std::string_view s, std::size_t max) {
  bool cut = false;
  if (s.size() > max) {
    std::size_t end = max;
    // Do not split a UTF-8 sequence.
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    s = s.substr(0, end);
    cut = true;
  }
  std::string out;
  out.reserve(s.size() + 3);
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7F) ? '?' : c;
  }
  if (cut) out += "...";
  return out;
}

}  // namespace alipaymsg::protocol_internal
