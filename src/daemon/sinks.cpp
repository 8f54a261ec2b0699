#include "daemon/sinks.h"
#include "daemon/sink_bus.h"
#include "base/msg_api_pattern.h"
#include "base/utf8.h"
#include "protocol/json_check.h"
#include "protocol/text_util.h"

#include <boost/json.hpp>
#include <algorithm>
#include <chrono>
#include <ctime>

namespace alipaymsg::daemon {

std::string Rfc3339Utc(int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  int64_t millis = unix_ms % 1000;
  if (millis < 0) millis += 1000, seconds -= 1;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buf;
}

std::string MessageJson(const MessageView& message) {
  namespace json = boost::json;
  const std::string& raw = message.biz_content();
  std::string out;
  out.reserve(raw.size() + 256);
  // Appended in place (a line is built for every message). A JSON string must be UTF-8: invalid
  // bytes (a GBK form, say) become U+FFFD, as a decoder would show them, so that the line stays
  // JSON. The inbox keeps the bytes as they came.
  auto quoted = [&out](std::string_view s) {
    out += '"';
    if (IsValidUtf8(s)) {
      protocol_internal::AppendJsonEscaped(out, s);
    } else {
      protocol_internal::AppendJsonEscaped(out, ReplaceInvalidUtf8(s, "\xEF\xBF\xBD"));
    }
    out += '"';
  };
  out += "{\"app_id\":";
  quoted(message.app_id());
  out += ",\"msg_api\":";
  quoted(message.msg_api());
  out += ",\"msg_id\":";
  quoted(message.msg_id());
  out += ",\"biz_content\":";
  // Checked without building a document: most bizContent is kept as it is. One on several lines is
  // parsed again to be written on one (json::parse's default depth, as before).
  constexpr int kDepth = 32;
  if (!protocol_internal::CheckJson(raw, kDepth).IsOneValue(raw)) {
    quoted(raw);
  } else if (raw.find('\n') != std::string::npos || raw.find('\r') != std::string::npos) {
    json::parse_options options;
    options.max_depth = kDepth;
    json::error_code ec;
    const json::value parsed = json::parse(raw, ec, {}, options);
    if (ec) {
      quoted(raw);
    } else {
      out += json::serialize(parsed);
    }
  } else {
    // Exactly as received, minus surrounding whitespace.
    const size_t begin = raw.find_first_not_of(" \t");
    const size_t end = raw.find_last_not_of(" \t");
    out.append(raw, begin, end - begin + 1);
  }
  out += ",\"channel\":";
  quoted(message.channel().empty() ? "websocket" : message.channel());
  out += ",\"received_at\":";
  quoted(Rfc3339Utc(message.received_at_ms()));
  out += ",\"delivery_count\":";
  out += std::to_string(message.delivery_count());
  out += '}';
  return out;
}


// ---- SinkRouter ----

void SinkRouter::Add(std::string name, std::vector<std::string> patterns, std::shared_ptr<Sink> sink) {
  SinkCounters counters;
  counters.name = name;
  counters.kind = std::string(sink->kind());
  counters_.push_back(std::move(counters));
  entries_.push_back(Entry{std::move(name), std::move(patterns), std::move(sink)});
}

Sink* SinkRouter::Find(std::string_view msg_api, size_t* index) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    for (const std::string& p : entries_[i].patterns) {
      if (MsgApiPatternMatches(p, msg_api)) {
        if (index) *index = i;
        return entries_[i].sink.get();
      }
    }
  }
  return nullptr;
}

