// Test target: dereferences the non-canonical address 0x8000000000000000. The
// CPU raises #GP, which Linux delivers as SIGSEGV with si_code SI_KERNEL and
// si_addr 0 — the signature of the stale-register context-switch bug.
#include <cstdint>
#include <cstdio>

__attribute__((noinline)) long crash_victim_gp(volatile std::uintptr_t* where) {
  auto* p = reinterpret_cast<volatile long*>(*where);
  return *p;
}

int main() {
  volatile std::uintptr_t addr = 0x8000000000000000ull;
  std::fputs("t_gpfault: loading from a non-canonical address\n", stderr);
  return static_cast<int>(crash_victim_gp(&addr));
}
