#include "io/evented/scheduler.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <system_error>

#include "io/affinity.h"
#include "io/evented/evented_io.h"
#include "io/evented/sanitizer_switch.h"

namespace faultline::io::evented {
namespace {

// Fibers run in batches between reactor polls so that a busy run queue cannot
// starve completions.
constexpr std::size_t kBatch = 64;
constexpr int kDirectBudget = 64;
constexpr auto kPollInterval = std::chrono::microseconds(50);
constexpr std::size_t kAltStackSize = 64 * 1024;

}  // namespace

Scheduler::Scheduler(EventedIo& io, unsigned index, ReactorKind reactor, std::size_t stack_size)
    : io_(io), index_(index), reactor_kind_(reactor), stack_size_(stack_size) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

Scheduler::~Scheduler() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Scheduler::start() {
  std::promise<void> ready;
  auto started = ready.get_future();
  thread_ = std::thread([this, &ready] {
    try {
      // The ring must be created by the thread that submits to it
      // (IORING_SETUP_SINGLE_ISSUER).
      reactor_ = reactor_kind_ == ReactorKind::uring ? make_uring_reactor(*this, wake_fd_)
                                                     : make_epoll_reactor(*this, wake_fd_);
    } catch (...) {
      ready.set_exception(std::current_exception());
      return;
    }
    ready.set_value();
    thread_main();
  });
  try {
    started.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

void Scheduler::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_seq_cst);
  ring();
  thread_.join();
}

void Scheduler::thread_main() {
  detail_tls::current_scheduler = this;
  detail::set_current_thread_role(ThreadRole::scheduler);
  char name[16];
  std::snprintf(name, sizeof name, "fl-sched-%u", index_);
  pthread_setname_np(pthread_self(), name);
  // A fiber that overflows its stack faults on the guard page with the stack
  // pointer in it: the handler needs a stack of its own to run at all.
  altstack_ = ::mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (altstack_ != MAP_FAILED) {
    stack_t ss{};
    ss.ss_sp = altstack_;
    ss.ss_size = kAltStackSize;
    ::sigaltstack(&ss, nullptr);
  } else {
    altstack_ = nullptr;
  }
  tsan_self_ = san::tsan_current();
  // This thread's own stack, announced to ASan whenever a fiber switches back
  // to the loop — also on a thread that never started a fiber itself (a fiber
  // that migrated here may end here).
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* lo = nullptr;
    std::size_t size = 0;
    pthread_attr_getstack(&attr, &lo, &size);
    asan_bottom_ = lo;
    asan_size_ = size;
    pthread_attr_destroy(&attr);
  }
  loop();
  reactor_.reset();
  GuardedStackAllocator::release_thread_cache();
  if (altstack_) {
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    ::sigaltstack(&ss, nullptr);
    ::munmap(altstack_, kAltStackSize);
  }
  detail_tls::current_scheduler = nullptr;
}

void Scheduler::loop() {
  for (;;) {
    drain_inbox();
    fire_timers(detail::Clock::now());
    if (!run_queue_.empty()) {
      direct_budget_ = kDirectBudget;
      // Direct hand-offs inside resume() also pop from the queue: re-check.
      for (std::size_t n = kBatch; n > 0 && !run_queue_.empty(); --n) {
        Fiber* f = run_queue_.front();
        run_queue_.pop_front();
        resume(f);
      }
      // Entering the kernel costs more than a switch: do it when SQEs wait
      // for submission, or at least every kPollInterval so completions are
      // reaped while fibers keep the CPU busy.
      auto now = detail::Clock::now();
      if (reactor_->has_pending_submissions() || now - last_poll_ >= kPollInterval) {
        reactor_->poll(detail::Deadline::min());
        last_poll_ = now;
      }
      continue;
    }
    // stop() is only called once every fiber has finished.
    if (stopping_.load(std::memory_order_acquire)) {
      if (inbox_.probably_empty()) return;
      continue;
    }
    // Going to sleep. Producers push first, then look at `sleeping_`; we set
    // it first, then look at the inbox — with a full fence on both sides one
    // of us always sees the other (see mpsc_queue.h).
    sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!inbox_.probably_empty() || stopping_.load(std::memory_order_acquire)) {
      sleeping_.store(false, std::memory_order_relaxed);
      continue;
    }
    reactor_->poll(timers_.empty() ? detail::kNoDeadline : timers_.begin()->first);
    last_poll_ = detail::Clock::now();
    sleeping_.store(false, std::memory_order_relaxed);
  }
}

