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
// -O0 is not a safe harbour either: gcc -O0 keeps the destination address of
// `x->field = call(...)` in rbx across the call, so an -O0 build crashes as
// soon as such a statement encloses a switch (raw_context.h avoids it on
// purpose, to keep the switch the only thing that is wrong).
//
// Fix: the same switch with the complete clobber list (`switch_full`): the
// compiler then saves whatever it keeps live around the switch itself.
#include <string>

#include "repro/ctxswitch/raw_context.h"

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

int main(int argc, char** argv) {
  faultline::repro::ReproSpec spec{
      "ctxswitch/missing-clobber",
      "asm switch saves rsp/rbp/rip but declares no clobbers: state lost or crash at -O1 and above",
      {"broken", "fixed"},
      "broken",
      20000,
      4};
  return faultline::repro::repro_main(argc, argv, spec, [](const auto& args, auto& rec) {
    fc::note_build(rec);
    fc::arm_watchdog(args);
    fc::Params p = fc::params_from(args);
    rec.details["switch"] = args.variant == "broken" ? "rsp/rbp/rip saved, clobbers: rax, rdi, rsi"
                                                     : "rsp/rbp/rip saved, every other register clobbered";
    faultline::repro::print_progress("ctxswitch/missing-clobber [" + args.variant + "]: " + std::to_string(p.fibers) +
                                     " fibers x " + std::to_string(p.iterations) + " switches");
    std::vector<std::uint64_t> digests = args.variant == "broken"
                                             ? fc::RoundRobin<switch_no_clobbers>(p, fc::EntryAlignment::abi).run()
                                             : fc::RoundRobin<fc::switch_full>(p, fc::EntryAlignment::abi).run();
    fc::judge(p, digests, rec);
  });
}
