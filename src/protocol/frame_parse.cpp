// ParseFrame (PROTOCOL.md §7, §8): header lines, CRLF CRLF, then one strict JSON pass with a
// Boost.JSON basic_parser whose handler keeps only the members the protocol reads (no DOM tree),
// followed by a byte-span lookup of data / data.content in the validated text.
#include <boost/json/basic_parser_impl.hpp>

#include <array>
#include <cstdint>

#include "protocol/frame.h"
#include "protocol/json_handler_base.h"
#include "protocol/json_spans.h"
#include "protocol/text_util.h"

namespace alipaymsg {
namespace {

using protocol_internal::IsBlank;
using protocol_internal::JavaTrim;
using protocol_internal::Snippet;

constexpr std::size_t kMaxJsonDepth = 64;

// ---------------------------------------------------------------------------------------------
// Header block (§7): split on CRLF; each line split on ':' like Java's String.split(":").

Status ParseHeaderLine(std::string_view line, Frame& frame) {
  const std::size_t colon = line.find(':');
  if (colon != std::string_view::npos && line.find_first_not_of(':') == std::string_view::npos) {
    // Java: ":".split(":") is an empty array, and reading field 0 throws.
    return ParseError("header line consisting only of ':'");
  }
  const std::string_view name = JavaTrim(line.substr(0, colon));
  std::string* target = nullptr;
  if (name == "from-sys") {
    target = &frame.header.from_sys;
  } else if (name == "from-sys-ip") {
    target = &frame.header.from_sys_ip;
  } else if (name == "stream-id") {
    target = &frame.header.stream_id;
  } else {
    return Status::Ok();  // unknown names (and lines without a colon) are ignored
  }
  // Java drops trailing empty fields, so field 1 exists only if something other than ':' follows.
  const std::string_view rest =
      colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (rest.find_first_not_of(':') == std::string_view::npos) {
    return ParseError("header line \"" + std::string(name) + "\" has no value");
  }
  const std::size_t next = rest.find(':');
  // Anything after a second ':' is lost, as in the SDK (an IPv6 "fe80::1" becomes "fe80").
  *target = std::string(JavaTrim(rest.substr(0, next)));
  if (target == &frame.header.stream_id) frame.has_stream_id = true;
  return Status::Ok();
}

Status ParseHeaderBlock(std::string_view block, Frame& frame) {
  if (IsBlank(block)) return Status::Ok();
  std::size_t pos = 0;
  while (pos <= block.size()) {
    std::size_t end = block.find("\r\n", pos);
    if (end == std::string_view::npos) end = block.size();
    ALIPAYMSG_RETURN_IF_ERROR(ParseHeaderLine(block.substr(pos, end - pos), frame));
    pos = end + 2;
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// The JSON document: a basic_parser handler that tracks where it is (top level, protocol, data,
// data.header) and copies out the string members the protocol defines.

enum class Role : uint8_t { kOther, kTop, kProtocol, kData, kHeader };

enum class Member : uint8_t {
  kNone,
  kProtocol, kData,                       // top level
  kHeader, kContent,                      // data
  kProtocolField,                         // protocol: an x-* member (field_ says which)
  kHeaderField,                           // data.header: appId, msgApi, *_cert_sn
};

enum class Kind : uint8_t { kObject, kArray, kString, kNumber, kBool, kNull };

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kObject: return "object";
    case Kind::kArray: return "array";
    case Kind::kString: return "string";
    case Kind::kNumber: return "number";
    case Kind::kBool: return "boolean";
    case Kind::kNull: return "null";
  }
  return "value";
}

class FrameHandler : public protocol_internal::JsonHandlerBase {
 public:
  explicit FrameHandler(Frame* frame) : frame_(frame) {}

  // Semantic error found by the handler (the parser then reports a generic failure).
  const std::string& error() const { return error_; }
  bool saw_protocol() const { return saw_protocol_; }
  bool timestamp_seen() const { return timestamp_seen_; }
  bool timestamp_null() const { return timestamp_null_; }
  bool has_content() const { return has_content_; }

