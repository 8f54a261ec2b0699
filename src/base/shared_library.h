// Libraries loaded when the feature that needs them is first used rather than when the process
// starts: a daemon on the default SQLite inbox and jsonl sink never maps libpq (and the ~20
// libraries it pulls in), hiredis or libnats (idle RSS, BENCHMARKS.md). The headers still give the
// types and constants at compile time; the functions come from a table of pointers, one member per
// function, named as the function:
//
//   #define HIREDIS_FUNCTIONS(X) X(redisFree) X(redisConnectWithTimeout)
//   ALIPAYMSG_LIBRARY_TABLE(LibHiredis, HIREDIS_FUNCTIONS);
//   ALIPAYMSG_LIBRARY_NAMES(LibHiredis, "libhiredis.so.0.14", "the redis: sink", "libhiredis0.14");  // one .cpp
//   LazyLibrary<LibHiredis>::Load();   // at configuration: the error names the package
//   LazyLibrary<LibHiredis>::Get().redisFree(ctx);
#pragma once

#include <atomic>
#include <cstdlib>

#include "alipaymsg/status.h"

namespace alipaymsg {

// dlopen (RTLD_NOW | RTLD_LOCAL), never closed: objects made by the library may live until exit.
// The error says what needs the library, its Debian package and what the loader said.
Result<void*> OpenSharedLibrary(const char* soname, const char* needed_by, const char* debian_package);
// dlsym, or nullptr.
void* FindSymbol(void* handle, const char* name);
// "LIB has no NAME: ...", for a library that is not the one the headers describe.
Status MissingSymbol(const char* soname, const char* name);

// struct `Name`: a pointer for each function of the X-macro FUNCTIONS, filled by Resolve(dlopen handle).
#define ALIPAYMSG_LIBRARY_TABLE(Name, FUNCTIONS)        \
  struct Name {                                          \
    static const char* const kSoname;                    \
    static const char* const kNeededBy;                  \
    static const char* const kPackage;                   \
    FUNCTIONS(ALIPAYMSG_LIBRARY_MEMBER)                  \
    ::alipaymsg::Status Resolve(void* handle) {          \
      FUNCTIONS(ALIPAYMSG_LIBRARY_RESOLVE)               \
      return ::alipaymsg::Status::Ok();                  \
    }                                                    \
  }
// Where Name's library is, what needs it and its Debian package (in one .cpp).
#define ALIPAYMSG_LIBRARY_NAMES(Name, soname, needed_by, package) \
  const char* const Name::kSoname = soname;                        \
  const char* const Name::kNeededBy = needed_by;                   \
  const char* const Name::kPackage = package

#define ALIPAYMSG_LIBRARY_MEMBER(name) decltype(&::name) name = nullptr;
#define ALIPAYMSG_LIBRARY_RESOLVE(name)                                                  \
  name = reinterpret_cast<decltype(name)>(::alipaymsg::FindSymbol(handle, #name));       \
  if (name == nullptr) return ::alipaymsg::MissingSymbol(kSoname, #name);

template <typename Table>
class LazyLibrary {
 public:
  // Opens the library and resolves the table on the first call (thread-safe); later calls give the
  // same table, or the same error.
  static Result<const Table*> Load() {
    static const Result<const Table*> result = []() -> Result<const Table*> {
      Result<void*> handle = OpenSharedLibrary(Table::kSoname, Table::kNeededBy, Table::kPackage);
      if (!handle.ok()) return handle.status();
      static Table table;
      ALIPAYMSG_RETURN_IF_ERROR(table.Resolve(*handle));
      loaded_.store(&table, std::memory_order_release);
      return static_cast<const Table*>(&table);
    }();
    return result;
  }

  // The table of a Load() that succeeded. Only for code that holds an object of the library, which
  // exists only after one did.
  static const Table& Get() {
    const Table* table = loaded_.load(std::memory_order_acquire);
    if (table == nullptr) std::abort();  // used before a successful Load(): a bug here
    return *table;
  }

 private:
  static inline std::atomic<const Table*> loaded_{nullptr};
};

}  // namespace alipaymsg
