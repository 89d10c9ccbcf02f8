// ctxswitch/misaligned-stack — the program: command line, record, verdict.
// The fibers and their entry are in misaligned_stack.cc (the switch unit; the
// story of the bug is told there).
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
    fc::judge(p, fc::run_fibers(p, broken), rec);
  });
}
