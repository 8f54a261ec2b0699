#include "inbox/libpq.h"

namespace alipaymsg::inbox {

// CMake: the SONAME the headers were built for, and its Debian package.
ALIPAYMSG_LIBRARY_NAMES(LibPq, ALIPAYMSG_LIBPQ_SONAME, "the PostgreSQL inbox", ALIPAYMSG_LIBPQ_PACKAGE);

}  // namespace alipaymsg::inbox