bool Scheduler::drain_inbox() {
  bool any = false;
  while (MpscNode* n = inbox_.pop()) {
    any = true;
    auto* item = static_cast<InboxItem*>(n);
    if (item->kind == InboxItem::Kind::run) {
      item->fiber->state.store(FiberState::runnable, std::memory_order_relaxed);
      run_queue_.push_back(item->fiber);
    } else {
      handle_cancel(item);
    }
  }
  return any;
}

void Scheduler::fire_timers(detail::Deadline now) {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    TimerEntry e = timers_.begin()->second;
    timers_.erase(timers_.begin());
    e.fiber->timer_armed = false;
    e.fiber->wake(e.token);
  }
}

void Scheduler::ring() {
  std::uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the thread will wake anyway.
  [[maybe_unused]] auto r = ::write(wake_fd_, &one, sizeof one);
}

void Scheduler::schedule(Fiber* f) {
  if (detail_tls::current_scheduler == this) {
    f->state.store(FiberState::runnable, std::memory_order_relaxed);
    run_queue_.push_back(f);
    return;
  }
  f->run_node.kind = InboxItem::Kind::run;
  f->run_node.fiber = f;
  inbox_.push(&f->run_node);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_relaxed)) ring();
}

void Scheduler::post_cancel(std::shared_ptr<detail::TaskState> task, Fiber* f) {
  auto* item = new InboxItem;
  item->kind = InboxItem::Kind::cancel;
  item->fiber = f;
  item->keep_alive = std::move(task);
  inbox_.push(item);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_relaxed)) ring();
}

void Scheduler::handle_cancel(InboxItem* item) {
  std::unique_ptr<InboxItem> owned(item);
  Fiber* f = item->fiber;
  if (f->done()) return;
  Scheduler* home = f->home.load(std::memory_order_acquire);
  if (home != this) {  // it migrated after the request was posted: follow it
    home->post_cancel(std::move(item->keep_alive), f);
    return;
  }
  // On this thread the fiber is not running, so its park state is stable.
  std::uint64_t token = f->current_token();
  if ((token & 1) == 0) return;  // runnable: it sees the flag at its next cancellation point
  switch (f->cancel_mode.load(std::memory_order_acquire)) {
    case CancelMode::none:
      break;
    case CancelMode::wake:
      f->wake(token);
      break;
    case CancelMode::io:
      reactor_->cancel_io(f);
      break;
  }
}

// The switch protocol. Fibers and the loop switch with Boost.Context's
// fcontext primitives, always as ontop_fcontext(to, slot, land): suspend the
// caller, resume `to`, and on `to`'s stack run land(caller's suspended
// context, slot) before `to` continues. land stores that context in *slot —
// the jumping fiber's own Fiber::ctx, or the loop's loop_ctx_ — so no jump
// needs to know who will resume it (which is what lets fibers hand the CPU to
// each other directly and migrate between threads), and nothing has to run
// after a landing. So a yield can end in a tail call of the switch and land
// straight in the resumed fiber's own code: see land_x86_64.S for why that
// halves the cost of a yield.
namespace ctxd = boost::context::detail;

extern "C" ctxd::transfer_t faultline_fcontext_land(ctxd::transfer_t t);

#if !(defined(__x86_64__) && defined(__ELF__))
// Elsewhere the same contract in C++; it returns with `ret` (correct, slower).
extern "C" ctxd::transfer_t faultline_fcontext_land(ctxd::transfer_t t) {
  *static_cast<ctxd::fcontext_t*>(t.data) = t.fctx;
  return t;
}
#endif

