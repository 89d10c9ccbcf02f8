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
// Between the two, no fake frame is handed out: a function entered in that
// window gets a real frame on the stack it runs on. The scheduler relies on it
// (scheduler.cc):
//   - a fresh fiber's first frame (Scheduler::fiber_entry) is entered by the
//     first jump onto its stack, which resume() announces like any other, so
//     it is a real frame of the fiber's own stack — not a frame of the
//     starting thread's fake stack, which the fiber would keep using after
//     migrating and after that thread exited;
//   - the last switch out of a finishing fiber passes nullptr (ASan destroys
//     its fake stack there): fiber_entry never returns, and everything still
//     live on its stack was entered inside announced switches, in real
//     frames.
// Traps (DESIGN.md): finish only after the jump (boostorg/context#65); pass a
// nullptr fake-stack slot only when no instrumented frame of the fiber leaving
// will ever run again — never for a merely suspended fiber; and
// detect_stack_use_after_return is on by default since clang 15 (on in our
// sanitizer options for every compiler), so the fake stack is live and must
// follow each fiber across threads.
// TSan: each fiber gets a TSan fiber object; __tsan_switch_to_fiber precedes
// every switch, a finishing fiber's last one included.
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
// Dynamic annotations (the TSan runtime defines them; no header declares them).
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
#endif

namespace faultline::io::evented::san {

// Every helper is always inlined: in a TSan build an out-of-line helper is an
// instrumented frame entered on one fiber's shadow stack and left on the
// other's, which underflows a fresh fiber's shadow stack (TSan crashed in
// __tsan_create_fiber once the compiler stopped inlining one).

// ---- ASan ----
[[gnu::always_inline]] inline void start_switch(void** fake_stack_save, const void* target_bottom, std::size_t target_size) {
#if FAULTLINE_ASAN
  __sanitizer_start_switch_fiber(fake_stack_save, target_bottom, target_size);
#else
  (void)fake_stack_save, (void)target_bottom, (void)target_size;
#endif
}
[[gnu::always_inline]] inline void finish_switch(void* fake_stack_save, const void** from_bottom, std::size_t* from_size) {
#if FAULTLINE_ASAN
  __sanitizer_finish_switch_fiber(fake_stack_save, from_bottom, from_size);
#else
  (void)fake_stack_save, (void)from_bottom, (void)from_size;
#endif
}

// Clears the shadow of a fiber stack: a finished fiber leaves the redzones of
// frames that never returned (fiber_entry jumps away for good)
// poisoned, and ASan does not clear shadow on munmap.
[[gnu::always_inline]] inline void unpoison_stack(void* lo, std::size_t size) {
#if FAULTLINE_ASAN
  __asan_unpoison_memory_region(lo, size);
#else
  (void)lo, (void)size;
#endif
}

// ---- TSan ----
[[gnu::always_inline]] inline void* tsan_current() {
#if FAULTLINE_TSAN
  return __tsan_get_current_fiber();
#else
  return nullptr;
#endif
}
[[gnu::always_inline]] inline void* tsan_create() {
#if FAULTLINE_TSAN
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}
[[gnu::always_inline]] inline void tsan_destroy(void* f) {
#if FAULTLINE_TSAN
  if (f) __tsan_destroy_fiber(f);
#else
  (void)f;
#endif
}
[[gnu::always_inline]] inline void tsan_switch_to(void* f) {
#if FAULTLINE_TSAN
  if (f) __tsan_switch_to_fiber(f, 0);
#else
  (void)f;
#endif
}

// Reads of the calling thread are not checked in between: for diagnostics
// that snapshot other threads' state without synchronisation (dump_fibers).
[[gnu::always_inline]] inline void tsan_ignore_reads_begin() {
#if FAULTLINE_TSAN
  AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
#endif
}
[[gnu::always_inline]] inline void tsan_ignore_reads_end() {
#if FAULTLINE_TSAN
  AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#endif
}

}  // namespace faultline::io::evented::san
