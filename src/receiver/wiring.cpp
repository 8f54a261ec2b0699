#include "receiver/wiring.h"

namespace alipaymsg {

void UseDispatcher(ClientOptions& options, Dispatcher& dispatcher) {
  UseDispatcher(options, [d = &dispatcher] { return d; });
}

void UseDispatcher(ClientOptions& options, std::function<Dispatcher*()> dispatcher) {
  options.on_new_messages = [dispatcher] {
    // A dispatcher the stores hand messages to has them already (or knows some were left pending).
    if (Dispatcher* d = dispatcher(); d != nullptr && !d->ClaimsOnStore()) d->Notify();
  };
  options.handle_now = [dispatcher](const InboundMessage& message, StoreOutcome, std::function<void(bool)> done) {
    Dispatcher* d = dispatcher();
    if (d == nullptr) return done(false);  // not started: Alipay redelivers
    StoredMessage stored;
    stored.message = message;
    d->DispatchNow(stored, [done = std::move(done)](DispatchResult result) {
      done(result.kind == DispatchResult::Kind::kDone);
    });
  };
}

}  // namespace alipaymsg
