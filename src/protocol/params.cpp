// Sign content, Java URLEncoder query strings and form decoding (PROTOCOL.md §4, NOTIFY.md).
#include "alipaymsg/params.h"

#include <algorithm>
#include <cstdio>

#include "protocol/text_util.h"

namespace alipaymsg {

using protocol_internal::IsBlank;
using protocol_internal::JavaStringLess;

const std::string* FindParam(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return &v;
  }
  return nullptr;
}

namespace {

std::string SignContent(const Params& params, EmptyValues empties, bool drop_sign_type) {
  std::vector<const std::pair<std::string, std::string>*> kept;
  kept.reserve(params.size());
  for (const auto& p : params) {
    if (p.first == "sign") continue;
    if (drop_sign_type && p.first == "sign_type") continue;
    if (empties == EmptyValues::kSkip) {
      if (IsBlank(p.first) || IsBlank(p.second)) continue;
    } else if (p.first.empty()) {
      continue;  // the Node SDK filters empty keys only
    }
    kept.push_back(&p);
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const auto* a, const auto* b) { return JavaStringLess(a->first, b->first); });
  std::size_t size = 0;
  for (const auto* p : kept) size += p->first.size() + p->second.size() + 2;
  std::string out;
  out.reserve(size);
  for (const auto* p : kept) {
    if (!out.empty()) out += '&';
    out += p->first;
    out += '=';
    out += p->second;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one form component ('+' = space, %XX = byte). `where` names it in errors.
Result<std::string> DecodeComponent(std::string_view s, std::size_t offset) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      const int hi = i + 1 < s.size() ? HexValue(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return ParseError("bad percent escape at byte " + std::to_string(offset + i) +
                          " of the form body: '%' must be followed by two hex digits (got \"" +
                          protocol_internal::Snippet(s.substr(i, 3), 3) + "\")");
      }
      out += static_cast<char>((hi << 4) | lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string SignContentV2(const Params& params, EmptyValues empties) {
  return SignContent(params, empties, /*drop_sign_type=*/false);
}

std::string SignContentV1(const Params& params, EmptyValues empties) {
  return SignContent(params, empties, /*drop_sign_type=*/true);
}

std::string UrlEncodeJava(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3 / 2 + 8);
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '-' || c == '*' || c == '_') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0F];
    }
  }
  return out;
}

std::string BuildQuery(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (IsBlank(name) || IsBlank(value)) continue;
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += UrlEncodeJava(value);
  }
  return out;
}

std::string FormEncode(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += UrlEncodeJava(name);
    out += '=';
    out += UrlEncodeJava(value);
  }
  return out;
}

Result<Params> FormDecode(std::string_view body) {
  // A form is URL-encoded: a raw line break or other control character was added on the way (the
  // newline `echo` appends, a log line pasted whole) and would otherwise surface as a signature
  // failure far from its cause.
  for (std::size_t i = 0; i < body.size(); ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c < 0x20 || c == 0x7f) {
      static const char* const kNames[] = {"NUL", "tab", "line feed", "carriage return"};
      const char* name = c == 0 ? kNames[0] : c == '\t' ? kNames[1] : c == '\n' ? kNames[2] : c == '\r' ? kNames[3] : nullptr;
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", c);
      return ParseError(std::string("raw control character ") + hex + (name ? std::string(" (") + name + ")" : "") +
                        " at byte " + std::to_string(i) + " of " + std::to_string(body.size()) +
                        ": a form body is URL-encoded and never holds raw line breaks or control characters" +
                        (i + 1 == body.size() || (i + 2 == body.size() && c == '\r')
                             ? " (a trailing newline added by echo or an editor?)"
                             : ""));
    }
  }
  Params params;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    const std::string_view piece = body.substr(pos, amp - pos);
    if (!piece.empty()) {
      const std::size_t eq = piece.find('=');
      const std::string_view raw_name = piece.substr(0, eq);
      const std::string_view raw_value =
          eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
      auto name = DecodeComponent(raw_name, pos);
      if (!name.ok()) return name.status();
      auto value = DecodeComponent(raw_value, pos + (eq == std::string_view::npos ? 0 : eq + 1));
      if (!value.ok()) return value.status().WithContext("parameter \"" +
                                                        protocol_internal::Snippet(*name) + "\"");
      params.emplace_back(std::move(name).value(), std::move(value).value());
    }
    pos = amp + 1;
  }
  return params;
}

}  // namespace alipaymsg
