// Receiver: Open, handlers, start and the ordered shutdown. Run() (the only Asio code) is in run.cpp.
#include "alipaymsg/receiver.h"

#include <cstdlib>
#include <filesystem>
#include <set>

#include "receiver/receiver_impl.h"
#include "receiver/wiring.h"

namespace alipaymsg {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string LabelOf(const ReceiverApp& app) {
  if (!app.label.empty()) return app.label;
  const std::string& id = app.connection.credentials ? app.connection.credentials->app_id() : app.credentials.app_id;
  return "app " + (id.empty() ? std::string("(no app_id)") : id);
}

Result<std::unique_ptr<Inbox>> OpenInbox(const ReceiverOptions& options) {
  if (!options.inbox_url.empty()) return OpenPostgresInbox(options.inbox_url, options.postgres);
  if (options.inbox_path.empty()) return InvalidArgument("no inbox: set inbox_path (SQLite) or inbox_url (PostgreSQL)");
  const std::filesystem::path dir = std::filesystem::path(options.inbox_path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("creating the inbox directory " + dir.string() + ": " + ec.message());
  return OpenSqliteInbox(options.inbox_path, options.sqlite);
}

}  // namespace

ReceiverOptions ReceiverOptions::FromEnvironment() {
  ReceiverOptions options;
  ReceiverApp app;
  CredentialsConfig& c = app.credentials;
  c.app_id = Env("ALIPAY_APP_ID");
  if (const std::string v = Env("ALIPAY_SIGN_TYPE"); !v.empty()) c.sign_type = v;
  if (const std::string v = Env("ALIPAY_CHARSET"); !v.empty()) c.charset = v;
  c.app_private_key_path = Env("ALIPAY_APP_PRIVATE_KEY_PATH");
  c.alipay_public_key_path = Env("ALIPAY_ALIPAY_PUBLIC_KEY_PATH");
  c.app_cert_path = Env("ALIPAY_APP_CERT_PUBLIC_KEY_PATH");
  c.alipay_cert_path = Env("ALIPAY_ALIPAY_CERT_PUBLIC_KEY_PATH");
  c.root_cert_path = Env("ALIPAY_ALIPAY_ROOT_CERT_PATH");
  if (const std::string v = Env("ALIPAY_SERVER_HOST"); !v.empty()) app.connection.server_host = v;
  if (const std::string v = Env("ALIPAY_SSL"); v == "false" || v == "0") {
    app.connection.tls = false;
  } else if (!v.empty() && v != "true" && v != "1") {
    options.error = "ALIPAY_SSL=" + v + ": expected true or false";
  }
  app.connection.ca_file = Env("ALIPAY_CA_FILE");
  app.label = "app " + (c.app_id.empty() ? std::string("(ALIPAY_APP_ID not set)") : c.app_id);
  options.apps.push_back(std::move(app));
  if (const std::string v = Env("ALIPAY_INBOX_PATH"); !v.empty()) options.inbox_path = v;
  options.inbox_url = Env("ALIPAY_INBOX_URL");
  if (const std::string v = Env("ALIPAY_ACK"); v == "after-handle") {
    options.ack_mode = AckMode::kAfterHandle;
  } else if (!v.empty() && v != "after-store") {
    options.error = "ALIPAY_ACK=" + v + ": expected after-store or after-handle";
  }
  return options;
}

Result<std::unique_ptr<Receiver>> Receiver::Open(ReceiverOptions options) {
  if (!options.error.empty()) return InvalidArgument(options.error);
  if (options.apps.empty()) return InvalidArgument("no app to receive for (ReceiverOptions::apps is empty)");
  // Keys first: a key problem is reported before any file or database is touched.
  std::string errors;
  for (ReceiverApp& app : options.apps) {
    if (app.connection.credentials) continue;
    if (app.credentials.app_id.empty()) {
      errors += (errors.empty() ? "" : "\n") + LabelOf(app) + ": no app_id";
      continue;
    }
    Result<Credentials> loaded = Credentials::Load(app.credentials);
    if (!loaded.ok()) {
      errors += (errors.empty() ? "" : "\n") + LabelOf(app) + ": " + loaded.status().message();
      continue;
    }
    app.connection.credentials = std::make_shared<const Credentials>(std::move(*loaded));
  }
  if (!errors.empty()) return InvalidArgument(errors);
  auto inbox = OpenInbox(options);
  if (!inbox.ok()) return inbox.status().WithContext("inbox");
  return Open(std::move(options), std::move(*inbox));
}

Result<std::unique_ptr<Receiver>> Receiver::Open(ReceiverOptions options, std::unique_ptr<Inbox> inbox) {
  if (!inbox) return InvalidArgument("no inbox given");
  std::unique_ptr<Receiver> r(new Receiver());
  r->impl_->inbox = std::move(inbox);
  std::vector<ReceiverApp> apps = std::move(options.apps);
  r->impl_->options = std::move(options);
  ALIPAYMSG_RETURN_IF_ERROR(r->AddApps(std::move(apps)));
  return r;
}

Status Receiver::AddApps(std::vector<ReceiverApp> apps) {
  if (apps.empty()) return InvalidArgument("no app to receive for (ReceiverOptions::apps is empty)");
  ClientOptions client = impl_->options.client;
  client.inbox = impl_->inbox.get();
  client.ack_mode = impl_->options.ack_mode;
  if (impl_->options.logger) client.logger = impl_->options.logger;
  // The client exists (and its apps are checked) now; the dispatcher only once the handlers are known.
  UseDispatcher(client, [this] { return impl_->started_dispatcher.load(std::memory_order_acquire); });
  auto created = Client::Create(std::move(client));
  if (!created.ok()) return created.status();
  impl_->client = std::move(*created);
  for (ReceiverApp& app : apps) {
    if (!app.connection.credentials) return InvalidArgument(LabelOf(app) + ": credentials not loaded");
    const std::string label = LabelOf(app);
    Status added = impl_->client->AddApp(std::move(app.connection));
    if (!added.ok()) return added.WithContext(label);
  }
  return Status::Ok();
}

Receiver::Receiver() : impl_(std::make_unique<Impl>()) {}

Receiver::~Receiver() { Shutdown(); }

Inbox& Receiver::inbox() { return *impl_->inbox; }
Client& Receiver::client() { return *impl_->client; }
std::vector<ConnectionStats> Receiver::Connections() const { return impl_->client->Stats(); }
int Receiver::stop_signal() const { return impl_->stop_signal.load(); }

Receiver& Receiver::On(std::string_view pattern, Handler handler) {
  std::lock_guard lock(impl_->mu);
  Status status = impl_->started ? InvalidArgument("On(\"" + std::string(pattern) + "\"): handlers are registered before Start()/Run()")
                           : impl_->router.On(pattern, std::move(handler));
  if (!status.ok() && impl_->handler_error.ok()) impl_->handler_error = status;
  return *this;
}

Status Receiver::SetRouter(Router router) {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) return InvalidArgument("SetRouter: handlers are registered before Start()/Run()");
  impl_->router = std::move(router);
  return Status::Ok();
}

