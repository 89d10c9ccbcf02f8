// Freed-object quarantine for the lifetime repros. In ASan builds an object is
// really deleted, so a later access is a heap-use-after-free that ASan names.
// In other builds reading freed memory is undefined and usually silent, so
// instead the object is destroyed, its bytes are filled with 0xdd ("dead") and
// it is kept until the end of the run: a later access then finds the poison
// deterministically, which is what the repro's canary check detects.
#pragma once

#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "io/evented/sanitizer_switch.h"

namespace faultline::repro {

inline constexpr unsigned char kPoisonByte = 0xdd;

class Quarantine {
 public:
  template <class T>
  void retire(T* p) {
#if FAULTLINE_ASAN
    delete p;
#else
    p->~T();
    std::memset(static_cast<void*>(p), kPoisonByte, sizeof(T));
    kept_.push_back({p, [](void* q) { ::operator delete(q); }});
#endif
  }
  ~Quarantine() {
    for (auto& k : kept_) k.free(k.ptr);
  }

 private:
  struct Kept {
    void* ptr;
    void (*free)(void*);
  };
  std::vector<Kept> kept_;
};

}  // namespace faultline::repro
