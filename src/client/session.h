// One app connection as an async session object (register → connect → read/verify/store/ack, ping,
// pong timeout, backoff). Declared without Asio/Beast so that client.cpp does not pay their compile cost.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "alipaymsg/client.h"
#include "client/work_pool.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace alipaymsg::client {

// What every session of one Client shares.
struct SharedContext {
  ClientOptions options;  // defaults filled in (clock, random, limits)
  // Runs blocking work (inbox audit writes) off the io thread.
  std::function<void(std::function<void()>)> run_blocking;
  // Parses and verifies CONSUMEs off the io thread; null: on the io thread (verify_threads 0).
  // Owned by the Client, which drains it after every session stopped.
  WorkPool* verify_pool = nullptr;

  // Posts from foreign threads (inbox writer, handlers) stop once the Client is gone.
  std::mutex gate_mutex;
  bool gate_open = true;
};

class Session {
 public:
  virtual ~Session() = default;

  // Checks the app options (endpoint, CA file) and builds the session; nothing connects yet.
  static Result<std::shared_ptr<Session>> Create(boost::asio::io_context& io,
                                                 std::shared_ptr<SharedContext> shared,
                                                 AppOptions app);

  virtual const std::string& app_id() const = 0;
  // Thread-safe; each posts its work to the session's strand.
  virtual void Start() = 0;
  virtual void Stop(std::function<void()> done) = 0;
  virtual void AsyncSend(std::string msg_api, std::string biz_content, SendCallback done) = 0;
  virtual ConnectionStats Snapshot() const = 0;
};

}  // namespace alipaymsg::client