namespace {
[[gnu::always_inline]] inline void switch_to(ctxd::fcontext_t to, ctxd::fcontext_t* slot) {
  ctxd::ontop_fcontext(to, slot, &faultline_fcontext_land);
}
}  // namespace

// Always inlined, so that a yield ends in the switch itself: the landing then
// goes straight back into the resumed fiber's code (land_x86_64.S).
[[gnu::always_inline]] inline void Scheduler::switch_out(Fiber* f) {
  ctxd::fcontext_t to;
  // Hand the CPU straight to the next ready fiber when there is one that has
  // already started (two jumps per round trip instead of four through the
  // loop). The budget bounds how long fibers can pass the CPU among
  // themselves before the loop gets to the inbox, the timers and the reactor.
  Fiber* g = run_queue_.front();
  if (g != nullptr && g != f && g->ctx != nullptr && direct_budget_ > 0 && f->after_switch == nullptr) {
    --direct_budget_;
    run_queue_.pop_front();
    current_ = g;
    note_switch(g);
    g->state.store(FiberState::running, std::memory_order_relaxed);
    san::start_switch(&f->asan_fake_stack, reinterpret_cast<const void*>(g->stack.lo), g->stack.hi - g->stack.lo);
    san::tsan_switch_to(g->tsan_fiber);
    to = g->ctx;
    g->ctx = nullptr;
  } else {
    san::start_switch(&f->asan_fake_stack, asan_bottom_, asan_size_);
    san::tsan_switch_to(tsan_self_);
    to = loop_ctx_;
  }
  switch_to(to, &f->ctx);
  // Resumed — by a scheduler loop (perhaps another thread's, after a
  // migration) or by a fiber handing over directly. Outside sanitizer builds
  // nothing follows, so yield_current() tail-calls the switch.
  san::finish_switch(f->asan_fake_stack, nullptr, nullptr);
}

Scheduler* Scheduler::run_to_completion(Fiber* f) {
  std::exception_ptr error;
  try {
    f->body();
  } catch (const Cancelled&) {
    // A cancelled task ends normally.
  } catch (...) {
    error = std::current_exception();
  }
  f->body = nullptr;  // release captures on the fiber's own thread
  // No longer live before joiners wake, so live_tasks() is exact after join().
  detail_tls::current_scheduler->io_.fiber_finished(f);
  f->finish(error);
  f->state.store(FiberState::finished, std::memory_order_release);
  return detail_tls::current_scheduler;
}

// A fiber's first frame: make_fcontext() arranged for the first switch into a
// fresh stack to land here (after land() kept the loop's context). That
// switch is always the loop's (resume()), and it is an announced one, so this
// frame is a real one on the fiber's stack for ASan and is recorded on the
// fiber's own TSan context.
void Scheduler::fiber_entry(ctxd::transfer_t) {
  san::finish_switch(nullptr, nullptr, nullptr);
  Fiber* f = detail_tls::current_scheduler->current_;
  // This frame is never left (the last switch below jumps away for good), so
  // nothing with a destructor may live in it: the body runs in a function
  // that returns, which drops its captured exception_ptr (LSan caught the
  // reference the local used to keep). It also says which scheduler the
  // fiber ended on — not necessarily this one: fibers migrate, and reading
  // the thread-local again here would reuse its address computed above, on
  // the thread the fiber started on (the tls-migration defect of
  // repro/ctxswitch; a draft of this function had it).
  Scheduler* s = run_to_completion(f);
  // The last switch away from this stack: nothing of it runs again, so ASan
  // may destroy the fiber's fake stack now (nullptr), and TSan goes back to
  // the loop's context before the jump like at every other switch. The loop
  // sees `finished` and releases the stack (resume()).
  san::start_switch(nullptr, s->asan_bottom_, s->asan_size_);
  san::tsan_switch_to(s->tsan_self_);
  switch_to(s->loop_ctx_, &f->ctx);
  __builtin_unreachable();
}