  bool on_object_begin(error_code& ec) {
    Role role = Role::kOther;
    if (!BeginValue(Kind::kObject, ec, &role)) return false;
    Push(role);
    return true;
  }
  bool on_object_end(std::size_t, error_code&) { return Pop(); }
  bool on_array_begin(error_code& ec) {
    if (!BeginValue(Kind::kArray, ec, nullptr)) return false;
    Push(Role::kOther);
    return true;
  }
  bool on_array_end(std::size_t, error_code&) { return Pop(); }

  bool on_key_part(string_view s, std::size_t, error_code&) {
    if (Current() != Role::kOther) key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    if (Current() != Role::kOther) {
      key_.append(s.data(), s.size());
      Classify();
      key_.clear();
    } else {
      pending_ = Member::kNone;
    }
    return true;
  }

  bool on_string_part(string_view s, std::size_t, error_code& ec) {
    if (!in_string_) {
      in_string_ = true;
      if (!BeginValue(Kind::kString, ec, nullptr)) return false;
    }
    if (target_ != nullptr) target_->append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t n, error_code& ec) {
    if (!on_string_part(s, n, ec)) return false;
    in_string_ = false;
    target_ = nullptr;
    return true;
  }

  bool on_number_part(string_view, error_code& ec) { return NumberStart(ec); }
  bool on_int64(int64_t, string_view, error_code& ec) { return NumberEnd(ec); }
  bool on_uint64(uint64_t, string_view, error_code& ec) { return NumberEnd(ec); }
  bool on_double(double, string_view, error_code& ec) { return NumberEnd(ec); }
  bool on_bool(bool, error_code& ec) { return BeginValue(Kind::kBool, ec, nullptr); }
  bool on_null(error_code& ec) { return BeginValue(Kind::kNull, ec, nullptr); }

 private:
  Role Current() const { return depth_ < roles_.size() ? roles_[depth_] : Role::kOther; }

  void Push(Role role) {
    ++depth_;
    if (depth_ < roles_.size()) roles_[depth_] = role;
  }
  bool Pop() {
    if (depth_ > 0) --depth_;
    pending_ = Member::kNone;
    return true;
  }

  bool NumberStart(error_code& ec) {
    if (in_number_) return true;
    in_number_ = true;
    return BeginValue(Kind::kNumber, ec, nullptr);
  }
  bool NumberEnd(error_code& ec) {
    const bool ok = NumberStart(ec);
    in_number_ = false;
    return ok;
  }

  void Classify() {
    pending_ = Member::kNone;
    switch (Current()) {
      case Role::kTop:
        if (key_ == "protocol") pending_ = Member::kProtocol;
        else if (key_ == "data") pending_ = Member::kData;
        break;
      case Role::kProtocol: {
        ProtocolFields& p = frame_->protocol;
        std::string* f = nullptr;
        if (key_ == "x-type") f = &p.type;
        else if (key_ == "x-cmd") f = &p.cmd;
        else if (key_ == "x-msgId") f = &p.msg_id;
        else if (key_ == "x-timestamp") f = &p.timestamp;
        else if (key_ == "x-version") f = &p.version;
        else if (key_ == "x-status") f = &p.status;
        else if (key_ == "x-code") f = &p.code;
        else if (key_ == "x-error") f = &p.error;
        else if (key_ == "x-charset") f = &p.charset;
        else if (key_ == "x-signType") f = &p.sign_type;
        else if (key_ == "x-sign") f = &p.sign;
        if (f != nullptr) {
          pending_ = Member::kProtocolField;
          field_ = f;
        }
        break;
      }
      case Role::kData:
        if (key_ == "header") pending_ = Member::kHeader;
        else if (key_ == "content") pending_ = Member::kContent;
        break;
      case Role::kHeader: {
        std::string* f = nullptr;
        if (key_ == "appId") f = &frame_->app_id;
        else if (key_ == "msgApi") f = &frame_->msg_api;
        else if (key_ == "app_cert_sn") f = &frame_->app_cert_sn;
        else if (key_ == "alipay_root_cert_sn") f = &frame_->alipay_root_cert_sn;
        if (f != nullptr) {
          pending_ = Member::kHeaderField;
          field_ = f;
        }
        break;
      }
      case Role::kOther:
        break;
    }
  }

