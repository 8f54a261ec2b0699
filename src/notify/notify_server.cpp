// The HTTP listener for notifications: the shared bounded listener (src/http) routing POSTs on the
// configured paths to NotifyReceiver, answered after the inbox commit.
#include <algorithm>

#include "alipaymsg/notify_receiver.h"
#include "base/host_port.h"
#include "http/listener.h"

namespace alipaymsg {
namespace {

class ListenerNotifyServer final : public NotifyServer {
 public:
  ListenerNotifyServer(NotifyReceiver& receiver, std::vector<std::string> paths)
      : receiver_(receiver), paths_(std::move(paths)) {}

  Status Listen(const NotifyServerOptions& options) {
    auto where = ParseHostPort(options.listen);
    if (!where.ok()) return where.status().WithContext("notify listen address");
    http::ListenerOptions o;
    o.name = "notify";
    o.host = where->host;
    o.port = where->port;
    o.limits = options.limits;
    o.cert_file = options.cert_file;
    o.key_file = options.key_file;
    o.server_header = "alipay-msg";
    auto listener = http::Listener::Start(o, [this](http::Request request, http::Respond respond) {
      Handle(std::move(request), std::move(respond));
    });
    if (!listener.ok()) return listener.status();
    listener_ = std::move(*listener);
    return Status::Ok();
  }

  uint16_t port() const override { return static_cast<uint16_t>(listener_->port()); }
  void Stop() override { listener_->Stop(); }
  Stats stats() const override { return listener_->Stats(); }

 private:
  void Handle(http::Request request, http::Respond respond) {
    auto plain = [&](int status, std::string body) {
      http::Response r;
      r.status = status;
      r.content_type = "text/plain;charset=UTF-8";
      r.body = std::move(body);
      respond(std::move(r));
    };
    if (!paths_.empty() && std::find(paths_.begin(), paths_.end(), request.path) == paths_.end()) {
      return plain(404, "no notification endpoint at " + request.path.substr(0, 200) + "\n");
    }
    if (request.method != "POST") return plain(405, "POST the notification form here\n");
    receiver_.HandleAsync(request.body, [respond = std::move(respond)](NotifyReceiver::Answer answer) {
      http::Response r;
      r.status = answer.http_status;
      r.content_type = "text/plain;charset=UTF-8";
      r.body = std::move(answer.body);
      respond(std::move(r));
    });
  }

  NotifyReceiver& receiver_;
  std::vector<std::string> paths_;
  std::unique_ptr<http::Listener> listener_;
};

}  // namespace

Result<std::unique_ptr<NotifyServer>> NotifyServer::Start(const NotifyServerOptions& options, NotifyReceiver& receiver) {
  auto server = std::make_unique<ListenerNotifyServer>(receiver, options.paths);
  ALIPAYMSG_RETURN_IF_ERROR(server->Listen(options));
  return std::unique_ptr<NotifyServer>(std::move(server));
}

Result<std::unique_ptr<NotifyServer>> NotifyServer::Start(const std::string& listen, NotifyReceiver& receiver) {
  NotifyServerOptions options;
  options.listen = listen;
  return Start(options, receiver);
}

}  // namespace alipaymsg
