// The admin HTTP server: routes /healthz, /readyz, /metrics on the shared bounded listener.
#include "daemon/admin.h"
#include "http/listener.h"

namespace alipaymsg::daemon {

class AdminServer::Impl {
 public:
  explicit Impl(Callbacks callbacks) : callbacks_(std::move(callbacks)) {}

  Status Listen(const std::string& host, int port, const ListenerLimits& limits) {
    http::ListenerOptions options;
    options.name = "admin";
    options.host = host;
    options.port = port;
    options.limits = limits;
    options.server_header = "alipay-msgd";
    auto listener = http::Listener::Start(options, [this](http::Request request, http::Respond respond) {
      respond(RouteAdminRequest(request, callbacks_, [this] { return Metrics(); }));
    });
    if (!listener.ok()) return listener.status();
    listener_ = std::move(*listener);
    address_ = host + ":" + std::to_string(listener_->port());
    return Status::Ok();
  }

  void Stop() {
    if (listener_) listener_->Stop();
  }
  int port() const { return listener_ ? listener_->port() : 0; }

  ListenerMetrics Metrics() const {
    ListenerMetrics m;
    m.name = "admin";
    m.address = address_;
    if (listener_) m.stats = listener_->Stats();
    return m;
  }

 private:
  Callbacks callbacks_;
  std::unique_ptr<http::Listener> listener_;
  std::string address_;
};

Result<std::unique_ptr<AdminServer>> AdminServer::Start(const std::string& host, int port, Callbacks callbacks,
                                                        const ListenerLimits& limits) {
  auto impl = std::make_unique<Impl>(std::move(callbacks));
  ALIPAYMSG_RETURN_IF_ERROR(impl->Listen(host, port, limits));
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AdminServer::~AdminServer() { Stop(); }
int AdminServer::port() const { return impl_->port(); }
ListenerMetrics AdminServer::Metrics() const { return impl_->Metrics(); }
void AdminServer::Stop() { impl_->Stop(); }

}  // namespace alipaymsg::daemon
