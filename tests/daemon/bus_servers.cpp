#include "bus_servers.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

namespace alipaymsg::daemontest {
namespace {

using clienttest::ChildProcess;
using clienttest::ReadFile;
using clienttest::WaitUntil;

// Debian's paths; PATH is not searched so a test never picks up some other build by accident.
std::string Binary(BusServer::Kind kind) {
  return kind == BusServer::Kind::kRedis ? "/usr/bin/redis-server" : "/usr/sbin/nats-server";
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { if (r) freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;
using Redis = std::unique_ptr<redisContext, void (*)(redisContext*)>;

Redis RedisConnect(int port, const std::string& password) {
  timeval timeout{5, 0};
  Redis ctx(redisConnectWithTimeout("127.0.0.1", port, timeout), redisFree);
  if (!ctx || ctx->err) {
    ADD_FAILURE() << "redis on port " << port << ": " << (ctx ? ctx->errstr : "no context");
    return Redis(nullptr, redisFree);
  }
  redisSetTimeout(ctx.get(), timeout);
  if (!password.empty()) {
    Reply auth(static_cast<redisReply*>(redisCommand(ctx.get(), "AUTH %s", password.c_str())));
    if (!auth || auth->type == REDIS_REPLY_ERROR) ADD_FAILURE() << "redis AUTH failed";
  }
  return ctx;
}

std::string Str(const redisReply* r) { return r && r->str ? std::string(r->str, r->len) : ""; }

struct Nats {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  ~Nats() {
    if (js) jsCtx_Destroy(js);
    if (nc) natsConnection_Destroy(nc);
  }
};

bool NatsConnect(int port, Nats& n) {
  const std::string url = "nats://127.0.0.1:" + std::to_string(port);
  natsStatus s = natsConnection_ConnectTo(&n.nc, url.c_str());
  if (s == NATS_OK) s = natsConnection_JetStream(&n.js, n.nc, nullptr);
  if (s != NATS_OK) ADD_FAILURE() << "nats on port " << port << ": " << natsStatus_GetText(s);
  return s == NATS_OK;
}

}  // namespace

int FreeLocalPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) close(fd);
  if (port == 0) ADD_FAILURE() << "no free port on 127.0.0.1";
  return port;
}

std::unique_ptr<BusServer> BusServer::Start(Kind kind, const std::string& work_dir, const Options& options) {
  auto server = std::unique_ptr<BusServer>(new BusServer());
  server->kind_ = kind;
  server->options_ = options;
  static int counter = 0;
  const std::string name = std::string(kind == Kind::kRedis ? "redis" : "nats") + "-" + std::to_string(++counter);
  server->dir_ = work_dir + "/" + name;
  server->log_path_ = work_dir + "/" + name + ".log";
  std::error_code ec;
  std::filesystem::create_directories(server->dir_, ec);
  if (ec) {
    ADD_FAILURE() << "cannot create " << server->dir_ << ": " << ec.message();
    return nullptr;
  }
  if (access(Binary(kind).c_str(), X_OK) != 0) {
    ADD_FAILURE() << Binary(kind) << " is missing: install the Debian package "
                  << (kind == Kind::kRedis ? "redis-server" : "nats-server") << " (scripts/setup does)";
    return nullptr;
  }
  server->port_ = FreeLocalPort();
  server->monitor_port_ = kind == Kind::kNats ? FreeLocalPort() : 0;
  if (server->port_ == 0 || !server->Launch()) return nullptr;
  return server;
}

BusServer::~BusServer() {
  if (process_) Stop();
}

std::string BusServer::url() const {
  return kind_ == Kind::kRedis ? "redis://127.0.0.1:" + std::to_string(port_) + "/0"
                               : "nats://127.0.0.1:" + std::to_string(port_);
}

std::vector<std::string> BusServer::Argv() const {
  const std::string port = std::to_string(port_);
  if (kind_ == Kind::kRedis) {
    // Every acknowledged write on disk before the reply (appendfsync always): a stop and start
    // loses nothing the sink was told is stored.
    std::vector<std::string> argv = {Binary(kind_), "--port", port, "--bind", "127.0.0.1", "--dir", dir_,
                                     "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                                     "--daemonize", "no", "--protected-mode", "no", "--logfile", ""};
    if (!options_.password.empty()) argv.insert(argv.end(), {"--requirepass", options_.password});
    return argv;
  }
  std::vector<std::string> argv = {Binary(kind_), "-a", "127.0.0.1", "-p", port, "-m", std::to_string(monitor_port_),
                                   "-js", "-sd", dir_ + "/jetstream"};
  if (!options_.password.empty()) {
    if (options_.user.empty()) argv.insert(argv.end(), {"--auth", options_.password});
    else argv.insert(argv.end(), {"--user", options_.user, "--pass", options_.password});
  }
  if (!options_.tls_cert.empty()) argv.insert(argv.end(), {"--tls", "--tlscert", options_.tls_cert, "--tlskey", options_.tls_key});
  return argv;
}

bool BusServer::Ready() const {
  if (kind_ == Kind::kNats) {
    // /healthz answers ok once JetStream is up, not just the client port.
    return clienttest::Http(monitor_port_, "GET", "/healthz").status == 200;
  }
  timeval timeout{1, 0};
  Redis ctx(redisConnectWithTimeout("127.0.0.1", port_, timeout), redisFree);
  if (!ctx || ctx->err) return false;
  redisSetTimeout(ctx.get(), timeout);
  Reply pong(static_cast<redisReply*>(redisCommand(ctx.get(), "PING")));
  // NOAUTH also proves it serves (and has loaded its data: LOADING would be the answer otherwise).
  return pong && (Str(pong.get()) == "PONG" || Str(pong.get()).starts_with("NOAUTH"));
}

bool BusServer::Launch() {
  process_ = ChildProcess::Start(Argv(), log_path_);
  if (!process_) return false;
  const bool up = WaitUntil([&] { return !process_->running() || Ready(); }, std::chrono::seconds(20));
  if (!up || !process_->running()) {
    ADD_FAILURE() << Binary(kind_) << " did not start on 127.0.0.1:" << port_ << ":\n" << Log();
    process_.reset();
    return false;
  }
  return true;
}

bool BusServer::Stop() {
  if (!process_) return true;
  process_->Signal(SIGTERM);
  int status = 0;
  const bool exited = process_->WaitFor(std::chrono::seconds(20), &status);
  if (!exited) ADD_FAILURE() << Binary(kind_) << " did not exit on SIGTERM:\n" << Log();
  process_.reset();  // SIGKILLs it if still running
  return exited;
}

bool BusServer::Restart() {
  if (process_) return true;
  return Launch();
}

std::string BusServer::Log() const { return ReadFile(log_path_); }

std::string StreamEntry::Field(const std::string& name) const {
  for (const auto& [k, v] : fields) {
    if (k == name) return v;
  }
  return "<missing " + name + ">";
}

std::vector<StreamEntry> RedisStreamEntries(int port, const std::string& stream, const std::string& password) {
  std::vector<StreamEntry> entries;
  Redis ctx = RedisConnect(port, password);
  if (!ctx) return entries;
  Reply reply(static_cast<redisReply*>(redisCommand(ctx.get(), "XRANGE %s - +", stream.c_str())));
  if (!reply || reply->type != REDIS_REPLY_ARRAY) {
    ADD_FAILURE() << "XRANGE " << stream << ": " << (reply ? Str(reply.get()) : ctx->errstr);
    return entries;
  }
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* e = reply->element[i];
    StreamEntry entry;
    entry.id = Str(e->element[0]);
    const redisReply* fields = e->element[1];
    for (size_t f = 0; f + 1 < fields->elements; f += 2) {
      entry.fields.emplace_back(Str(fields->element[f]), Str(fields->element[f + 1]));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

int64_t RedisStreamLength(int port, const std::string& stream, const std::string& password) {
  Redis ctx = RedisConnect(port, password);
  if (!ctx) return -1;
  Reply reply(static_cast<redisReply*>(redisCommand(ctx.get(), "XLEN %s", stream.c_str())));
  if (!reply || reply->type != REDIS_REPLY_INTEGER) {
    ADD_FAILURE() << "XLEN " << stream << ": " << (reply ? Str(reply.get()) : ctx->errstr);
    return -1;
  }
  return reply->integer;
}

size_t RedisKeyCount(int port, const std::string& pattern, const std::string& password) {
  Redis ctx = RedisConnect(port, password);
  if (!ctx) return 0;
  size_t count = 0;
  std::string cursor = "0";
  do {
    Reply reply(static_cast<redisReply*>(
        redisCommand(ctx.get(), "SCAN %s MATCH %s COUNT 1000", cursor.c_str(), pattern.c_str())));
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
      ADD_FAILURE() << "SCAN failed";
      return count;
    }
    cursor = Str(reply->element[0]);
    count += reply->element[1]->elements;
  } while (cursor != "0");
  return count;
}

std::vector<JetStreamMessage> JetStreamMessages(int port, const std::string& stream) {
  std::vector<JetStreamMessage> out;
  Nats n;
  if (!NatsConnect(port, n)) return out;
  jsStreamInfo* info = nullptr;
  jsErrCode code{};
  natsStatus s = js_GetStreamInfo(&info, n.js, stream.c_str(), nullptr, &code);
  if (s != NATS_OK) {
    ADD_FAILURE() << "stream " << stream << ": " << natsStatus_GetText(s);
    return out;
  }
  const uint64_t first = info->State.FirstSeq, last = info->State.LastSeq;
  jsStreamInfo_Destroy(info);
  for (uint64_t seq = first; seq <= last && seq > 0; ++seq) {
    natsMsg* msg = nullptr;
    s = js_GetMsg(&msg, n.js, stream.c_str(), seq, nullptr, &code);
    if (s != NATS_OK) {
      ADD_FAILURE() << "stream " << stream << " seq " << seq << ": " << natsStatus_GetText(s);
      continue;
    }
    JetStreamMessage m;
    m.subject = natsMsg_GetSubject(msg);
    const char* id = nullptr;
    if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id) m.msg_id_header = id;
    m.data.assign(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
    out.push_back(std::move(m));
  }
  return out;
}

int64_t JetStreamMessageCount(int port, const std::string& stream) {
  Nats n;
  if (!NatsConnect(port, n)) return -1;
  jsStreamInfo* info = nullptr;
  jsErrCode code{};
  const natsStatus s = js_GetStreamInfo(&info, n.js, stream.c_str(), nullptr, &code);
  if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr) return 0;
  if (s != NATS_OK) {
    ADD_FAILURE() << "stream " << stream << ": " << natsStatus_GetText(s);
    return -1;
  }
  const int64_t count = static_cast<int64_t>(info->State.Msgs);
  jsStreamInfo_Destroy(info);
  return count;
}

bool JetStreamCreate(int port, const std::string& stream, const std::string& subject, int64_t duplicate_window_s) {
  Nats n;
  if (!NatsConnect(port, n)) return false;
  const char* subjects[] = {subject.c_str()};
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = stream.c_str();
  config.Subjects = subjects;
  config.SubjectsLen = 1;
  config.Duplicates = duplicate_window_s * 1000000000;
  jsStreamInfo* info = nullptr;
  jsErrCode code{};
  const natsStatus s = js_AddStream(&info, n.js, &config, nullptr, &code);
  if (s != NATS_OK) ADD_FAILURE() << "creating stream " << stream << ": " << natsStatus_GetText(s);
  jsStreamInfo_Destroy(info);
  return s == NATS_OK;
}

bool JetStreamConfig(int port, const std::string& stream, int64_t& duplicate_window_s, std::vector<std::string>& subjects) {
  Nats n;
  if (!NatsConnect(port, n)) return false;
  jsStreamInfo* info = nullptr;
  jsErrCode code{};
  if (js_GetStreamInfo(&info, n.js, stream.c_str(), nullptr, &code) != NATS_OK) return false;
  duplicate_window_s = info->Config->Duplicates / 1000000000;
  subjects.clear();
  for (int i = 0; i < info->Config->SubjectsLen; ++i) subjects.emplace_back(info->Config->Subjects[i]);
  jsStreamInfo_Destroy(info);
  return true;
}

}  // namespace alipaymsg::daemontest
