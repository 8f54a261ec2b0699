#include "protocol/json_check.h"

#include <boost/json/basic_parser_impl.hpp>

#include "protocol/json_handler_base.h"

namespace alipaymsg::protocol_internal {
namespace {

class Validator : public JsonHandlerBase {
 public:
  bool top_is_object() const { return top_is_object_; }

  bool on_object_begin(error_code&) { return Value(true); }
  bool on_object_end(std::size_t, error_code&) { return true; }
  bool on_array_begin(error_code&) { return Value(false); }
  bool on_array_end(std::size_t, error_code&) { return true; }
  bool on_key_part(string_view, std::size_t, error_code&) { return true; }
  bool on_key(string_view, std::size_t, error_code&) { return true; }
  bool on_string_part(string_view, std::size_t, error_code&) { return Value(false); }
  bool on_string(string_view, std::size_t, error_code&) { return Value(false); }
  bool on_number_part(string_view, error_code&) { return Value(false); }
  bool on_int64(int64_t, string_view, error_code&) { return Value(false); }
  bool on_uint64(uint64_t, string_view, error_code&) { return Value(false); }
  bool on_double(double, string_view, error_code&) { return Value(false); }
  bool on_bool(bool, error_code&) { return Value(false); }
  bool on_null(error_code&) { return Value(false); }

 private:
  bool Value(bool object) {
    if (!seen_) {
      seen_ = true;
      top_is_object_ = object;
    }
    return true;
  }
  bool seen_ = false;
  bool top_is_object_ = false;
};

}  // namespace

JsonCheck CheckJson(std::string_view text, int max_depth) {
  boost::json::parse_options options;
  options.max_depth = static_cast<std::size_t>(max_depth);
  boost::json::basic_parser<Validator> parser(options);
  JsonCheck check;
  check.consumed = parser.write_some(false, text.data(), text.size(), check.error);
  check.top_is_object = parser.handler().top_is_object();
  return check;
}

}  // namespace alipaymsg::protocol_internal
