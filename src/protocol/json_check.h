// Checking JSON text without building a document: a boost::json::basic_parser whose handler keeps
// nothing, for code that only needs to know whether text is JSON (no allocation per value).
#pragma once

#include <boost/system/error_code.hpp>
#include <cstddef>
#include <string_view>

namespace alipaymsg::protocol_internal {

struct JsonCheck {
  boost::system::error_code error;  // set: not valid JSON up to `consumed`
  std::size_t consumed = 0;         // bytes read: where the error is, or where the value ends
  bool top_is_object = false;       // the first value is an object

  // Exactly one JSON value, with nothing but whitespace around it.
  bool IsOneValue(std::string_view text) const { return !error && consumed == text.size(); }
};

// Reads one JSON value from `text` (whitespace around it allowed; no comments, no trailing commas),
// at most `max_depth` arrays and objects deep: what boost::json::parse accepts with those options.
JsonCheck CheckJson(std::string_view text, int max_depth);

}  // namespace alipaymsg::protocol_internal
