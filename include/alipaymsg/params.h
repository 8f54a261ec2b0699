// Parameter maps: sign content, Java URLEncoder query strings, form decoding (PROTOCOL.md §4, NOTIFY.md).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alipaymsg/status.h"

namespace alipaymsg {

// Ordered name/value pairs. Order matters for query strings (the Java client's HashMap order) and
// not for sign content (sorted).
using Params = std::vector<std::pair<std::string, std::string>>;

// Value of the first pair named `name`, or nullptr.
const std::string* FindParam(const Params& params, std::string_view name);

enum class EmptyValues {
  kSkip,  // Java SDK: skip entries whose key or value is empty or only whitespace
  kKeep,  // Node SDK / older Java: keep them as "key="
};

// "V2": every pair except `sign`, sorted by name (Java String order), "k=v" joined by '&', raw values.
std::string SignContentV2(const Params& params, EmptyValues empties = EmptyValues::kSkip);
// "V1": as V2 but also without `sign_type`.
std::string SignContentV1(const Params& params, EmptyValues empties = EmptyValues::kSkip);

// java.net.URLEncoder in UTF-8: [A-Za-z0-9.*_-] kept, space as '+', every other byte %XX uppercase.
std::string UrlEncodeJava(std::string_view value);
// name=UrlEncodeJava(value) joined by '&' in the given order; pairs with blank name or value omitted.
std::string BuildQuery(const Params& params);

// application/x-www-form-urlencoded and query strings: split on '&', '+' = space, %XX = byte.
// Decodes exactly once. Bad escapes ('%' not followed by two hex digits) are kParseError.
Result<Params> FormDecode(std::string_view body);
// The inverse of FormDecode: every pair, empty ones included, name and value UrlEncodeJava'd.
std::string FormEncode(const Params& params);

}  // namespace alipaymsg
