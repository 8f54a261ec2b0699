// The one place where a Client is wired to a Dispatcher (the Receiver, the daemon through it, and the
// client tests use it): committed stores wake the dispatcher, and in ack mode after-handle each stored
// message is dispatched at once and acked SUCCESS only when its result is done (a redelivery of a
// message already done is acked SUCCESS, not run again).
#pragma once

#include <functional>

#include "alipaymsg/client.h"
#include "alipaymsg/dispatcher.h"

namespace alipaymsg {

void UseDispatcher(ClientOptions& options, Dispatcher& dispatcher);
// The same with a dispatcher that exists only by the time the client starts: `dispatcher()` returns
// it then (nullptr before: a store then wakes nothing, and an after-handle message is acked FAIL).
void UseDispatcher(ClientOptions& options, std::function<Dispatcher*()> dispatcher);

}  // namespace alipaymsg
