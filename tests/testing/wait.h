// Waiting on state with a deadline: what tests use instead of fixed sleeps.
#pragma once

#include <chrono>
#include <functional>

namespace alipaymsg::testing {

// Polls `condition` every 10 ms until it holds or `timeout` passed; returns its last value.
bool WaitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace alipaymsg::testing
