#include "alipaymsg/router.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "base/msg_api_pattern.h"

namespace alipaymsg {

MessageView::MessageView(const StoredMessage& stored) : stored_(stored) {}
MessageView::~MessageView() = default;

Result<const boost::json::value*> MessageView::Json() const {
  if (json_) return static_cast<const boost::json::value*>(json_.get());
  if (json_error_) return *json_error_;
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(biz_content(), ec);
  if (ec) {
    json_error_ = ParseError("bizContent of message " + msg_id() + " (" + msg_api() +
                             ") is not JSON: " + ec.message());
    return *json_error_;
  }
  json_ = std::make_unique<boost::json::value>(std::move(parsed));
  return static_cast<const boost::json::value*>(json_.get());
}

void MessageView::InTransaction(std::function<Status(InboxTransaction&)> effect) {
  if (effect) effects_.push_back(std::move(effect));
}

Status Router::On(std::string_view pattern, Handler handler) {
  ALIPAYMSG_RETURN_IF_ERROR(CheckMsgApiPattern(pattern).WithContext("handler pattern"));
  if (!handler) return InvalidArgument("handler for \"" + std::string(pattern) + "\" is empty");
  auto taken = [&] {
    return InvalidArgument("a handler for \"" + std::string(pattern) + "\" is already registered");
  };
  if (pattern == "*") {
    if (default_) return taken();
    default_ = std::move(handler);
    return Status::Ok();
  }
  if (pattern.ends_with(".*")) {
    std::string prefix(pattern.substr(0, pattern.size() - 1));  // keep the dot
    if (!prefixes_.emplace(std::move(prefix), std::move(handler)).second) return taken();
    return Status::Ok();
  }
  if (!exact_.emplace(std::string(pattern), std::move(handler)).second) return taken();
  return Status::Ok();
}

Router::Match Router::Lookup(std::string_view msg_api) const {
  if (auto it = exact_.find(msg_api); it != exact_.end()) return {&it->second, it->first, false};
  // Longest prefix first: cut the name after each '.', from the right.
  for (size_t dot = msg_api.rfind('.'); dot != std::string_view::npos;
       dot = dot == 0 ? std::string_view::npos : msg_api.rfind('.', dot - 1)) {
    if (auto it = prefixes_.find(msg_api.substr(0, dot + 1)); it != prefixes_.end()) {
      return {&it->second, it->first, true};
    }
  }
  if (default_) return {&*default_, "", true};
  return {};
}

const Handler* Router::Find(std::string_view msg_api) const { return Lookup(msg_api).handler; }

std::optional<std::string> Router::MatchingPattern(std::string_view msg_api) const {
  Match match = Lookup(msg_api);
  if (match.handler == nullptr) return std::nullopt;
  std::string pattern(match.key);
  if (match.prefix) pattern += '*';
  return pattern;
}

}  // namespace alipaymsg
