// ctxswitch/missing-clobber — a context switch that tells the compiler nothing
// about the registers the other side changes.
//
// Real-world bug: Zig's x86-64 fiber switch (ziglang/zig PR #25515) — a value
// the compiler kept in a register across the switch was overwritten by the
// other fiber, in release builds only; and zio PR #557, where clobbering only
// zmm0–31 was dropped on non-AVX-512 targets so xmm6–15 were never saved.
//
// Broken variant: the switch saves and restores rsp, rbp and rip and declares
// only the registers its own instructions touch (rax, rdi, rsi). Everything
// else — rbx, r12–r15 (callee-saved, where the optimiser parks values across
// the switch), rcx, rdx, r8–r11, xmm — arrives holding the other fiber's
// values. At -O0 every local lives in the (switched) stack frame, so it
// passes; at -O1 and above the workload's running sums live in registers and
// the checksum is wrong or a clobbered pointer crashes the process.
// (`faultline matrix --bisect-opt`, clang 14 -O3: the first failing pass is
// SROAPass on RoundRobin<switch_no_clobbers>::entry(), which moves the
// fiber's state out of its stack frame into registers.)
// -O0 is not a safe harbour either: gcc -O0 keeps the destination address of
// `x->field = call(...)` in rbx across the call, so an -O0 build crashes as
// soon as such a statement encloses a switch (raw_context.h avoids it on
// purpose, to keep the switch the only thing that is wrong).
//
// Fix: the same switch with the complete clobber list (`switch_full`): the
// compiler then saves whatever it keeps live around the switch itself.
//
// This file is the switch unit: the switch and the fibers that run on it,
// nothing else (no std::string, no record), compiled with
// -DFAULTLINE_OPT_BISECT_UNIT so `faultline matrix --bisect-opt` recompiles
// it alone under -opt-bisect-limit. main() is in missing_clobber_main.cc.
#include <cstdint>
#include <vector>

#include "repro/ctxswitch/fibers.h"

namespace fc = faultline::repro::ctxswitch;

namespace {

[[gnu::always_inline]] inline void switch_no_clobbers(fc::Context* from, fc::Context* to) {
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
      : "rax", "memory");
}

}  // namespace

namespace faultline::repro::ctxswitch {

std::vector<std::uint64_t> run_fibers(const Params& p, bool broken) {
  return broken ? RoundRobin<switch_no_clobbers>(p, EntryAlignment::abi).run()
                : RoundRobin<switch_full>(p, EntryAlignment::abi).run();
}

}  // namespace faultline::repro::ctxswitch
