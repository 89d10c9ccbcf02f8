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
//
// This file is the switch unit: the fibers and their entry, nothing else (no
// std::string, no record), compiled with -DFAULTLINE_OPT_BISECT_UNIT so
// `faultline matrix --bisect-opt` recompiles it alone under
// -opt-bisect-limit. main() is in misaligned_stack_main.cc.
#include <cstdint>
#include <vector>

#include "repro/ctxswitch/fibers.h"

namespace faultline::repro::ctxswitch {

std::vector<std::uint64_t> run_fibers(const Params& p, bool broken) {
  return RoundRobin<switch_full>(p, broken ? EntryAlignment::off_by_8 : EntryAlignment::abi).run();
}

}  // namespace faultline::repro::ctxswitch
