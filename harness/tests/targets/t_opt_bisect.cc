// Test target for --bisect-opt (compiled by the test itself with clang++ at
// different -opt-bisect-limit values): an asm statement reads %rdi without
// declaring it as an input — the stale-register context-switch defect in
// miniature. Unoptimised, %rdi still holds the argument and the program
// exits 0; once an optimisation pass (inlining, register allocation...)
// moves things, it reads an unrelated value and exits 1.
#include <cstdio>

static inline long stale_read(long v) {
  long out;
  asm volatile("mov %%rdi, %0" : "=r"(out));
  return out + 0 * v;
}

__attribute__((noinline)) long use(long v) {
  return stale_read(v);
}

int main(int argc, char**) {
  long r = use(41 + argc);
  std::printf("%ld\n", r);
  return r == 42 ? 0 : 1;
}
