#include "inbox/libpq.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>

namespace alipaymsg::inbox {
namespace {

constexpr const char* kLibrary = "libpq.so.5";  // the SONAME the headers were built for

Result<const LibPq*> Load() {
  void* handle = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Status(StatusCode::kUnavailable,
                  std::string("the PostgreSQL inbox needs libpq (") + kLibrary +
                      ", Debian package libpq5), which could not be loaded: " + (why ? why : "unknown error"));
  }
  // Never dlclose'd: connections and results may live until the process ends.
  static LibPq table;
#define ALIPAYMSG_LIBPQ_RESOLVE(name)                                                                     \
  table.name = reinterpret_cast<decltype(table.name)>(dlsym(handle, #name));                            \
  if (table.name == nullptr) {                                                                            \
    return Status(StatusCode::kUnavailable,                                                              \
                  std::string(kLibrary) + " has no " #name ": not PostgreSQL's client library?");         \
  }
  ALIPAYMSG_LIBPQ_FUNCTIONS(ALIPAYMSG_LIBPQ_RESOLVE)
#undef ALIPAYMSG_LIBPQ_RESOLVE
  return static_cast<const LibPq*>(&table);
}

std::atomic<const LibPq*> loaded{nullptr};

}  // namespace

Result<const LibPq*> LoadLibPq() {
  static const Result<const LibPq*> result = [] {
    Result<const LibPq*> r = Load();
    if (r.ok()) loaded.store(*r, std::memory_order_release);
    return r;
  }();
  return result;
}

const LibPq& Pq() {
  const LibPq* table = loaded.load(std::memory_order_acquire);
  if (table == nullptr) std::abort();  // a PGconn or PGresult without a loaded libpq: a bug here
  return *table;
}

}  // namespace alipaymsg::inbox
