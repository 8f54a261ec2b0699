// Thread names for `top -H`, `perf report --sort comm`, gdb and /proc/PID/task/*/comm: without them
// every thread of alipay-msgd is "alipay-msgd" and a profile cannot say which one is busy.
#pragma once

#include <string_view>

namespace alipaymsg {

// Names the calling thread; Linux keeps the first 15 bytes. Failure is ignored (cosmetic).
void NameThisThread(std::string_view name);

}  // namespace alipaymsg