Status Receiver::Start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) return Status::Ok();
  if (impl_->closed || impl_->drained) return Unavailable("the receiver was shut down");
  if (!impl_->handler_error.ok()) return impl_->handler_error;
  DispatcherOptions dispatch = impl_->options.dispatch;
  // After-handle dispatches each message through DispatchNow, which claims it: a store must not.
  if (impl_->options.ack_mode == AckMode::kAfterHandle) dispatch.claim_on_store = false;
  impl_->dispatcher = std::make_unique<Dispatcher>(*impl_->inbox, std::move(impl_->router), std::move(dispatch));
  ALIPAYMSG_RETURN_IF_ERROR(impl_->dispatcher->Start());
  impl_->started_dispatcher.store(impl_->dispatcher.get(), std::memory_order_release);
  impl_->started = true;
  impl_->client->Start();
  impl_->dispatcher->Notify();  // whatever a previous run left pending
  return Status::Ok();
}

void Receiver::DispatchPending() {
  if (Dispatcher* d = impl_->started_dispatcher.load(std::memory_order_acquire)) d->Notify();
}

DispatcherStats Receiver::Dispatching() const {
  Dispatcher* d = impl_->started_dispatcher.load(std::memory_order_acquire);
  return d ? d->Stats() : DispatcherStats{};
}

// Connections first (every CONSUME read is stored and acked, nothing new arrives), then the handlers
// finish with the inbox still open to record their results.
void Receiver::Drain() {
  std::lock_guard serial(impl_->shutdown_mu);
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->drained) return;
    impl_->drained = true;
    impl_->stop_requested = true;
  }
  if (impl_->client) impl_->client->StopAndWait();
  if (impl_->options.before_dispatch_stop) impl_->options.before_dispatch_stop();
  if (impl_->dispatcher) impl_->dispatcher->Stop();
}

void Receiver::Shutdown() {
  Drain();
  std::lock_guard serial(impl_->shutdown_mu);
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->closed) return;
    impl_->closed = true;
  }
  if (impl_->inbox) impl_->inbox->Close();
}

}  // namespace alipaymsg
