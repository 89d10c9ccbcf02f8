// ctxswitch/misaligned-stack — a fresh fiber entered with its stack pointer
// off by 8 from what the ABI promises.
//
// Real-world bug: fiber runtimes that build the initial stack by hand (a
// stack top, then a jump to the entry function) and forget that a function
// expects rsp ≡ 8 (mod 16) on entry, because a `call` just pushed the return
// address. Nothing notices until 16-byte SSE values reach the stack: the
// compiler spills and stores them with `movaps` / `movdqa` to slots it
// believes are aligned, which raise a general-protection fault (SIGSEGV,
// si_code SI_KERNEL) on a misaligned address.
//
// Broken variant: the fiber enters with rsp 16-byte aligned (off by 8). The
// switch itself is the correct one (`switch_full`); it clobbers xmm0–15, so
// the workload's SSE lanes are spilled around every switch. The lanes are
// explicitly vectorised (workload.h), so this faults at every -O level,
// -O0 included (unoptimised code keeps vector locals in aligned stack slots
// too). With the lanes left to the auto-vectoriser instead, whether it faulted
// depended on the compiler and -O level (gcc: -O2 only; clang: -O1 only, with
// 4×u64 lanes) — the production symptom, but no basis for a repro.
//
// Fix: enter with rsp = 16-aligned top − 8 (a fake, null return address), as
// `prepare(..., EntryAlignment::abi)` does.
#include <string>

#include "repro/ctxswitch/raw_context.h"

namespace fc = faultline::repro::ctxswitch;

int main(int argc, char** argv) {
  faultline::repro::ReproSpec spec{
      "ctxswitch/misaligned-stack",
      "fiber enters with rsp off by 8: aligned SSE stores and spills (movaps) to the stack fault",
      {"broken", "fixed"},
      "broken",
      20000,
      4};
  return faultline::repro::repro_main(argc, argv, spec, [](const auto& args, auto& rec) {
    fc::note_build(rec);
    fc::arm_watchdog(args);
    fc::Params p = fc::params_from(args);
    bool broken = args.variant == "broken";
    rec.details["entry_rsp_mod_16"] = broken ? 0 : 8;
    faultline::repro::print_progress(
        "ctxswitch/misaligned-stack [" + args.variant + "]: entry rsp % 16 = " + (broken ? "0 (off by 8)" : "8 (ABI)") +
        ", " + std::to_string(p.fibers) + " fibers x " + std::to_string(p.iterations) + " switches");
    fc::RoundRobin<fc::switch_full> rr(p, broken ? fc::EntryAlignment::off_by_8 : fc::EntryAlignment::abi);
    fc::judge(p, rr.run(), rec);
  });
}
