// The redis: sink: one XADD per message into a Redis Stream, made idempotent by a marker key set in
// the same Lua script (sink_bus.h). A pool of `concurrency` blocking hiredis connections; a broken
// connection is dropped and reopened through the ReconnectGate.
#include <hiredis/hiredis.h>

#include <cstring>

#include "base/shared_library.h"
#include "daemon/sink_bus.h"

namespace alipaymsg::daemon {
namespace {

// The redis: sink's library, loaded when such a sink is configured (src/base/shared_library.h);
// its SONAME and Debian package come from CMake.
#define ALIPAYMSG_HIREDIS_FUNCTIONS(X) \
  X(redisConnectWithTimeout) X(redisCommandArgv) X(freeReplyObject) X(redisFree) X(redisSetTimeout)
ALIPAYMSG_LIBRARY_TABLE(LibHiredis, ALIPAYMSG_HIREDIS_FUNCTIONS);
ALIPAYMSG_LIBRARY_NAMES(LibHiredis, ALIPAYMSG_HIREDIS_SONAME, "the redis: sink", ALIPAYMSG_HIREDIS_PACKAGE);
const LibHiredis& Hiredis() { return LazyLibrary<LibHiredis>::Get(); }

// KEYS[1] the marker, KEYS[2] the stream. ARGV[1] marker TTL (s), ARGV[2] MAXLEN (0: none),
// ARGV[3] "~" or "=", ARGV[4..] field, value, ... Returns {1, id} when added, {0, id} when the marker
// says this message is already in the stream (a retry after a crash).
constexpr const char* kScript = R"lua(
local seen = redis.call('GET', KEYS[1])
if seen then return {0, seen} end
local args = {'XADD', KEYS[2]}
if tonumber(ARGV[2]) > 0 then
  args[#args + 1] = 'MAXLEN'; args[#args + 1] = ARGV[3]; args[#args + 1] = ARGV[2]
end
args[#args + 1] = '*'
for i = 4, #ARGV do args[#args + 1] = ARGV[i] end
local id = redis.call(unpack(args))
redis.call('SET', KEYS[1], id, 'EX', tonumber(ARGV[1]))
return {1, id}
)lua";

struct ReplyDeleter {
  void operator()(redisReply* r) const { if (r) Hiredis().freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

Reply Command(redisContext* ctx, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) argv.push_back(a.data()), lens.push_back(a.size());
  return Reply(static_cast<redisReply*>(
      Hiredis().redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

std::string ErrorText(const redisReply* r) { return std::string(r->str, r->len); }

timeval Timeval(int ms) { return timeval{ms / 1000, (ms % 1000) * 1000}; }

}  // namespace

Result<std::shared_ptr<RedisSink>> RedisSink::Make(const SinkConfig& config) {
  if (auto lib = LazyLibrary<LibHiredis>::Load(); !lib.ok()) {
    return lib.status().WithContext(config.key_name);
  }
  std::string why;
  std::optional<BusUrl> url = ParseBusUrl(config.bus.url, "redis", why);
  if (!url) return InvalidArgument(BusWhere(config, "url") + ": " + why);
  auto password = ReadBusPassword(config);
  if (!password.ok()) return password.status();
  return std::shared_ptr<RedisSink>(new RedisSink(config, *url, std::move(*password)));
}

RedisSink::RedisSink(SinkConfig config, BusUrl url, std::string password)
    : config_(std::move(config)), url_(std::move(url)), password_(std::move(password)), slots_(config_.concurrency) {}

RedisSink::~RedisSink() {
  for (redisContext* ctx : idle_) Hiredis().redisFree(ctx);
}

// A new connection, authenticated, on the database, with the script loaded. Errors name the setting.
Result<redisContext*> RedisSink::Connect() {
  const timeval timeout = Timeval(std::min(config_.timeout_ms, 10000));
  redisContext* ctx = Hiredis().redisConnectWithTimeout(url_.host.c_str(), url_.port, timeout);
  if (!ctx) return Unavailable(BusWhere(config_, "url") + ": cannot connect to " + url_.ToString() + ": out of memory");
  std::unique_ptr<redisContext, void (*)(redisContext*)> owned(ctx, Hiredis().redisFree);
  if (ctx->err) {
    return Unavailable(BusWhere(config_, "url") + ": cannot connect to " + url_.ToString() + ": " + ctx->errstr);
  }
  Hiredis().redisSetTimeout(ctx, Timeval(config_.timeout_ms));
  auto lost = [&](const char* step) {
    return Unavailable(BusWhere(config_, "url") + ": " + url_.ToString() + ": " + step + ": " +
                       (ctx->err ? ctx->errstr : "no reply"));
  };
  if (!password_.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!config_.bus.user.empty()) auth.push_back(config_.bus.user);
    auth.push_back(password_);
    Reply reply = Command(ctx, auth);
    if (!reply) return lost("AUTH");
    if (reply->type == REDIS_REPLY_ERROR) {
      const std::string key = config_.bus.password_file.empty() ? "password-env" : "password-file";
      return InvalidArgument(BusWhere(config_, key) + ": " + url_.ToString() + " refused the credentials" +
                              (config_.bus.user.empty() ? "" : " of user " + config_.bus.user) + ": " +
                              ErrorText(reply.get()));
    }
  }
  if (url_.db != 0) {
    Reply reply = Command(ctx, {"SELECT", std::to_string(url_.db)});
    if (!reply) return lost("SELECT");
    if (reply->type == REDIS_REPLY_ERROR) {
      return InvalidArgument(BusWhere(config_, "url") + ": SELECT " + std::to_string(url_.db) + ": " + ErrorText(reply.get()));
    }
  }
  Reply loaded = Command(ctx, {"SCRIPT", "LOAD", kScript});
  if (!loaded) return lost("SCRIPT LOAD");
  if (loaded->type != REDIS_REPLY_STRING) {
    const std::string error = loaded->type == REDIS_REPLY_ERROR ? ErrorText(loaded.get()) : "unexpected reply";
    if (error.starts_with("NOAUTH")) {
      return InvalidArgument(BusWhere(config_, "url") + ": " + url_.ToString() +
                              " requires a password: set password-file or password-env (" + error + ")");
    }
    return Unavailable(BusWhere(config_, "url") + ": " + url_.ToString() + ": SCRIPT LOAD: " + error);
  }
  {
    std::lock_guard lock(mu_);
    script_sha_ = ErrorText(loaded.get());
  }
  return owned.release();
}

Status RedisSink::Publish(redisContext* ctx, MessageView& message, bool& connection_lost) {
  const std::string stream = ExpandTemplate(config_.bus.target, message.app_id(), message.msg_api());
  const std::string marker = "alipay-msg:seen:" + stream + ":" + message.app_id() + ":" + message.msg_id();
  std::string sha;
  {
    std::lock_guard lock(mu_);
    sha = script_sha_;
  }
  std::vector<std::string> args = {"EVALSHA", sha, "2", marker, stream,
                                   std::to_string(config_.bus.dedup_ttl_s), std::to_string(config_.bus.maxlen),
                                   config_.bus.maxlen_approximate ? "~" : "=",
                                   "app_id", message.app_id(),
                                   "msg_id", message.msg_id(),
                                   "msg_api", message.msg_api(),
                                   "channel", message.channel().empty() ? "websocket" : message.channel(),
                                   "received_at", Rfc3339Utc(message.received_at_ms()),
                                   "delivery_count", std::to_string(message.delivery_count()),
                                   "biz_content", message.biz_content()};
  for (int attempt = 0; attempt < 2; ++attempt) {
    Reply reply = Command(ctx, args);
    if (!reply) {
      connection_lost = true;
      return Unavailable(config_.key_name + ".redis: " + url_.ToString() + ": " + (ctx->err ? ctx->errstr : "no reply"));
    }
    if (reply->type == REDIS_REPLY_ARRAY) return Status::Ok();
    const std::string error = reply->type == REDIS_REPLY_ERROR ? ErrorText(reply.get()) : "unexpected reply type";
    if (!error.starts_with("NOSCRIPT") || attempt > 0) {
      return Unavailable(config_.key_name + ".redis: " + url_.ToString() + ": XADD to " + stream + ": " + error);
    }
    // The server lost its script cache (restart, SCRIPT FLUSH): load it again.
    Reply loaded = Command(ctx, {"SCRIPT", "LOAD", kScript});
    if (!loaded || loaded->type != REDIS_REPLY_STRING) {
      connection_lost = !loaded;
      return Unavailable(config_.key_name + ".redis: " + url_.ToString() + ": SCRIPT LOAD failed");
    }
    args[1] = ErrorText(loaded.get());
  }
  return Status::Ok();  // unreachable
}

HandlerOutcome RedisSink::Deliver(MessageView& message) {
  if (!slots_.Acquire()) return HandlerOutcome::RetryLater("shutting down");
  redisContext* ctx = nullptr;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) ctx = idle_.back(), idle_.pop_back();
  }
  if (!ctx) {
    if (auto blocked = gate_.Blocked()) {
      slots_.Release();
      return HandlerOutcome::RetryLater(*blocked);
    }
    Result<redisContext*> made = Connect();
    if (!made.ok()) {
      gate_.Failed(made.status().message());
      slots_.Release();
      return HandlerOutcome::RetryLater(made.status().message());
    }
    gate_.Succeeded();
    ctx = *made;
  }
  bool connection_lost = false;
  Status published = Publish(ctx, message, connection_lost);
  if (connection_lost) {
    Hiredis().redisFree(ctx);
  } else {
    std::lock_guard lock(mu_);
    idle_.push_back(ctx);
  }
  slots_.Release();
  if (!published.ok()) return HandlerOutcome::RetryLater(published.message());
  return HandlerOutcome::Done();
}

Status RedisSink::Probe() {
  Result<redisContext*> made = Connect();
  if (!made.ok()) return made.status();
  Hiredis().redisFree(*made);
  return Status::Ok();
}

}  // namespace alipaymsg::daemon
