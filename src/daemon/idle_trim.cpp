#include "daemon/idle_trim.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace alipaymsg::daemon {

bool IdleTrim::Tick(uint64_t activity) {
  const bool quiet = last_ && *last_ == activity;
  if (last_ && !quiet) worked_since_trim_ = true;
  last_ = activity;
  if (!quiet || !worked_since_trim_) return false;
  worked_since_trim_ = false;
  trim_();
  return true;
}

void ReleaseFreedMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

void KeepArenaTopsSmall() {
#if defined(__GLIBC__)
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
#endif
}

}  // namespace alipaymsg::daemon
