// The router: which handler gets a message, by its msgApi. And the handler API: what a handler
// sees of a message and what it answers.
//
//   Router router;
//   router.On("alipay.open.mini.version.audit.passed", OnAuditPassed);   // exact
//   router.On("alipay.open.mini.*", OnAnyMiniProgramEvent);              // prefix
//   router.On("*", OnAnythingElse);                                      // default
//
// The most specific pattern wins: exact, then the longest prefix, then the default. A message no
// pattern matches is kept in the inbox as unhandled (replayable), never acked away unseen.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alipaymsg/inbox.h"
#include "alipaymsg/status.h"

namespace boost::json {
class value;
}

namespace alipaymsg {

// One message as a handler sees it, for the duration of the handler call (do not keep it).
class MessageView {
 public:
  explicit MessageView(const StoredMessage& stored);
  ~MessageView();
  MessageView(const MessageView&) = delete;
  MessageView& operator=(const MessageView&) = delete;

  const std::string& app_id() const { return stored_.message.app_id; }
  const std::string& msg_api() const { return stored_.message.msg_api; }
  const std::string& msg_id() const { return stored_.message.msg_id; }
  // bizContent exactly as received.
  const std::string& biz_content() const { return stored_.message.biz_content; }
  const std::string& channel() const { return stored_.message.channel; }
  int64_t received_at_ms() const { return stored_.message.received_at_ms; }
  // How many times the message arrived (1 + redeliveries absorbed by the inbox).
  int delivery_count() const { return stored_.delivery_count; }
  // This dispatch attempt, 1 the first time.
  int attempt() const { return stored_.attempts; }
  // Why the previous attempt did not finish ("" on the first attempt).
  const std::string& last_error() const { return stored_.last_error; }

  // bizContent parsed as JSON, on the first call only. A ParseError (naming msg_id and the
  // position) when it is not JSON; the pointer stays valid for the handler call.
  Result<const boost::json::value*> Json() const;

  // Registers work to commit in the same inbox transaction that records this message done: both
  // commit, or neither (its error turns the attempt into a retry). Runs on the inbox's writer, after
  // the handler returned Done; it is not run for any other outcome. For a SqliteInbox,
  // `tx.native()` is the sqlite3* of the inbox database.
  void InTransaction(std::function<Status(InboxTransaction&)> effect);

  // Handlers registered so far (tests of handlers may look).
  size_t effect_count() const { return effects_.size(); }

 private:
  friend class Dispatcher;
  const StoredMessage& stored_;
  mutable std::unique_ptr<boost::json::value> json_;
  mutable std::optional<Status> json_error_;
  std::vector<std::function<Status(InboxTransaction&)>> effects_;
};

// What a handler answers. An exception escaping the handler counts as RetryLater.
class HandlerOutcome {
 public:
  enum class Kind { kDone, kRetryLater, kReject };

  // Handled: the message is done (and its InTransaction effects commit).
  static HandlerOutcome Done() { return HandlerOutcome(Kind::kDone, {}, std::nullopt); }
  // Try again later: after `delay`, or the dispatcher's exponential backoff when not given. After
  // the last allowed attempt the message goes dead with `reason`.
  static HandlerOutcome RetryLater(std::string reason = {},
                                   std::optional<std::chrono::milliseconds> delay = std::nullopt) {
    return HandlerOutcome(Kind::kRetryLater, std::move(reason), delay);
  }
  // Never going to work (e.g. malformed bizContent): dead at once, with `reason`; replayable.
  static HandlerOutcome Reject(std::string reason) {
    return HandlerOutcome(Kind::kReject, std::move(reason), std::nullopt);
  }

  Kind kind() const { return kind_; }
  const std::string& reason() const { return reason_; }
  std::optional<std::chrono::milliseconds> delay() const { return delay_; }

 private:
  HandlerOutcome(Kind kind, std::string reason, std::optional<std::chrono::milliseconds> delay)
      : kind_(kind), reason_(std::move(reason)), delay_(delay) {}
  Kind kind_;
  std::string reason_;
  std::optional<std::chrono::milliseconds> delay_;
};

// Handlers run on the dispatcher's pool, possibly several at once (for different messages).
using Handler = std::function<HandlerOutcome(MessageView&)>;

class Router {
 public:
  // Registers `handler` for `pattern`: an exact msgApi ("alipay.trade.refund.depositback.completed"),
  // a prefix ending in ".*" ("alipay.open.mini.*" matches every msgApi starting with
  // "alipay.open.mini."), or "*" for the default. InvalidArgument when the pattern is malformed or
  // already has a handler.
  Status On(std::string_view pattern, Handler handler);
  // Same as On("*", handler).
  Status SetDefault(Handler handler) { return On("*", std::move(handler)); }

  // The handler for `msg_api`, most specific pattern first; nullptr when none matches.
  const Handler* Find(std::string_view msg_api) const;
  // The pattern Find would use, for logs and metrics; nullopt when none matches.
  std::optional<std::string> MatchingPattern(std::string_view msg_api) const;

  bool empty() const { return exact_.empty() && prefixes_.empty() && !default_; }

 private:
  struct Match {
    const Handler* handler = nullptr;
    std::string_view key;  // exact name, or prefix with its dot ("" for the default)
    bool prefix = false;   // the pattern is key + "*"
  };
  Match Lookup(std::string_view msg_api) const;

  std::map<std::string, Handler, std::less<>> exact_;
  std::map<std::string, Handler, std::less<>> prefixes_;  // key: "alipay.open.mini." (with the dot)
  std::optional<Handler> default_;
};

}  // namespace alipaymsg
