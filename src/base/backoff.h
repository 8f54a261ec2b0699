// Capped exponential growth, the one formula behind every retry loop: reconnects (client/backoff),
// dispatch retries and storage-fault retries (dispatcher), sink reconnects (sink_bus) and the inbox
// opener (daemon). Each adds its own jitter or state on top.
#pragma once

#include <chrono>

namespace alipaymsg {

// min(cap, initial * multiplier^(attempt - 1)); attempt <= 1 gives min(cap, initial). Never
// overflows, whatever `attempt` is.
std::chrono::milliseconds CappedExponential(std::chrono::milliseconds initial, double multiplier,
                                            std::chrono::milliseconds cap, int attempt);

}  // namespace alipaymsg
