// Fiber objects, the process-wide fiber registry (for dumps and crash
// reports), the context-neutral park/current-task functions, and the fault
// handler that names a fiber stack overflow.
#include "io/evented/fiber.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <mutex>

#include "io/evented/sanitizer_switch.h"
#include "io/evented/scheduler.h"

namespace faultline::io::evented {
namespace {

std::mutex registry_mu;
Fiber* registry_head = nullptr;
std::size_t registry_size = 0;

void registry_add(Fiber* f) {
  std::lock_guard lk(registry_mu);
  f->registry_next = registry_head;
  if (registry_head) registry_head->registry_prev = f;
  registry_head = f;
  ++registry_size;
}

void registry_remove(Fiber* f) {
  std::lock_guard lk(registry_mu);
  if (f->registry_prev)
    f->registry_prev->registry_next = f->registry_next;
  else
    registry_head = f->registry_next;
  if (f->registry_next) f->registry_next->registry_prev = f->registry_prev;
  --registry_size;
}

}  // namespace

std::string_view to_string(FiberState s) {
  switch (s) {
    case FiberState::created:
      return "created";
    case FiberState::runnable:
      return "runnable";
    case FiberState::running:
      return "running";
    case FiberState::parked:
      return "parked";
    case FiberState::finished:
      return "finished";
  }
  return "?";
}

Fiber::Fiber(std::function<void()> b, std::string name, Scheduler* h)
    : TaskState(Backend::evented, std::move(name)), body(std::move(b)), home(h) {
  registry_add(this);
}

Fiber::~Fiber() {
  registry_remove(this);
}

void Fiber::on_wake() {
  home.load(std::memory_order_acquire)->schedule(this);
}

void Fiber::deliver_cancel() {
  home.load(std::memory_order_acquire)->post_cancel(shared_from_this(), this);
}

// ---- fault handler: name a fiber stack overflow ----
namespace {

struct sigaction previous_segv {};
struct sigaction previous_bus {};

// Async-signal-safe formatting helpers.
char* put_str(char* p, char* end, const char* s) {
  while (*s && p < end) *p++ = *s++;
  return p;
}
char* put_uint(char* p, char* end, unsigned long long v, unsigned base) {
  char tmp[32];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v && n < 32);
  if (base == 16) p = put_str(p, end, "0x");
  while (n > 0 && p < end) *p++ = tmp[--n];
  return p;
}

void chain(const struct sigaction& prev, int sig, siginfo_t* info, void* uctx) {
  if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction) {
    prev.sa_sigaction(sig, info, uctx);
    return;
  }
  if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN && prev.sa_handler != nullptr) {
    prev.sa_handler(sig);
    return;
  }
  // Default action: return and let the faulting instruction fault again.
  signal(sig, SIG_DFL);
}

void on_fault(int sig, siginfo_t* info, void* uctx) {
  Scheduler* s = Scheduler::current();
  Fiber* f = s ? s->current_fiber() : nullptr;
  auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  if (f && addr >= f->stack.guard_lo && addr < f->stack.lo) {
    char buf[512];
    char* p = buf;
    char* end = buf + sizeof buf - 1;
    p = put_str(p, end, "faultline: fiber stack overflow: fiber ");
    p = put_uint(p, end, f->id(), 10);
    p = put_str(p, end, " (\"");
    p = put_str(p, end, f->name().c_str());
    p = put_str(p, end, "\") ran past its ");
    p = put_uint(p, end, f->stack.hi - f->stack.lo, 10);
    p = put_str(p, end, "-byte stack: fault at ");
    p = put_uint(p, end, addr, 16);
    p = put_str(p, end, " in its guard page [");
    p = put_uint(p, end, f->stack.guard_lo, 16);
    p = put_str(p, end, ", ");
    p = put_uint(p, end, f->stack.lo, 16);
    p = put_str(p, end, ") on scheduler thread ");
    p = put_uint(p, end, s->index(), 10);
    p = put_str(p, end, "; raise Options::fiber_stack_size\n");
    [[maybe_unused]] auto r = ::write(2, buf, static_cast<std::size_t>(p - buf));
  }
  chain(sig == SIGBUS ? previous_bus : previous_segv, sig, info, uctx);
}

}  // namespace

