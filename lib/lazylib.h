// lazylib.h - a shared library loaded on first use, for the fast-start
// programs' stand-ins (lib/lazy_gnutls.cc in the filter, lib/lazy_cups.cc in
// the backend).
#pragma once

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace pg {

// LazyLibrary - one dlopen() of `soname`, on first use, from any thread.
class LazyLibrary {
 public:
  explicit LazyLibrary(const char* soname) : soname_(soname) {}

  // handle() - the loaded library, or nullptr if it cannot be loaded.
  void* handle() {
    std::call_once(once_, [this] {
      handle_ = dlopen(soname_, RTLD_NOW | RTLD_LOCAL);
      if (!handle_) {
        const char* e = dlerror();
        error_ = std::string("cannot load ") + soname_ + ": " + (e ? e : "unknown error");
      }
    });
    return handle_;
  }

  // error() - why the library could not be loaded ("" if it was).
  const std::string& error() {
    handle();
    return error_;
  }

  // symbol() - the library's function `name`, as type Fn (nullptr if missing).
  template <class Fn>
  Fn symbol(const char* name) {
    void* h = handle();
    return h ? reinterpret_cast<Fn>(dlsym(h, name)) : nullptr;
  }

 private:
  const char* soname_;
  std::once_flag once_;
  void* handle_ = nullptr;
  std::string error_;
};

}  // namespace pg