  bool Fail(error_code& ec, std::string message) {
    error_ = std::move(message);
    ec = boost::json::error::syntax;
    return false;
  }

  std::string FieldName() const {
    const ProtocolFields& p = frame_->protocol;
    if (field_ == &p.type) return "x-type";
    if (field_ == &p.cmd) return "x-cmd";
    if (field_ == &p.msg_id) return "x-msgId";
    if (field_ == &p.timestamp) return "x-timestamp";
    if (field_ == &p.version) return "x-version";
    if (field_ == &p.status) return "x-status";
    if (field_ == &p.code) return "x-code";
    if (field_ == &p.error) return "x-error";
    if (field_ == &p.charset) return "x-charset";
    if (field_ == &p.sign_type) return "x-signType";
    if (field_ == &p.sign) return "x-sign";
    if (field_ == &frame_->app_id) return "data.header.appId";
    if (field_ == &frame_->msg_api) return "data.header.msgApi";
    if (field_ == &frame_->app_cert_sn) return "data.header.app_cert_sn";
    return "data.header.alipay_root_cert_sn";
  }

  // Called at the start of every value. Checks the value's type against what the protocol expects
  // at this place and prepares string capture. `role` (containers only) receives the new role.
  bool BeginValue(Kind kind, error_code& ec, Role* role) {
    if (depth_ == 0) {
      if (kind != Kind::kObject) {
        return Fail(ec, std::string("the JSON document must be an object, got ") + KindName(kind));
      }
      if (role != nullptr) *role = Role::kTop;
      return true;
    }
    const Member member = pending_;
    pending_ = Member::kNone;
    switch (member) {
      case Member::kNone:
        return true;
      case Member::kProtocol:
        if (kind != Kind::kObject) {
          return Fail(ec, std::string("\"protocol\" must be a JSON object, got ") + KindName(kind));
        }
        frame_->protocol = ProtocolFields{};  // a repeated member replaces the earlier one
        saw_protocol_ = true;
        timestamp_seen_ = timestamp_null_ = false;
        if (role != nullptr) *role = Role::kProtocol;
        return true;
      case Member::kData:
        if (kind != Kind::kObject) {
          return Fail(ec, std::string("\"data\" must be a JSON object, got ") + KindName(kind));
        }
        frame_->has_data = true;
        frame_->app_id.clear();
        frame_->msg_api.clear();
        frame_->app_cert_sn.clear();
        frame_->alipay_root_cert_sn.clear();
        has_content_ = false;
        if (role != nullptr) *role = Role::kData;
        return true;
      case Member::kHeader:
        if (kind != Kind::kObject) {
          return Fail(ec, std::string("data.header must be a JSON object, got ") + KindName(kind));
        }
        frame_->app_id.clear();
        frame_->msg_api.clear();
        frame_->app_cert_sn.clear();
        frame_->alipay_root_cert_sn.clear();
        if (role != nullptr) *role = Role::kHeader;
        return true;
      case Member::kContent:
        if (kind != Kind::kObject) {
          return Fail(ec, std::string("data.content must be a JSON object, got ") + KindName(kind));
        }
        has_content_ = true;
        return true;  // its inside is not inspected; the raw text is taken by span later
      case Member::kProtocolField:
      case Member::kHeaderField: {
        const bool is_timestamp = field_ == &frame_->protocol.timestamp;
        if (is_timestamp) timestamp_seen_ = true;
        field_->clear();
        if (kind == Kind::kString) {
          target_ = field_;
          return true;
        }
        if (kind == Kind::kNull) {  // Java reads null as absent
          if (is_timestamp) timestamp_null_ = true;
          return true;
        }
        return Fail(ec, FieldName() + " must be a JSON string, got " + KindName(kind));
      }
    }
    return true;
  }

