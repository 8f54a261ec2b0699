// The part of a boost::json::basic_parser handler that every handler in this module shares: no size
// limits of the parser's own (frames are bounded before parsing; depth is set in parse_options), and
// document and comment events ignored. Derive and define the value events.
#pragma once

#include <boost/json/basic_parser.hpp>
#include <cstddef>

namespace alipaymsg::protocol_internal {

struct JsonHandlerBase {
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  using error_code = boost::system::error_code;
  using string_view = boost::json::string_view;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }
};

}  // namespace alipaymsg::protocol_internal