void install_overflow_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_segv);
    sigaction(SIGBUS, &sa, &previous_bus);
  });
}

void dump_fibers(int fd) {
  char line[512];
  std::unique_lock lk(registry_mu, std::try_to_lock);
  if (!lk.owns_lock()) {
    int n = std::snprintf(line, sizeof line, "faultline: fiber registry is locked (a thread stopped inside it)\n");
    [[maybe_unused]] auto r = ::write(fd, line, static_cast<std::size_t>(n));
    return;
  }
  int n = std::snprintf(line, sizeof line, "faultline: %zu live fibers\n", registry_size);
  [[maybe_unused]] auto r = ::write(fd, line, static_cast<std::size_t>(n));
  // A snapshot taken while the fibers' threads run or are stuck (watchdogs,
  // the crash library, gdb): it reads their park reason and stack bounds
  // without their synchronisation, by design. TSan is told so for these
  // reads only; every write still counts, and so does every other read.
  san::tsan_ignore_reads_begin();
  for (Fiber* f = registry_head; f; f = f->registry_next) {
    Scheduler* h = f->home.load(std::memory_order_relaxed);
    n = std::snprintf(line, sizeof line, "fiber %llu name=\"%s\" state=%s waiting_on=%s scheduler=%u stack=%zu\n",
                      static_cast<unsigned long long>(f->id()), f->name().c_str(),
                      std::string(to_string(f->state.load(std::memory_order_relaxed))).c_str(),
                      f->park_reason ? f->park_reason : "", h ? h->index() : 0u, f->stack.hi - f->stack.lo);
    r = ::write(fd, line, static_cast<std::size_t>(n));
  }
  san::tsan_ignore_reads_end();
}

}  // namespace faultline::io::evented

// ---- context-neutral functions of io/detail/task_state.h ----
namespace faultline::io::detail {

TaskState* current_task_state() {
  if (auto* s = evented::Scheduler::current(); s && s->current_fiber()) return s->current_fiber();
  return thread_task();
}

Parker& current_parker() {
  if (auto* s = evented::Scheduler::current(); s && s->current_fiber()) return *s->current_fiber();
  return ThreadParker::current();
}

void park_current(Parker& p, std::uint64_t token, Deadline deadline, bool cancellable, const char* reason) {
  if (auto* s = evented::Scheduler::current(); s && s->current_fiber() == &p) {
    s->park(s->current_fiber(), token, deadline, cancellable ? evented::CancelMode::wake : evented::CancelMode::none,
            evented::ParkKind::primitive, reason);
    return;
  }
  auto& tp = static_cast<ThreadParker&>(p);
  TaskState* task = cancellable ? thread_task() : nullptr;
  if (task) {
    task->cancellable_token.store(token, std::memory_order_seq_cst);
    if (task->cancel_requested() && tp.cancel_park(token)) {
      task->cancellable_token.store(0, std::memory_order_seq_cst);
      return;
    }
  }
  tp.park(token, deadline);
  if (task) task->cancellable_token.store(0, std::memory_order_seq_cst);
}

}  // namespace faultline::io::detail

// ---- symbols the crash library and debuggers look up by name ----
extern "C" __attribute__((visibility("default"), used)) std::uint64_t faultline_current_fiber_id() {
  auto* s = faultline::io::evented::Scheduler::current();
  auto* f = s ? s->current_fiber() : nullptr;
  return f ? f->id() : 0;
}

extern "C" __attribute__((visibility("default"), used)) int faultline_current_scheduler_thread() {
  auto* s = faultline::io::evented::Scheduler::current();
  return s ? static_cast<int>(s->index()) : -1;
}

extern "C" __attribute__((visibility("default"), used)) void faultline_dump_fibers(int fd) {
  faultline::io::evented::dump_fibers(fd);
}
