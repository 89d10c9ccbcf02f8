// Test target: a failing assert() (kept in release builds): SIGABRT with the
// assertion message on stderr (outcome `abort`).
#undef NDEBUG
#include <cassert>
#include <cstdio>

__attribute__((noinline)) void check_invariant(const volatile int* x) {
  assert(*x == 42 && "fiber count must match");
}

int main() {
  volatile int count = 7;
  check_invariant(&count);
  return 0;
}
