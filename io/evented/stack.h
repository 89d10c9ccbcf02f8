// Fiber stacks: mmap'ed, with one PROT_NONE guard page below the usable
// region, so an overflow faults on the guard page instead of silently
// corrupting the neighbouring mapping. The fault handler (guard.cc) recognises
// that address and reports a fiber stack overflow by name.
//
// Stacks are recycled through a small per-scheduler-thread cache: spawning a
// fiber must cost far less than spawning a thread, and mmap + mprotect +
// munmap per fiber would not.
#pragma once

#include <cstddef>
#include <cstdint>

#include <boost/context/stack_context.hpp>

namespace faultline::io::evented {

struct StackBounds {
  std::uintptr_t guard_lo = 0;  // lowest address of the guard page
  std::uintptr_t lo = 0;        // lowest usable address
  std::uintptr_t hi = 0;        // one past the highest usable address
};

// Allocates and releases fiber stacks (boost::context::stack_context: sp is
// the top, size includes the guard page).
class GuardedStackAllocator {
 public:
  explicit GuardedStackAllocator(std::size_t usable_size);
  boost::context::stack_context allocate();
  void deallocate(boost::context::stack_context& sc) noexcept;
  std::size_t usable_size() const { return usable_; }

  static std::size_t page_size();
  static StackBounds bounds_of(const boost::context::stack_context& sc);
  // Frees the calling thread's cache (scheduler threads call it on exit).
  static void release_thread_cache() noexcept;

 private:
  std::size_t usable_;
};

}  // namespace faultline::io::evented
