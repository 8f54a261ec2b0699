// Errors as values. Every fallible call in alipay-msg returns a Status or a Result<T>;
// the message names the cause (and the file, key or field where that helps the user fix it).
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace alipaymsg {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller (or the user's config) passed something unusable
  kNotFound,           // file, message or key absent
  kParseError,         // malformed input: frame, JSON, PEM, base64, form body
  kSignatureMismatch,  // a signature was checked and did not verify
  kCryptoError,        // OpenSSL refused an operation (wrong key kind, bad curve, ...)
  kIoError,            // file system or socket failure
  kProtocolError,      // the peer broke PROTOCOL.md (bad register response, bad ack, ...)
  kTimeout,
  kUnavailable,        // not connected, shutting down, queue full
  kInternal,
};

std::string_view ToString(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "ParseError: no CRLF CRLF between header lines and JSON"
  std::string ToString() const;

  // Prefixes context to the message: Status(kIoError, "no such file").WithContext("app key keys/a.pem")
  // gives "app key keys/a.pem: no such file".
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status ParseError(std::string m) { return {StatusCode::kParseError, std::move(m)}; }
inline Status SignatureMismatch(std::string m) { return {StatusCode::kSignatureMismatch, std::move(m)}; }
inline Status CryptoError(std::string m) { return {StatusCode::kCryptoError, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status ProtocolError(std::string m) { return {StatusCode::kProtocolError, std::move(m)}; }
inline Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A value or the Status saying why there is none (a small std::expected for C++20).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                       // NOLINT(implicit)
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  // Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace alipaymsg

// Propagates a non-ok Status from an expression returning Status.
#define ALIPAYMSG_RETURN_IF_ERROR(expr)              \
  do {                                               \
    ::alipaymsg::Status _st = (expr);                \
    if (!_st.ok()) return _st;                       \
  } while (0)
