#include "inbox/libpq.h"

namespace alipaymsg::inbox {

const char* const LibPq::kSoname = ALIPAYMSG_LIBPQ_SONAME;
const char* const LibPq::kPackage = ALIPAYMSG_LIBPQ_PACKAGE;

}  // namespace alipaymsg::inbox