HandlerOutcome SinkRouter::Deliver(MessageView& message) {
  size_t index = 0;
  Sink* sink = Find(message.msg_api(), &index);
  // Unreachable: the router calls this only for a pattern of some sink, which then matches.
  if (!sink) return HandlerOutcome::RetryLater("no sink matches " + message.msg_api());
  const auto started = std::chrono::steady_clock::now();
  HandlerOutcome outcome = sink->Deliver(message);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::lock_guard lock(mu_);
  SinkCounters& c = counters_[index];
  c.latency_sum_s += seconds;
  ++c.latency_count;
  for (size_t i = 0; i < SinkCounters::kSinkLatencyBounds; ++i) {
    if (seconds <= kSinkLatencyBoundsS[i]) {
      ++c.latency_counts[i];
      break;
    }
  }
  switch (outcome.kind()) {
    case HandlerOutcome::Kind::kDone: ++c.done; break;
    case HandlerOutcome::Kind::kRetryLater: ++c.retry; break;
    case HandlerOutcome::Kind::kReject: ++c.reject; break;
  }
  return outcome;
}

Status SinkRouter::RegisterOn(Router& router) {
  std::vector<std::string> done;
  for (const Entry& e : entries_) {
    for (const std::string& pattern : e.patterns) {
      if (std::find(done.begin(), done.end(), pattern) != done.end()) continue;
      done.push_back(pattern);
      ALIPAYMSG_RETURN_IF_ERROR(router.On(pattern, [this](MessageView& m) { return Deliver(m); }));
    }
  }
  return Status::Ok();
}

void SinkRouter::CancelAll() {
  for (Entry& e : entries_) e.sink->Cancel();
}

std::vector<SinkCounters> SinkRouter::Counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

// ---- Slots ----

bool Slots::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return cancelled_ || free_ > 0; });
  if (cancelled_) return false;
  --free_;
  return true;
}

void Slots::Release() {
  {
    std::lock_guard lock(mu_);
    ++free_;
  }
  cv_.notify_one();
}

void Slots::Cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

// ---- BuildSinks ----

Result<std::unique_ptr<SinkRouter>> BuildSinks(const DaemonConfig& config, Inbox* inbox) {
  auto router = std::make_unique<SinkRouter>();
  std::map<std::string, std::shared_ptr<JsonlSink>> jsonl_by_path;
  for (const SinkConfig& s : config.sinks) {
    std::shared_ptr<Sink> sink;
    switch (s.kind) {
      case SinkConfig::Kind::kJsonl: {
        auto& shared = jsonl_by_path[s.jsonl_path];
        if (!shared) {
          shared = std::make_shared<JsonlSink>(s.jsonl_path);
          // A shared (PostgreSQL) inbox keeps each machine's file under its own key.
          Status recovered = config.inbox_url.empty() || inbox == nullptr
                                 ? shared->Recover(config.inbox_path)
                                 : shared->Recover(*inbox, JsonlSinkKey(s.jsonl_path));
          if (!recovered.ok()) return recovered.WithContext(s.key_name + " (jsonl " + s.jsonl_path + ")");
        }
        sink = shared;
        break;
      }
      case SinkConfig::Kind::kExec:
        sink = std::make_shared<ExecSink>(s.exec_argv, s.timeout_ms, s.concurrency);
        break;
      case SinkConfig::Kind::kWebhook: {
        std::shared_ptr<TlsClientContext> tls;
        if (s.webhook_url.starts_with("https://")) {
          auto made = MakeTlsClientContext(s.webhook_ca_file);
          if (!made.ok()) return made.status().WithContext(s.key_name + " (webhook " + s.webhook_url + ")");
          tls = std::move(*made);
        }
        sink = std::make_shared<WebhookSink>(s.webhook_url, s.webhook_headers, s.timeout_ms, s.concurrency,
                                             std::move(tls));
        break;
      }
      case SinkConfig::Kind::kRedis: {
        auto made = RedisSink::Make(s);
        if (!made.ok()) return made.status();
        sink = std::move(*made);
        break;
      }
      case SinkConfig::Kind::kNats: {
        auto made = NatsSink::Make(s);
        if (!made.ok()) return made.status();
        sink = std::move(*made);
        break;
      }
    }
    router->Add(s.key_name, s.match, std::move(sink));
  }
  return router;
}

}  // namespace alipaymsg::daemon
