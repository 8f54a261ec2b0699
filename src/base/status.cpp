#include "alipaymsg/status.h"

namespace alipaymsg {

std::string_view ToString(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kParseError: return "ParseError";
    case StatusCode::kSignatureMismatch: return "SignatureMismatch";
    case StatusCode::kCryptoError: return "CryptoError";
    case StatusCode::kIoError: return "IoError";
    case StatusCode::kProtocolError: return "ProtocolError";
    case StatusCode::kTimeout: return "Timeout";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kInternal: return "Internal";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(alipaymsg::ToString(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

}  // namespace alipaymsg
