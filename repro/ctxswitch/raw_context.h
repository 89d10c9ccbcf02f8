// Hand-made x86-64 fibers for the ctxswitch/* repros: a saved context, an
// mmap'ed stack with a guard page, the *correct* inline-asm switch, and a
// single-thread round-robin runner that is generic over the switch, so each
// scenario's .cc holds only the switch (or entry alignment) it gets wrong.
//
// Contract:
//  - A Context is {rsp, rbp, rip} at offsets 0, 8, 16; a switch stores the
//    current ones into `from` and loads `to`'s. Every other register survives
//    a switch only if the switch's asm statement tells the compiler it does not
//    (that is the whole family of bugs).
//  - `switch_full` is the reference switch: `from`/`to` are in-out operands in
//    rdi/rsi, and every other general-purpose, SSE and flags register is listed
//    as clobbered, so the compiler saves whatever it keeps live around it.
//  - `RoundRobin<Switch>` runs Params::fibers fibers of `fiber_loop` on the
//    calling thread, resuming them in order until all are done, and returns the
//    per-fiber digests. A fresh fiber enters with rsp ≡ 8 (mod 16), as after a
//    `call`, unless EntryAlignment::off_by_8 is asked for.
//  - `arm_watchdog` turns a hang (a corrupted loop that never ends) into a
//    `hang` verdict: exit 1 after the given seconds.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/record/result_record.h"
#include "repro/common/repro_main.h"
#include "repro/ctxswitch/workload.h"

namespace faultline::repro::ctxswitch {

struct Context {
  void* rsp = nullptr;
  void* rbp = nullptr;
  void* rip = nullptr;
};

using SwitchFn = void (*)(Context* from, Context* to);

// The reference switch (see the header comment). Kept `always_inline` so the
// fixed variants are the same code shape as the broken ones at every -O level.
[[gnu::always_inline]] inline void switch_full(Context* from, Context* to) {
  asm volatile(
      "leaq 1f(%%rip), %%rax\n\t"
      "movq %%rsp, 0(%[from])\n\t"
      "movq %%rbp, 8(%[from])\n\t"
      "movq %%rax, 16(%[from])\n\t"
      "movq 0(%[to]), %%rsp\n\t"
      "movq 8(%[to]), %%rbp\n\t"
      "jmpq *16(%[to])\n\t"
      "1:\n\t"
      : [from] "+D"(from), [to] "+S"(to)
      :
      : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "xmm0", "xmm1", "xmm2",
        "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
        "memory", "cc");
}

// An mmap'ed fiber stack; the lowest page is PROT_NONE so an overflow faults
// instead of silently corrupting a neighbour.
class Stack {
 public:
  explicit Stack(std::size_t usable) {
    page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    size_ = (usable + page_ - 1) / page_ * page_ + page_;
    void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error(std::string("mmap fiber stack: ") + std::strerror(errno));
    base_ = static_cast<char*>(p);
    mprotect(base_, page_, PROT_NONE);
  }
  Stack(Stack&& o) noexcept : base_(o.base_), size_(o.size_), page_(o.page_) { o.base_ = nullptr; }
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  Stack& operator=(Stack&&) = delete;
  ~Stack() {
    if (base_) munmap(base_, size_);
  }
  // 16-byte aligned (page aligned, in fact).
  char* top() const { return base_ + size_; }

 private:
  char* base_ = nullptr;
  std::size_t size_ = 0;
  std::size_t page_ = 0;
};

enum class EntryAlignment { abi, off_by_8 };

// Makes `ctx` enter `entry` on `stack` on its first resume. The SysV ABI wants
// rsp + 8 to be a multiple of 16 at a function's first instruction (a `call`
// just pushed the return address); off_by_8 leaves rsp itself 16-aligned.
inline void prepare(Context& ctx, const Stack& stack, void (*entry)(), EntryAlignment align) {
  char* sp = stack.top() - (align == EntryAlignment::abi ? 8 : 16);
  std::memset(sp, 0, 8);  // a null return address: entry never returns
  ctx.rsp = sp;
  ctx.rbp = nullptr;
  ctx.rip = reinterpret_cast<void*>(entry);
}

template <SwitchFn Switch>
class RoundRobin {
 public:
  RoundRobin(const Params& p, EntryAlignment align, std::size_t stack_size = 64 * 1024) : params_(p) {
    fibers_.reserve(p.fibers);
    for (unsigned k = 0; k < p.fibers; ++k) {
      fibers_.push_back(Fiber{Context{}, Stack(stack_size), 0, false, false});
      prepare(fibers_.back().ctx, fibers_.back().stack, &entry, align);
    }
  }