  Frame* frame_;
  std::string error_;
  std::array<Role, 8> roles_{};
  std::size_t depth_ = 0;
  Member pending_ = Member::kNone;
  std::string* field_ = nullptr;
  std::string* target_ = nullptr;
  std::string key_;
  bool in_string_ = false;
  bool in_number_ = false;
  bool saw_protocol_ = false;
  bool timestamp_seen_ = false;
  bool timestamp_null_ = false;
  bool has_content_ = false;
};

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A decimal digit string that fits a Java long (Long.parseLong would accept it).
bool FitsInt64(std::string_view digits) {
  static constexpr std::string_view kMax = "9223372036854775807";
  std::size_t i = 0;
  while (i + 1 < digits.size() && digits[i] == '0') ++i;
  digits.remove_prefix(i);
  if (digits.size() != kMax.size()) return digits.size() < kMax.size();
  return digits <= kMax;
}

Status ParseDocument(std::string_view json, Frame& frame) {
  boost::json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  boost::json::basic_parser<FrameHandler> parser(options, &frame);
  boost::system::error_code ec;
  const std::size_t consumed = parser.write_some(false, json.data(), json.size(), ec);
  const FrameHandler& h = parser.handler();
  if (!h.error().empty()) return ParseError(h.error());
  if (ec) {
    return ParseError("invalid JSON near byte " + std::to_string(consumed) +
                      " of the JSON part: " + ec.message());
  }
  if (consumed < json.size()) {
    return ParseError("unexpected text after the JSON document at byte " +
                      std::to_string(consumed) + " of the JSON part: \"" +
                      Snippet(json.substr(consumed), 24) + "\"");
  }
  if (!h.saw_protocol()) return ParseError("missing \"protocol\" object");
  if (IsBlank(frame.protocol.type)) return ParseError("missing x-type in protocol");
  if (h.timestamp_seen()) {
    const std::string& ts = frame.protocol.timestamp;
    if (h.timestamp_null()) return ParseError("x-timestamp must be a string of digits, got null");
    if (!IsDigits(ts) || !FitsInt64(ts)) {
      return ParseError("x-timestamp must be a string of decimal digits (ms), got \"" +
                        Snippet(ts, 32) + "\"");
    }
  }
  if (!frame.has_data) return Status::Ok();

  // Byte spans of the data object (the last "data" member, as the SDK's HashMap keeps it) and of
  // data.content inside it.
  using protocol_internal::FindLastMember;
  const std::size_t top = protocol_internal::SkipJsonSpace(json, 0);
  const auto data_span = FindLastMember(json, top, "data");
  if (!data_span) return Internal("validated JSON has no locatable \"data\" member");
  const std::string_view data_text = json.substr(data_span->begin, data_span->end - data_span->begin);

  // The signature covers the text §9.2 finds; it must be this very object, or a sender could sign
  // one object and deliver another.
  const auto signed_text = ExtractSignedData(json);
  if (!signed_text || signed_text->data() != data_text.data() ||
      signed_text->size() != data_text.size()) {
    return ParseError(
        "the signed text (the first \"data\":{ match) is not the document's data object; "
        "another \"data\" key or a duplicate data member precedes it");
  }
  frame.signed_data.assign(data_text);

  if (h.has_content()) {
    const auto content_span = FindLastMember(json, data_span->begin, "content");
    if (!content_span) return Internal("validated JSON has no locatable data.content member");
    frame.content.emplace(json.substr(content_span->begin, content_span->end - content_span->begin));
  }
  return Status::Ok();
}

}  // namespace

Result<Frame> ParseFrame(std::string_view text) {
  const std::size_t split = text.find("\r\n\r\n");
  if (split == std::string_view::npos) {
    if (IsBlank(text)) return ParseError("empty frame");
    if (text.find("\n\n") != std::string_view::npos) {
      return ParseError("no CRLF CRLF between header lines and JSON (found LF LF: LF-only line "
                        "endings are not accepted)");
    }
    return ParseError("no CRLF CRLF between header lines and JSON (truncated frame?)");
  }
  Frame frame;
  Status st = ParseHeaderBlock(text.substr(0, split), frame);
  if (!st.ok()) return st;
  const std::string_view json = text.substr(split + 4);
  if (IsBlank(json)) {
    frame.empty_document = true;
    return frame;
  }
  st = ParseDocument(json, frame);
  if (!st.ok()) return st;
  return frame;
}

}  // namespace alipaymsg
