#include "alipaymsg/client.h"
#include "alipaymsg/dispatcher.h"

namespace alipaymsg {

void UseDispatcher(ClientOptions& options, Dispatcher& dispatcher) {
  Dispatcher* d = &dispatcher;
  options.on_new_messages = [d] { d->Notify(); };
  options.handle_now = [d](const InboundMessage& message, StoreOutcome,
                           std::function<void(bool)> done) {
    StoredMessage stored;
    stored.message = message;
    d->DispatchNow(stored, [done = std::move(done)](DispatchResult result) {
      done(result.kind == DispatchResult::Kind::kDone);
    });
  };
}

}  // namespace alipaymsg
