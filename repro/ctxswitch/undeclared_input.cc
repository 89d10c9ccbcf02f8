// ctxswitch/undeclared-input — a context switch whose asm reads a register it
// never declared as an input, relying on where the argument happened to be.
//
// Real-world bug: Zig std's x86-64 `contextSwitch` listed its input register
// rsi also as clobbered. LLVM was free to drop the move of the argument into
// rsi, did so in ReleaseSafe only, and the switch loaded rsp/rip from an
// unrelated address: a general-protection fault every time, with one fiber,
// while Debug, ReleaseFast and ReleaseSmall passed. C++ compilers refuse that
// exact constraint (see tests/input_also_clobbered.cc; this program reports
// whether the compiler that built it rejected it), so the C++ analog is the
// closest thing they accept: an asm statement that names no input operands at
// all and reads rdi/rsi because that is where the SysV ABI put `from` and `to`.
//
// Broken variant: the switch is an ordinary `inline` function whose asm uses
// %rdi/%rsi directly. At -O0 it is called, not inlined, so rdi/rsi still hold
// the arguments when the asm runs and everything works. Once the optimiser
// inlines it, nothing puts `from`/`to` in rdi/rsi any more: the switch stores
// to and jumps through whatever those registers held → SIGSEGV (measured with
// gcc 12 and clang 14 at -O1…-Os: mostly SEGV_ACCERR on a fiber stack's guard
// page, otherwise SEGV_MAPERR near address 0; the Zig original, loading from a
// non-canonical address, was a general-protection fault, SI_KERNEL).
// With clang 14 the first pass that breaks it is not even the inliner:
// `faultline matrix --bisect-opt` (clang-release) names
// DeadArgumentEliminationPass — the asm never uses `from`/`to`, so the
// arguments are dead, the function becomes switch_implicit_args() and its
// callers stop loading rdi/rsi (much like the Zig bug's dropped input move).
//
// Fix: declare the operands (`"+D"(from), "+S"(to)`, i.e. `switch_full`), so
// the compiler materialises them in those registers wherever it inlines it.
//
// This file is the switch unit: the switch and the fibers that run on it,
// nothing else (no std::string, no record), compiled with
// -DFAULTLINE_OPT_BISECT_UNIT so `faultline matrix --bisect-opt` recompiles
// it alone under -opt-bisect-limit. main() is in undeclared_input_main.cc.
#include <cstdint>
#include <vector>

#include "repro/ctxswitch/fibers.h"

namespace fc = faultline::repro::ctxswitch;

namespace {

inline void switch_implicit_args(fc::Context* from, fc::Context* to) {
  (void)from;  // deliberately not handed to the asm: that is the bug
  (void)to;
  asm volatile(
      "leaq 1f(%%rip), %%rax\n\t"
      "movq %%rsp, 0(%%rdi)\n\t"
      "movq %%rbp, 8(%%rdi)\n\t"
      "movq %%rax, 16(%%rdi)\n\t"
      "movq 0(%%rsi), %%rsp\n\t"
      "movq 8(%%rsi), %%rbp\n\t"
      "jmpq *16(%%rsi)\n\t"
      "1:\n\t"
      :
      :
      : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "xmm0", "xmm1",
        "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
        "xmm15", "memory", "cc");
}

}  // namespace

namespace faultline::repro::ctxswitch {

std::vector<std::uint64_t> run_fibers(const Params& p, bool broken) {
  return broken ? RoundRobin<switch_implicit_args>(p, EntryAlignment::abi).run()
                : RoundRobin<switch_full>(p, EntryAlignment::abi).run();
}

}  // namespace faultline::repro::ctxswitch
