// ctxswitch/undeclared-input — the program: command line, record, verdict.
// The switch and the fibers are in undeclared_input.cc (the switch unit; the
// story of the bug is told there).
#include <string>

#include "repro/ctxswitch/raw_context.h"

namespace fc = faultline::repro::ctxswitch;

int main(int argc, char** argv) {
  faultline::repro::ReproSpec spec{
      "ctxswitch/undeclared-input",
      "asm switch reads rdi/rsi without declaring them as inputs: works until the optimiser inlines it",
      {"broken", "fixed"},
      "broken",
      20000,
      4};
  return faultline::repro::repro_main(argc, argv, spec, [](const auto& args, auto& rec) {
    fc::note_build(rec);
    fc::arm_watchdog(args);
#ifdef FL_CTX_INPUT_CLOBBER_REJECTED
    rec.details["input_also_clobbered_rejected"] = FL_CTX_INPUT_CLOBBER_REJECTED != 0;
#endif
    fc::Params p = fc::params_from(args);
    rec.details["switch"] = args.variant == "broken" ? "reads %rdi/%rsi, declares no input operands"
                                                     : "from/to declared as \"+D\"/\"+S\" operands";
    faultline::repro::print_progress("ctxswitch/undeclared-input [" + args.variant + "]: " + std::to_string(p.fibers) +
                                     " fibers x " + std::to_string(p.iterations) + " switches");
    fc::judge(p, fc::run_fibers(p, args.variant == "broken"), rec);
  });
}
