// Names of streams and subjects built from a message: "alipay:{msg_api}", "alipay.{app_id}.{msg_api}".
// The placeholders are {app_id} and {msg_api}; everything else is literal.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace alipaymsg::daemon {

// Why `tmpl` is not a valid template (an unknown or unclosed placeholder, empty), or nullopt.
std::optional<std::string> TemplateProblem(std::string_view tmpl);

// `tmpl` with its placeholders replaced (`tmpl` already checked by TemplateProblem).
std::string ExpandTemplate(std::string_view tmpl, std::string_view app_id, std::string_view msg_api);

// NATS subjects are dot-separated tokens; {msg_api} expands to several ("alipay.trade.refund..."),
// which is fine. A subject template must start with a literal token, use placeholders only as whole
// tokens, and hold no wildcard or whitespace. Why not, or nullopt.
std::optional<std::string> NatsSubjectTemplateProblem(std::string_view tmpl);

// The stream subject that covers every expansion of a (valid) subject template: the literal tokens
// before the first placeholder, then ">" ("alipay.{app_id}.{msg_api}" -> "alipay.>"); the template
// itself when it has no placeholder.
std::string NatsSubjectFilter(std::string_view tmpl);

// Why `subject` (an expansion) is not a publishable NATS subject, or nullopt: empty tokens,
// wildcards, whitespace or control characters (a msg_api is not ours to trust).
std::optional<std::string> NatsSubjectProblem(std::string_view subject);

// redis://host[:port][/db] (port 6379, db 0) or nats://host[:port] / tls://host[:port] (port 4222).
// No user or password in the URL: the URL is logged, the password is not (password-file).
struct BusUrl {
  std::string scheme;  // "redis", "nats", "tls"
  std::string host;
  int port = 0;
  int db = 0;          // redis
  std::string ToString() const;  // normalized, for messages
};
// `kind` is "redis" or "nats"; nullopt with `why` set when the URL is not one of the forms above.
std::optional<BusUrl> ParseBusUrl(std::string_view url, std::string_view kind, std::string& why);

}  // namespace alipaymsg::daemon
