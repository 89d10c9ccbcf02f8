// Announcing fiber switches to the sanitizers.
//
// Boost.Context's default (fcontext) switch has no sanitizer hooks, so the
// scheduler calls them itself around every switch — compiled in only for ASan
// and TSan builds; elsewhere every function here is an empty inline.
//
// ASan protocol (sanitizer/common_interface_defs.h):
//   before a switch: __sanitizer_start_switch_fiber(&fake_stack_of_the_one_leaving,
//                                                    bottom_of_target, size_of_target)
//   after it, on the new stack: __sanitizer_finish_switch_fiber(saved_fake_stack, ...)
// Traps (DESIGN.md): finish only after the jump (boostorg/context#65); pass a
// nullptr fake-stack slot only when no instrumented frame of the fiber leaving
// will ever run again — a merely suspended fiber keeps its slot, and so does a
// finishing one, whose fake stack release_fake_stack() frees afterwards; detect_stack_use_after_return is on by default
// since clang 15, so the fake stack is live and must follow each fiber. TSan: each fiber gets a TSan fiber object;
// __tsan_switch_to_fiber precedes every switch.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define FAULTLINE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FAULTLINE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define FAULTLINE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FAULTLINE_TSAN 1
#endif
#endif

#if FAULTLINE_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if FAULTLINE_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace faultline::io::evented::san {

// ---- ASan ----
inline void start_switch(void** fake_stack_save, const void* target_bottom, std::size_t target_size) {
#if FAULTLINE_ASAN
  __sanitizer_start_switch_fiber(fake_stack_save, target_bottom, target_size);
#else
  (void)fake_stack_save, (void)target_bottom, (void)target_size;
#endif
}
inline void finish_switch(void* fake_stack_save, const void** from_bottom, std::size_t* from_size) {
#if FAULTLINE_ASAN
  __sanitizer_finish_switch_fiber(fake_stack_save, from_bottom, from_size);
#else
  (void)fake_stack_save, (void)from_bottom, (void)from_size;
#endif
}

// Releases the fake stack of a fiber that has finished. The fiber's last
// switch could not pass nullptr (Boost.Context's fiber_entry still runs on
// the fiber's stack, in its fake frames, after our function returns), so the
// scheduler frees it afterwards with a bookkeeping-only switch: it tells ASan
// it enters the dead fiber (restoring its fake stack) and leaves it for good
// (nullptr: destroy), without any real jump. Only runtime calls happen in
// between, so no instrumented frame ever lives on the dead fake stack.
inline void release_fake_stack(void* dead_fake_stack, const void* dead_bottom, std::size_t dead_size,
                               const void* own_bottom, std::size_t own_size) {
#if FAULTLINE_ASAN
  void* own_fake = nullptr;
  __sanitizer_start_switch_fiber(&own_fake, dead_bottom, dead_size);
  __sanitizer_finish_switch_fiber(dead_fake_stack, nullptr, nullptr);
  __sanitizer_start_switch_fiber(nullptr, own_bottom, own_size);
  __sanitizer_finish_switch_fiber(own_fake, nullptr, nullptr);
#else
  (void)dead_fake_stack, (void)dead_bottom, (void)dead_size, (void)own_bottom, (void)own_size;
#endif
}

// A recycled stack may still carry the shadow poison of frames that never
// returned (a fiber's entry frame jumps away for good): clear it.
inline void unpoison_stack(void* lo, std::size_t size) {
#if FAULTLINE_ASAN
  __asan_unpoison_memory_region(lo, size);
#else
  (void)lo, (void)size;
#endif
}

// ---- TSan ----
inline void* tsan_current() {
#if FAULTLINE_TSAN
  return __tsan_get_current_fiber();
#else
  return nullptr;
#endif
}
inline void* tsan_create() {
#if FAULTLINE_TSAN
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}
inline void tsan_destroy(void* f) {
#if FAULTLINE_TSAN
  if (f) __tsan_destroy_fiber(f);
#else
  (void)f;
#endif
}
inline void tsan_switch_to(void* f) {
#if FAULTLINE_TSAN
  if (f) __tsan_switch_to_fiber(f, 0);
#else
  (void)f;
#endif
}

}  // namespace faultline::io::evented::san
