// libpq, loaded when the first PostgreSQL connection is made rather than when the process starts:
// a process with a SQLite inbox (the default) never maps libpq and the ~20 libraries it pulls in
// (Kerberos, LDAP, SASL, GnuTLS, p11-kit: ~3.3 MB of idle RSS, BENCHMARKS.md), and a library user
// links without libpq-dev. libpq-fe.h still gives the types and constants at compile time.
#pragma once

#include <libpq-fe.h>

#include "alipaymsg/status.h"
#include "base/shared_library.h"

namespace alipaymsg::inbox {

// Every libpq function the project calls.
#define ALIPAYMSG_LIBPQ_FUNCTIONS(X)                                                                 \
  X(PQclear) X(PQcmdTuples) X(PQconnectdbParams) X(PQerrorMessage) X(PQexec) X(PQexecParams)        \
  X(PQexecPrepared) X(PQfinish) X(PQfreemem) X(PQgetisnull) X(PQgetlength) X(PQgetvalue) X(PQntuples) \
  X(PQprepare) X(PQreset) X(PQresultErrorField) X(PQresultErrorMessage) X(PQresultStatus)           \
  X(PQsetNoticeProcessor) X(PQstatus) X(PQunescapeBytea)

ALIPAYMSG_LIBRARY_TABLE(LibPq, ALIPAYMSG_LIBPQ_FUNCTIONS);  // its names: libpq.cpp

// Loads libpq on the first call (thread-safe); later calls give the same table, or the same
// error, which names the library, its Debian package and what the loader said.
inline Result<const LibPq*> LoadLibPq() { return LazyLibrary<LibPq>::Load(); }

// The table of a LoadLibPq() that succeeded. Only for code that holds a connection (PGconn, PGresult),
// which exists only after one did.
inline const LibPq& Pq() { return LazyLibrary<LibPq>::Get(); }

}  // namespace alipaymsg::inbox
