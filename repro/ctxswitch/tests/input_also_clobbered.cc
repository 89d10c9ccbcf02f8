// The constraint of Zig's original x86-64 contextSwitch, transcribed to C++:
// the argument is pinned to rsi as an input operand and rsi is also listed as
// clobbered. LLVM accepted it from Zig and, in one optimisation mode, dropped
// the move into rsi (the stale-rsi general-protection fault). gcc 12 and
// clang 14 reject it outright when it is written in C++ ("impossible
// constraints" / "conflicts with clobber list").
//
// Contract: this file must NOT compile. ctxswitch/CMakeLists.txt checks that at
// configure time with the project's compiler (reported by the undeclared-input
// program as details.input_also_clobbered_rejected) and the
// ctxswitch.undeclared-input.constraint-rejected.<cc> tests check it for gcc and
// clang at test time.
void switch_like(void* to) {
  asm volatile("movq 0(%%rsi), %%rax" : : "S"(to) : "rax", "rsi", "memory");
}

int main() {
  int x = 0;
  switch_like(&x);
  return 0;
}
