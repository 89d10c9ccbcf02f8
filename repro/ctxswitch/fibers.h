// Hand-made x86-64 fibers for the ctxswitch/* repros: a saved context, an
// mmap'ed stack with a guard page, the *correct* inline-asm switch, and a
// single-thread round-robin runner that is generic over the switch, so each
// scenario's switch unit holds only the switch (or entry alignment) it gets
// wrong.
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
//  - Lean on purpose: no std::string, no result record, no JSON. A scenario's
//    switch unit (<name>.cc, compiled with -DFAULTLINE_OPT_BISECT_UNIT) includes
//    only this header, so `faultline matrix --bisect-opt` can recompile that one
//    translation unit under `-mllvm -opt-bisect-limit=K` and relink it: with
//    libstdc++'s extern templates (std::string, allocator<char>) in the unit,
//    low limits would leave their always_inline members as undefined
//    references. The program's main() and its record live in <name>_main.cc
//    (raw_context.h).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

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
    if (p == MAP_FAILED) {
      char msg[96];
      std::snprintf(msg, sizeof msg, "mmap fiber stack: %s", std::strerror(errno));
      throw std::runtime_error(msg);
    }
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

// Runs the scenario's fibers (broken or fixed variant) and returns their
// digests: defined by each scenario's switch unit, called by its main().
std::vector<std::uint64_t> run_fibers(const Params& p, bool broken);

}  // namespace faultline::repro::ctxswitch
