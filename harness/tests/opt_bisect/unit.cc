// The unit under -opt-bisect-limit (see CMakeLists.txt for the construction).
// f's asm reads %rdi, which it never declares as an input: the bug. Only the
// inliner may break it, and nothing before it:
//  - f and g have external linkage, so IPSCCP and ArgumentPromotion leave
//    their signatures alone;
//  - x is an (unused) memory operand of the asm, so x is live in the IR: else
//    DeadArgumentElimination, which runs before the inliner, replaces the
//    dead argument of the call f(b) with undef and %rdi is stale even sooner
//    (measured: it then names DeadArgumentEliminationPass on [module]).
#include <string>

long f(long x) {
  long out;
  asm volatile("mov %%rdi, %0" : "=r"(out) : "m"(x));
  return out;
}

__attribute__((noinline)) long g(long a, long b) {
  (void)a;  // arrives in %rdi, where the inlined f then finds it
  return f(b);
}

// std::string in the unit: with a low limit its allocator<char> members stay
// un-inlined, which the one-unit relink must cope with.
std::string label(long v) {
  return "g returned " + std::to_string(v);
}
