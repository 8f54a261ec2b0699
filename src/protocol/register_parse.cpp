// register.do response parsing (PROTOCOL.md §5.3, §5.4): the SDK's text scanning, made bounds-safe.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "protocol/register.h"
#include "protocol/text_util.h"

namespace alipaymsg {
namespace {

using protocol_internal::AppendJsonEscaped;
using protocol_internal::JavaTrim;
using protocol_internal::Snippet;

constexpr std::size_t npos = std::string_view::npos;

// The value after the first `"name":"` in `text`, up to the next '"'; nullopt when absent or
// unterminated.
std::optional<std::string> ScanQuotedValue(std::string_view text, std::string_view name) {
  std::string needle;
  needle.reserve(name.size() + 5);
  needle += '"';
  needle += name;
  needle += "\":\"";
  const std::size_t at = text.find(needle);
  if (at == npos) return std::nullopt;
  const std::size_t begin = at + needle.size();
  const std::size_t end = text.find('"', begin);
  if (end == npos) return std::nullopt;
  return std::string(text.substr(begin, end - begin));
}

// The SDK strips space, TAB and LF (not CR) before looking for "code" and "link_token".
std::string StripSdkWhitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\n') out += c;
  }
  return out;
}

// msg / sub_code / sub_msg are diagnostics only: read them from the JSON when it parses (so the
// human text keeps its spaces), else by the same text scan.
void FillDiagnostics(RegisterResponse& r) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(r.signed_text, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.get_object();
    auto get = [&o](const char* name, std::string& out) {
      if (const auto* m = o.if_contains(name); m != nullptr && m->is_string()) {
        out.assign(m->get_string().data(), m->get_string().size());
      }
    };
    get("msg", r.msg);
    get("sub_code", r.sub_code);
    get("sub_msg", r.sub_msg);
    return;
  }
  r.msg = ScanQuotedValue(r.signed_text, "msg").value_or("");
  r.sub_code = ScanQuotedValue(r.signed_text, "sub_code").value_or("");
  r.sub_msg = ScanQuotedValue(r.signed_text, "sub_msg").value_or("");
}

}  // namespace

Result<RegisterResponse> ParseRegisterResponse(std::string_view body) {
  if (body.empty()) return ProtocolError("register response is empty");
  if (JavaTrim(body).substr(0, 1) != "{") {
    return ProtocolError("register response is not a JSON object: \"" + Snippet(body) + "\"");
  }
  RegisterResponse r;

  // 1. Content start: first "response", the next ':', the next '{'.
  static constexpr std::string_view kResponse = "\"response\"";
  std::size_t begin = body.find(kResponse);
  if (begin == npos) {
    return ProtocolError("register response has no \"response\" member: \"" + Snippet(body) + "\"");
  }
  begin = body.find(':', begin + kResponse.size());
  if (begin != npos) begin = body.find('{', begin);
  if (begin == npos) return ProtocolError("register response: \"response\" is not followed by an object");

  // 2. Signature: the value after the LAST "sign"; the content ends at the '}' before it.
  static constexpr std::string_view kSign = "\"sign\"";
  const std::size_t sign_at = body.rfind(kSign);
  std::size_t content_end;  // one past the last byte of the signed text
  if (sign_at != npos && sign_at > 0) {
    std::size_t i = body.find(':', sign_at + kSign.size());
    if (i != npos) i = body.find('"', i);
    if (i == npos) return ProtocolError("register response: \"sign\" has no string value");
    const std::size_t sign_begin = i + 1;
    const std::size_t sign_end = body.find('"', sign_begin);
    if (sign_end == npos) return ProtocolError("register response: unterminated \"sign\" value");
    r.sign.assign(body.substr(sign_begin, sign_end - sign_begin));
    const std::size_t brace = body.rfind('}', sign_begin);
    if (brace == npos || brace < begin) {
      return ProtocolError("register response: no '}' closes the response object before \"sign\"");
    }
    content_end = brace + 1;

    // 3. alipay_cert_sn: assumed to be the last member, laid out as "alipay_cert_sn":"<sn>"}.
    const std::size_t sn_word = body.find("alipay_cert_sn");
    if (sn_word != npos && sn_word > 1) {
      static constexpr std::string_view kSn = "\"alipay_cert_sn\"";
      const std::size_t sn_at = body.find(kSn);
      const std::size_t last_brace = body.rfind('}');
      const std::size_t sn_begin = sn_at == npos ? npos : sn_at + kSn.size() + 2;
      if (sn_at == npos || last_brace == npos || last_brace < 1 || sn_begin > last_brace - 1 ||
          body.substr(sn_at + kSn.size(), 2) != ":\"" || body[last_brace - 1] != '"') {
        return ProtocolError(
            "register response: alipay_cert_sn is not laid out as the last member "
            "\"alipay_cert_sn\":\"<sn>\"} (the Java SDK cannot read it either)");
      }
      r.alipay_cert_sn = std::string(body.substr(sn_begin, last_brace - 1 - sn_begin));
    }
  } else {
    // No signature: the content ends at the last-but-one '}'.
    const std::size_t last = body.rfind('}');
    const std::size_t prev = (last == npos || last == 0) ? npos : body.rfind('}', last - 1);
    if (prev == npos || prev < begin) {
      return ProtocolError("register response: cannot find the end of the response object");
    }
    content_end = prev + 1;
  }
  r.signed_text.assign(body.substr(begin, content_end - begin));

  // 5./6. code and link_token from the whitespace-stripped content.
  const std::string stripped = StripSdkWhitespace(r.signed_text);
  auto code = ScanQuotedValue(stripped, "code");
  if (!code) {
    return ProtocolError("register response has no \"code\" string: \"" + Snippet(r.signed_text) + "\"");
  }
  r.code = std::move(*code);
  r.link_token = ScanQuotedValue(stripped, "link_token").value_or("");
  FillDiagnostics(r);
  return r;
}

Result<std::optional<std::string>> ParseZoneCookie(std::string_view set_cookie) {
  std::optional<std::string> zone;
  std::size_t pos = 0;
  while (pos <= set_cookie.size()) {
    std::size_t end = set_cookie.find(';', pos);
    if (end == npos) end = set_cookie.size();
    const std::string_view piece = set_cookie.substr(pos, end - pos);
    pos = end + 1;
    if (piece.find("zone=") == npos) continue;
    // Java: piece.split("=") — field 0 is the name, field 1 (if any non-empty field follows) the value.
    const std::size_t eq = piece.find('=');
    if (JavaTrim(piece.substr(0, eq)) != "zone") continue;
    const std::string_view rest = piece.substr(eq + 1);
    if (rest.find_first_not_of('=') == npos) {
      return ProtocolError("Set-Cookie has \"zone=\" with an empty value: \"" + Snippet(set_cookie) + "\"");
    }
    zone = std::string(JavaTrim(rest.substr(0, rest.find('='))));
  }
  if (zone && zone->empty()) return std::optional<std::string>();  // the SDK then sends no cookie
  return zone;
}

std::string BuildRegisterResponseBody(std::string_view response_object, std::string_view sign,
                                      std::optional<std::string_view> alipay_cert_sn) {
  std::string out;
  out.reserve(response_object.size() + sign.size() + 96);
  out += "{\"response\":";
  out += response_object;
  out += ",\"sign\":\"";
  AppendJsonEscaped(out, sign);
  out += '"';
  if (alipay_cert_sn) {
    out += ",\"alipay_cert_sn\":\"";
    AppendJsonEscaped(out, *alipay_cert_sn);
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace alipaymsg
