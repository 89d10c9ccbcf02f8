// ctxswitch/missing-clobber — the program: command line, record, verdict.
// The switch and the fibers are in missing_clobber.cc (the switch unit; the
// story of the bug is told there).
#include <string>

#include "repro/ctxswitch/raw_context.h"

namespace fc = faultline::repro::ctxswitch;

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
    fc::judge(p, fc::run_fibers(p, args.variant == "broken"), rec);
  });
}
