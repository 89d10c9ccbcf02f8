// The one workload every ctxswitch/* scenario runs, whatever switch it runs on.
//
// Contract:
//  - `fiber_loop` is a fiber body: `iterations` steps, each followed by one
//    `yield()`, with the fiber's whole state (six scalars + four 2×u64 SSE vectors)
//    held in locals across every yield. The state is large enough that an
//    optimising compiler keeps it in callee-saved registers (rbx, rbp, r12–r15)
//    and the vectors in xmm registers and 16-byte aligned stack
//    slots — exactly what a miscompiled switch destroys.
//  - Fibers are independent, so the result does not depend on scheduling
//    order: `expected_checksum` recomputes the same steps straight-line, no
//    switch involved, and `checksum` folds the per-fiber digests in fiber order.
//  - `observe()` runs just before and just after every yield (the tls-migration
//    scenario looks at a thread-local there; everyone else passes `no_observer`).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace faultline::repro::ctxswitch {

struct Params {
  unsigned fibers = 4;
  std::uint64_t iterations = 1000;
  std::uint64_t seed = 1;
};

// Two u64 lanes in one SSE register (GCC/Clang vector extension).
using U64x2 = std::uint64_t __attribute__((vector_size(16)));

struct State {
  std::uint64_t a, b, c, d, e, f;
  U64x2 lanes[4];
};

inline std::uint64_t rotl(std::uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

inline State initial_state(unsigned fiber, std::uint64_t seed) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + fiber * 0xD1B54A32D192ED03ull + 1;
  State s{};
  s.a = x;
  s.b = rotl(x, 17) ^ 0x5851F42D4C957F2Dull;
  s.c = x * 3 + fiber;
  s.d = ~x;
  s.e = rotl(x, 41) + 7;
  s.f = x ^ (x >> 31);
  for (int k = 0; k < 4; ++k) {
    std::uint64_t lo = x + static_cast<std::uint64_t>(2 * k) * 0x2545F4914F6CDD1Dull;
    s.lanes[k] = U64x2{lo, lo + 0x2545F4914F6CDD1Dull};
  }
  return s;
}

// The lanes are explicitly vectorised (SSE2 add / shift / xor on 2×u64)
// rather than left to the auto-vectoriser, whose choices differ between
// compilers and -O levels: the repro must put 16-byte vectors in xmm registers
// (and, around a switch that clobbers them, in 16-byte aligned stack slots)
// deterministically.
inline void step(State& s, std::uint64_t i) {
  s.a += i ^ s.f;
  s.b = rotl(s.b ^ s.a, 13);
  s.c += s.b * 0x9E3779B97F4A7C15ull;
  s.d ^= s.c >> 7;
  s.e = s.e * 5 + s.d;
  s.f += s.e ^ (s.e >> 29);
  std::uint64_t m = s.a + s.f;
  U64x2 mix{m, m ^ i};
  for (int k = 0; k < 4; ++k) s.lanes[k] = ((s.lanes[k] << 3) + (s.lanes[k] >> 5)) ^ mix;
}

inline std::uint64_t digest(const State& s) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (std::uint64_t v : {s.a, s.b, s.c, s.d, s.e, s.f}) h = rotl((h ^ v) * 0x100000001B3ull, 23);
  for (const U64x2& v : s.lanes)
    for (int j = 0; j < 2; ++j) h = rotl((h ^ v[j]) * 0x100000001B3ull, 23);
  return h;
}

inline void no_observer() {}

template <class Yield, class Observe>
std::uint64_t fiber_loop(unsigned fiber, const Params& p, Yield&& yield, Observe&& observe) {
  State s = initial_state(fiber, p.seed);
  for (std::uint64_t i = 0; i < p.iterations; ++i) {
    step(s, i);
    observe();
    yield();
    observe();
  }
  return digest(s);
}

inline std::uint64_t checksum(std::span<const std::uint64_t> digests) {
  std::uint64_t h = 0x84222325CBF29CE4ull;
  for (std::uint64_t d : digests) h = rotl(h ^ d, 29) * 0x100000001B3ull;
  return h;
}

// The straight-line reference: the same steps, no fiber, no switch.
inline std::uint64_t expected_checksum(const Params& p) {
  std::vector<std::uint64_t> digests;
  for (unsigned k = 0; k < p.fibers; ++k) digests.push_back(fiber_loop(k, p, no_observer, no_observer));
  return checksum(digests);
}

}  // namespace faultline::repro::ctxswitch
