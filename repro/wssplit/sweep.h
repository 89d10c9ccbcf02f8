// The split sweep behind `wssplit/handshake-split`: a loopback server writes a
// valid 101 response (head + one text frame) in pieces cut at chosen byte
// offsets, and a client running one reader variant tries to complete the
// handshake and read the frame. Every attempt runs the client in a forked
// child, so a reader that crashes costs one attempt, not the run; the parent
// classifies the child's end (pass, fail with reason, crash with signal,
// si_code and fault address relative to the read buffer, hang).
//
// Contract:
//  - Loopback only (127.0.0.1 or ::1). Every wait has a deadline; a child
//    that outlives it is killed and recorded as a hang.
//  - A split is made visible to the client deterministically, not by timing
//    alone: after writing a piece the server waits until the kernel reports
//    the piece acknowledged (SIOCOUTQ == 0 on the server socket) and
//    consumed (SIOCINQ == 0 on the client socket, whose descriptor the parent
//    keeps across the fork), so the client's read returned exactly that
//    piece. An attempt where that wait timed out is flagged `isolated=false`.
//  - The prediction (which offsets must fail) is computed from the response
//    bytes: an offset k is mid-CRLF when byte k-1 is '\r' and byte k is '\n'
//    inside the head. The sweep compares the measured failing set with it.
//  - Call from a single-threaded process (fork).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultline::wssplit::sweep {

enum class Variant { buggy, partial_fix, blank_line_underflow, fixed };
std::optional<Variant> variant_from_string(std::string_view s);
std::string_view to_string(Variant v);

// The first frame the server sends right after the head (unmasked text).
std::string first_frame();
// The full response: head (accept value given) followed by first_frame().
std::string build_response(std::string_view accept);
// Length of the head including the final blank line, or npos.
std::size_t head_length(std::string_view response);
// Offsets k (1 <= k < head_length) with response[k-1] == '\r', response[k] == '\n'.
std::vector<std::size_t> mid_crlf_offsets(std::string_view response);
// The offsets at which `v` is expected to misbehave (2-way split), derived
// from mid_crlf_offsets: all of them for buggy and partial-fix, the one inside
// the final "\r\n\r\n" for blank-line-underflow, none for fixed.
std::vector<std::size_t> predicted_failing(Variant v, std::string_view response);

enum class Outcome { pass, fail, crash, hang };
std::string_view to_string(Outcome o);

struct Attempt {
  std::vector<std::size_t> splits;
  Outcome outcome = Outcome::pass;
  std::string reason;
  int signal = 0;
  int si_code = 0;
  std::optional<std::int64_t> fault_offset;  // fault address - read buffer start
  bool isolated = true;
  bool predicted_fail = false;
};

struct Options {
  Variant variant = Variant::fixed;
  bool ipv6 = false;
  bool guard_page = true;  // read buffer followed by a PROT_NONE page
  unsigned pause_us = 0;   // extra pause after each drained piece
  std::uint64_t seed = 1;
  unsigned timeout_ms = 2000;  // per attempt
};

struct Report {
  Variant variant = Variant::fixed;
  int ways = 2;
  std::size_t response_len = 0;
  std::size_t head_len = 0;
  std::vector<std::size_t> mid_crlf;
  std::vector<std::size_t> predicted;
  std::size_t candidates = 0;  // offsets or pairs that exist
  std::vector<Attempt> attempts;
  std::size_t pass = 0, fail = 0, crash = 0, hang = 0, not_isolated = 0;
  std::size_t unpredicted_failures = 0;  // failed but not predicted
  std::size_t predicted_passes = 0;      // predicted to fail but passed
  bool matches_prediction() const { return unpredicted_failures == 0 && predicted_passes == 0; }
};

// ways == 2: every offset 1..len-1. ways == 3: every pair a < b, or a seeded
// uniform sample of max_pairs of them when there are more.
// Throws std::runtime_error when the loopback server cannot be set up.
Report run(const Options& opt, int ways, std::size_t max_pairs);

// Runs one attempt against a fresh loopback listener (used by tests).
Attempt run_one(const Options& opt, const std::vector<std::size_t>& splits);

nlohmann::json to_json(const Report& r);
// Human summary: counts, the failing offsets, the prediction and the verdict.
std::string format(const Report& r);

}  // namespace faultline::wssplit::sweep