void Scheduler::resume(Fiber* f) {
  current_ = f;
  f->state.store(FiberState::running, std::memory_order_relaxed);
  if (f->ctx == nullptr) {
    // First run. The stack first: its bounds are the target of the switch
    // announced below.
    f->stack_ctx = GuardedStackAllocator(stack_size_).allocate();
    f->stack = GuardedStackAllocator::bounds_of(f->stack_ctx);
    // Fresh from mmap, the range may still carry shadow poison of whatever
    // was mapped there before (stacks we release are cleared: stack.cc).
    san::unpoison_stack(reinterpret_cast<void*>(f->stack.lo), f->stack.hi - f->stack.lo);
    f->tsan_fiber = san::tsan_create();
    // Only writes the initial frame at the top of the stack; nothing runs on
    // it until the jump below (see fiber_entry).
    f->ctx = ctxd::make_fcontext(f->stack_ctx.sp, f->stack.hi - f->stack.lo, &Scheduler::fiber_entry);
  }
  san::start_switch(&asan_fake_stack_, reinterpret_cast<const void*>(f->stack.lo), f->stack.hi - f->stack.lo);
  san::tsan_switch_to(f->tsan_fiber);
  direct_budget_ = kDirectBudget;
  note_switch(f);
  ctxd::fcontext_t to = f->ctx;
  f->ctx = nullptr;
  switch_to(to, &loop_ctx_);
  san::finish_switch(asan_fake_stack_, nullptr, nullptr);
  // Fibers may hand the CPU to each other directly (switch_out), so the one
  // that came back is `current_`, not necessarily `f`.
  Fiber* back = current_;
  current_ = nullptr;
  note_switch(nullptr);
  if (back->state.load(std::memory_order_relaxed) == FiberState::finished) {
    // It finished (fiber_entry): it is off its stack for good, and ASan freed
    // its fake stack at that last switch. Release what it ran on.
    back->ctx = nullptr;
    san::tsan_destroy(back->tsan_fiber);
    back->tsan_fiber = nullptr;
    GuardedStackAllocator(stack_size_).deallocate(back->stack_ctx);
    std::shared_ptr<Fiber> last = std::move(back->self);  // may free the fiber
    return;
  }
  if (auto fn = back->after_switch) {
    back->after_switch = nullptr;
    fn(back, back->after_switch_arg);
  }
}

void Scheduler::park(Fiber* f, std::uint64_t token, detail::Deadline deadline, CancelMode mode, ParkKind kind,
                     const char* reason) {
  f->cancel_mode.store(mode, std::memory_order_release);
  if (mode == CancelMode::wake && f->cancel_requested() && f->cancel_park(token)) {
    f->cancel_mode.store(CancelMode::none, std::memory_order_release);
    return;  // cancelled before it slept; the caller throws
  }
  f->park_kind.store(kind, std::memory_order_relaxed);
  f->park_reason = reason;
  f->state.store(FiberState::parked, std::memory_order_relaxed);
  if (deadline != detail::kNoDeadline) {
    f->timer_it = timers_.emplace(deadline, TimerEntry{f, token});
    f->timer_armed = true;
  }
  switch_out(f);
  // Resumed on this same thread: a parked fiber never migrates.
  if (f->timer_armed) {
    timers_.erase(f->timer_it);
    f->timer_armed = false;
  }
  f->cancel_mode.store(CancelMode::none, std::memory_order_release);
  f->park_kind.store(ParkKind::none, std::memory_order_relaxed);
  f->park_reason = "";
}

void Scheduler::yield_current() {
  Fiber* f = current_;
  f->state.store(FiberState::runnable, std::memory_order_relaxed);
  run_queue_.push_back(f);
  switch_out(f);
}

void Scheduler::migrate_current(Scheduler* to) {
  if (to == this) return yield_current();
  Fiber* f = current_;
  f->home.store(to, std::memory_order_release);
  f->after_switch = [](Fiber* fib, void* target) { static_cast<Scheduler*>(target)->schedule(fib); };
  f->after_switch_arg = to;
  switch_out(f);
}

}  // namespace faultline::io::evented
