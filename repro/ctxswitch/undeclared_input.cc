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
//
// Fix: declare the operands (`"+D"(from), "+S"(to)`, i.e. `switch_full`), so
// the compiler materialises them in those registers wherever it inlines it.
#include <string>

#include "repro/ctxswitch/raw_context.h"

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
    std::vector<std::uint64_t> digests = args.variant == "broken"
                                             ? fc::RoundRobin<switch_implicit_args>(p, fc::EntryAlignment::abi).run()
                                             : fc::RoundRobin<fc::switch_full>(p, fc::EntryAlignment::abi).run();
    fc::judge(p, digests, rec);
  });
}
