// Test target: reads through a NULL struct pointer at offset 0x28, the shape of
// the Evented-mutex-from-a-plain-thread bug: SIGSEGV, SEGV_MAPERR, address 0x28.
#include <cstdint>
#include <cstdio>

struct Scheduler {
  char pad[0x28];
  int run_queue_len;
};

__attribute__((noinline)) int crash_victim_null(Scheduler* volatile* current) {
  Scheduler* s = *current;
  return s->run_queue_len;  // s == nullptr
}

__attribute__((noinline)) int crash_caller_null() {
  static Scheduler* volatile current = nullptr;
  return crash_victim_null(&current) + 1;
}

int main() {
  std::fputs("t_nullderef: about to read scheduler->run_queue_len\n", stderr);
  return crash_caller_null();
}