  std::vector<std::uint64_t> run() {
    unsigned live = params_.fibers;
    while (live > 0) {
      for (unsigned k = 0; k < fibers_.size(); ++k) {
        Fiber& f = fibers_[k];
        if (f.done) continue;
        if (!f.started) {
          f.started = true;
          entering_ = this;
          entering_index_ = k;
        }
        Switch(&main_, &f.ctx);
        if (f.done) --live;
      }
    }
    std::vector<std::uint64_t> out;
    for (const Fiber& f : fibers_) out.push_back(f.digest);
    return out;
  }

 private:
  struct Fiber {
    Context ctx;
    Stack stack;
    std::uint64_t digest;
    bool started;
    bool done;
  };

  [[noreturn]] static void entry() {
    RoundRobin* self = entering_;
    unsigned k = entering_index_;
    Fiber* f = &self->fibers_[k];
    // Two statements on purpose: for `f->digest = fiber_loop(...)` gcc -O0
    // evaluates &f->digest first and keeps it in rbx across the call, so even
    // -O0 depends on the switch preserving callee-saved registers. The repro
    // wants the switch to be the only thing that is wrong.
    std::uint64_t digest = fiber_loop(
        k, self->params_, [&] { Switch(&f->ctx, &self->main_); }, no_observer);
    f->digest = digest;
    f->done = true;
    Switch(&f->ctx, &self->main_);
    std::abort();  // a finished fiber is never resumed
  }

  static inline RoundRobin* entering_ = nullptr;
  static inline unsigned entering_index_ = 0;

  Params params_;
  Context main_;
  std::vector<Fiber> fibers_;
};

inline Params params_from(const ReproArgs& args) {
  return Params{args.fibers, args.iterations, args.seed};
}

// Compares `digests` with the straight-line reference and fills rec.
inline void judge(const Params& p, const std::vector<std::uint64_t>& digests, record::ResultRecord& rec) {
  std::uint64_t got = checksum(digests);
  std::uint64_t want = expected_checksum(p);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(got));
  rec.details["checksum"] = buf;
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(want));
  rec.details["expected_checksum"] = buf;
  rec.details["switches"] = static_cast<std::uint64_t>(p.fibers) * (p.iterations + 1) * 2;
  unsigned wrong = 0;
  for (unsigned k = 0; k < p.fibers; ++k)
    if (fiber_loop(k, p, no_observer, no_observer) != digests[k]) ++wrong;
  rec.details["fibers_with_wrong_state"] = wrong;
  if (got == want) {
    rec.outcome = record::Outcome::pass;
    rec.summary = "checksum matches the straight-line computation";
  } else {
    rec.outcome = record::Outcome::fail;
    rec.summary = "wrong checksum: " + std::to_string(wrong) + " of " + std::to_string(p.fibers) +
                  " fibers lost state across a context switch";
  }
}

// The compile flags this program was built with (set by ctxswitch/CMakeLists).
inline void note_build(record::ResultRecord& rec) {
#ifdef FL_CTX_CXX_FLAGS
  rec.details["cxx_flags"] = FL_CTX_CXX_FLAGS;
#endif
#ifdef __OPTIMIZE__
  rec.details["optimized"] = true;
#else
  rec.details["optimized"] = false;
#endif
}

namespace detail {
inline void on_watchdog(int) {
  static const char msg[] = "ctxswitch: watchdog fired, the run hung (verdict: hang)\n";
  ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)n;
  _exit(record::kExitFail);
}
}  // namespace detail

inline void arm_watchdog(const ReproArgs& args) {
  std::signal(SIGALRM, detail::on_watchdog);
  alarm(static_cast<unsigned>(args.get_int("timeout", 20)));
}

}  // namespace faultline::repro::ctxswitch
