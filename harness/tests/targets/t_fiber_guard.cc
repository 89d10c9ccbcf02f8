// Test target: a crash inside a fiber on its guard page. The fiber runs on a
// stack we mmap ourselves (guard page below it, PROT_NONE), switched to with
// Boost.Context; inside it, a write lands on the guard page (what a fiber
// stack overflow does): SIGSEGV, SEGV_ACCERR, address in the guard page.
// It exports faultline_current_fiber_id() like the io runtime, so the crash
// record must carry fiber id 7, and the backtrace must end cleanly at the
// fiber's entry instead of running into garbage.
#include <sys/mman.h>
#include <unistd.h>

#include <boost/context/fiber.hpp>
#include <boost/context/stack_context.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace ctx = boost::context;

namespace {
thread_local std::uint64_t t_current_fiber = 0;
thread_local int t_current_scheduler = -1;
char* g_guard = nullptr;

struct GuardedStack {
  std::size_t size = 64 * 1024;
  ctx::stack_context allocate() {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    void* base = mmap(nullptr, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) std::abort();
    mprotect(base, page, PROT_NONE);  // the guard page: lowest page, the stack grows down onto it
    g_guard = static_cast<char*>(base);
    ctx::stack_context sc;
    sc.size = size;
    sc.sp = static_cast<char*>(base) + page + size;
    return sc;
  }
  void deallocate(ctx::stack_context& sc) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    munmap(static_cast<char*>(sc.sp) - sc.size - page, sc.size + page);
  }
};
}  // namespace

extern "C" __attribute__((visibility("default"), used)) std::uint64_t faultline_current_fiber_id() {
  return t_current_fiber;
}
extern "C" __attribute__((visibility("default"), used)) int faultline_current_scheduler_thread() {
  return t_current_scheduler;
}

__attribute__((noinline)) void fiber_touch_guard(volatile char* p) {
  *p = 1;
}

__attribute__((noinline)) void fiber_body_level2() {
  fiber_touch_guard(g_guard + 64);
}

__attribute__((noinline)) void fiber_body() {
  fiber_body_level2();
  std::fputs("t_fiber_guard: survived?\n", stderr);
}

int main() {
  t_current_scheduler = 0;
  ctx::fiber f{std::allocator_arg, GuardedStack{}, [](ctx::fiber&& caller) {
                 t_current_fiber = 7;
                 fiber_body();
                 t_current_fiber = 0;
                 return std::move(caller);
               }};
  std::move(f).resume();
  return 0;
}
