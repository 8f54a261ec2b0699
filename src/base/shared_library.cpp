#include "base/shared_library.h"

#include <dlfcn.h>

#include <string>

namespace alipaymsg {

Result<void*> OpenSharedLibrary(const char* soname, const char* needed_by, const char* debian_package) {
  void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Status(StatusCode::kUnavailable, std::string(needed_by) + " needs " + soname + " (Debian package " +
                                                debian_package + "), which could not be loaded: " +
                                                (why ? why : "unknown error"));
  }
  return handle;
}

void* FindSymbol(void* handle, const char* name) { return dlsym(handle, name); }

Status MissingSymbol(const char* soname, const char* name) {
  return Status(StatusCode::kUnavailable,
                std::string(soname) + " has no " + name + ": not the library its headers describe?");
}

}  // namespace alipaymsg
