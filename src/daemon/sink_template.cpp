#include "daemon/sink_template.h"

#include <charconv>
#include <vector>

#include "base/host_port.h"

namespace alipaymsg::daemon {
namespace {

constexpr std::string_view kPlaceholders[] = {"{app_id}", "{msg_api}"};

std::vector<std::string_view> Tokens(std::string_view subject) {
  std::vector<std::string_view> tokens;
  size_t start = 0;
  while (true) {
    const size_t dot = subject.find('.', start);
    tokens.push_back(subject.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return tokens;
    start = dot + 1;
  }
}

bool IsPlaceholder(std::string_view token) {
  for (std::string_view p : kPlaceholders) {
    if (token == p) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> TemplateProblem(std::string_view tmpl) {
  if (tmpl.empty()) return "is empty";
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '}') return "has a } that closes no placeholder";
    if (tmpl[i] != '{') continue;
    const size_t close = tmpl.find('}', i);
    if (close == std::string_view::npos) return "has an unclosed {";
    if (!IsPlaceholder(tmpl.substr(i, close - i + 1))) {
      return "unknown placeholder " + std::string(tmpl.substr(i, close - i + 1)) + " (known: {app_id}, {msg_api})";
    }
    i = close;
  }
  return std::nullopt;
}

std::string ExpandTemplate(std::string_view tmpl, std::string_view app_id, std::string_view msg_api) {
  std::string out;
  out.reserve(tmpl.size() + msg_api.size());
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl.substr(i).starts_with("{app_id}")) {
      out += app_id;
      i += 8;
    } else if (tmpl.substr(i).starts_with("{msg_api}")) {
      out += msg_api;
      i += 9;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

std::optional<std::string> NatsSubjectTemplateProblem(std::string_view tmpl) {
  if (auto problem = TemplateProblem(tmpl)) return problem;
  const std::vector<std::string_view> tokens = Tokens(tmpl);
  for (std::string_view token : tokens) {
    if (token.empty()) return "has an empty token (two dots, or a dot at an end)";
    if (token.find_first_of("{}") != std::string_view::npos && !IsPlaceholder(token)) {
      return "a placeholder must be a whole token between dots (\"alipay.{app_id}.{msg_api}\"), not part of " +
             std::string(token);
    }
  }
  if (IsPlaceholder(tokens[0])) return "must start with a literal token (\"alipay.{msg_api}\"), which names the stream's subjects";
  if (auto problem = NatsSubjectProblem(ExpandTemplate(tmpl, "app", "api"))) return problem;
  return std::nullopt;
}

std::string NatsSubjectFilter(std::string_view tmpl) {
  std::string filter;
  for (std::string_view token : Tokens(tmpl)) {
    if (IsPlaceholder(token)) return filter + ">";
    filter += std::string(token) + ".";
  }
  return std::string(tmpl);
}

std::optional<std::string> NatsSubjectProblem(std::string_view subject) {
  for (std::string_view token : Tokens(subject)) {
    if (token.empty()) return "\"" + std::string(subject) + "\" has an empty token";
    for (unsigned char c : token) {
      if (c <= ' ' || c == 0x7f) return "\"" + std::string(subject) + "\" has whitespace or a control character";
    }
    if (token == "*" || token == ">") return "\"" + std::string(subject) + "\" has a wildcard token";
  }
  return std::nullopt;
}

std::string BusUrl::ToString() const {
  std::string out = scheme + "://" + FormatHostPort(host, port);
  if (scheme == "redis") out += "/" + std::to_string(db);
  return out;
}

std::optional<BusUrl> ParseBusUrl(std::string_view url, std::string_view kind, std::string& why) {
  BusUrl out;
  const size_t sep = url.find("://");
  const std::string_view scheme = sep == std::string_view::npos ? "" : url.substr(0, sep);
  if (kind == "redis") {
    if (scheme == "rediss") {
      why = "TLS (rediss://) is not supported: Debian 12's hiredis 0.14 has no TLS; reach Redis on a local or "
            "private address, or through a TLS tunnel (stunnel, spiped)";
      return std::nullopt;
    }
    if (scheme != "redis") {
      why = "\"" + std::string(url) + "\" is not redis://host[:port][/db]";
      return std::nullopt;
    }
    out.port = 6379;
  } else {
    if (scheme != "nats" && scheme != "tls") {
      why = "\"" + std::string(url) + "\" is not nats://host[:port] or tls://host[:port] (one server)";
      return std::nullopt;
    }
    out.port = 4222;
  }
  out.scheme = std::string(scheme);
  std::string_view rest = url.substr(sep + 3);
  std::string_view path;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (rest.find('@') != std::string_view::npos) {
    why = "no user or password in the URL (URLs are logged): use user: and password-file: (or password-env:)";
    return std::nullopt;
  }
  if (rest.find(',') != std::string_view::npos) {
    why = "one server per URL";
    return std::nullopt;
  }
  auto authority = ParseHostPort(rest, {.port_required = false, .min_port = 1});
  if (!authority.ok()) {
    why = authority.status().message();
    return std::nullopt;
  }
  out.host = authority->host;
  if (authority->port >= 0) out.port = authority->port;
  auto number = [](std::string_view text, int max, int& value) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return !text.empty() && ec == std::errc() && end == text.data() + text.size() && value >= 0 && value <= max;
  };
  if (!path.empty()) {
    if (kind != "redis" || !number(path, 100000, out.db)) {
      why = "\"" + std::string(url) + "\": " +
            (kind == "redis" ? "the path is the database number (redis://host:6379/0)" : "a NATS URL has no path");
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace alipaymsg::daemon
