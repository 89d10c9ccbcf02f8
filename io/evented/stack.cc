#include "io/evented/stack.h"

#include <sys/mman.h>
#include <unistd.h>

#include <new>
#include <vector>

#include "io/evented/sanitizer_switch.h"

namespace faultline::io::evented {
namespace {

constexpr std::size_t kCacheLimit = 256;

struct CachedStack {
  void* base;
  std::size_t total;
};

// Per thread: a fiber's stack is freed on the thread it finished on.
struct StackCache {
  std::vector<CachedStack> stacks;
  ~StackCache() {
    for (auto& s : stacks) ::munmap(s.base, s.total);
  }
};
thread_local StackCache tls_cache;

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

}  // namespace

std::size_t GuardedStackAllocator::page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

GuardedStackAllocator::GuardedStackAllocator(std::size_t usable_size)
    : usable_(round_up(usable_size < 16384 ? 16384 : usable_size, page_size())) {}

boost::context::stack_context GuardedStackAllocator::allocate() {
  const std::size_t total = usable_ + page_size();
  void* base = nullptr;
  auto& cache = tls_cache.stacks;
  for (std::size_t i = cache.size(); i-- > 0;) {
    if (cache[i].total == total) {
      base = cache[i].base;
      cache[i] = cache.back();
      cache.pop_back();
      break;
    }
  }
  if (base == nullptr) {
    base =
        ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) throw std::bad_alloc();
    if (::mprotect(base, page_size(), PROT_NONE) != 0) {
      ::munmap(base, total);
      throw std::bad_alloc();
    }
  }
  boost::context::stack_context sc;
  sc.size = total;
  sc.sp = static_cast<char*>(base) + total;
  return sc;
}

void GuardedStackAllocator::deallocate(boost::context::stack_context& sc) noexcept {
  void* base = static_cast<char*>(sc.sp) - sc.size;
  // ASan builds: a finished fiber leaves the redzones of frames that never
  // returned (Scheduler::fiber_entry jumps away for good) poisoned in the shadow.
  // Clear them before the memory is cached or unmapped — unmapped, the kernel
  // hands the range to the next mmap (an io_uring ring, a heap arena), whose
  // accesses would then be reported as stack-buffer-underflows.
  san::unpoison_stack(base, sc.size);
  auto& cache = tls_cache.stacks;
  if (cache.size() < kCacheLimit) {
    cache.push_back({base, sc.size});
  } else {
    ::munmap(base, sc.size);
  }
}

StackBounds GuardedStackAllocator::bounds_of(const boost::context::stack_context& sc) {
  StackBounds b;
  b.hi = reinterpret_cast<std::uintptr_t>(sc.sp);
  b.guard_lo = b.hi - sc.size;
  b.lo = b.guard_lo + page_size();
  return b;
}

void GuardedStackAllocator::release_thread_cache() noexcept {
  for (auto& s : tls_cache.stacks) ::munmap(s.base, s.total);
  tls_cache.stacks.clear();
}

}  // namespace faultline::io::evented
