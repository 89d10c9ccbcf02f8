// Test target for `faultline matrix`: behaves like a repro program
// (--describe, --variant V, --json, exit 0/1) without depending on repro/.
// Compiled twice: with FAKE_OPTIMISED=1 the "broken" variant dereferences a
// non-canonical pointer (SIGSEGV/SI_KERNEL) the way an optimised miscompile
// does; without it "broken" passes. "wrong" always reports a wrong result
// (outcome fail, exit 1); "fixed" always passes.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#ifndef FAKE_OPTIMISED
#define FAKE_OPTIMISED 0
#endif

__attribute__((noinline)) long fake_switch_stale_register(volatile std::uintptr_t* where) {
  return *reinterpret_cast<volatile long*>(*where);
}

static void print_record(const std::string& variant, const char* outcome, const char* summary) {
  std::printf(
      "{\"schema\":\"faultline.result/1\",\"scenario\":\"fake/stale-register\",\"variant\":\"%s\","
      "\"build\":{\"type\":\"%s\",\"compiler\":\"GNU-test\",\"flags\":\"%s\",\"preset\":\"\"},"
      "\"outcome\":\"%s\",\"summary\":\"%s\",\"details\":{}}\n",
      variant.c_str(), FAKE_OPTIMISED ? "Release" : "Debug", FAKE_OPTIMISED ? "-O2" : "-O0", outcome, summary);
}

int main(int argc, char** argv) {
  std::string variant = "broken";
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--describe") == 0) {
      std::puts(
          "{\"scenario\":\"fake/stale-register\",\"description\":\"test double\",\"variants\":[\"broken\","
          "\"fixed\",\"wrong\"],\"default_variant\":\"broken\"}");
      return 0;
    }
    if (std::strcmp(argv[i], "--variant") == 0 && i + 1 < argc) variant = argv[++i];
    if (std::strcmp(argv[i], "--json") == 0) json = true;
  }
  if (variant == "broken" && FAKE_OPTIMISED) {
    std::fflush(stdout);
    volatile std::uintptr_t p = 0x8000000000000000ull;
    return static_cast<int>(fake_switch_stale_register(&p));
  }
  if (variant == "wrong") {
    if (json) print_record(variant, "fail", "checksum mismatch: 41 != 42");
    return 1;
  }
  if (json) print_record(variant, "pass", "ok");
  return 0;
}
