// Failure signatures: which failures are the same bug.
//
// Contract: a signature is the outcome kind (plus the signal name for
// crashes and the sanitizer kind for sanitizer reports) and the top N frames
// of the failing thread after normalisation. Normalisation removes what
// differs between runs of one bug (addresses, offsets, template arguments,
// `(anonymous namespace)`, clone suffixes, inlined-frame markers) and drops
// frames that never identify a bug (the harness's own capture frames, libc
// start/abort/raise, signal trampolines, sanitizer runtimes, unwinders).
// A failure without usable frames falls back to its scenario name, so 500
// runs of one bug are one entry either way.
//
// Frames are accepted as strings (gdb/backtrace_symbols/sanitizer lines) or
// objects ({function|func|symbol|name, file, line, module|object|library,
// address|pc|ip, inlined}).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "reports/load.h"

namespace faultline::reports {

inline constexpr std::size_t kSignatureFrames = 5;

struct Frame {
  std::string function;  // normalised name, "" when unknown
  std::string raw;       // as recorded, for the backtrace section
  std::string file;
  int line = 0;
  std::string module;
  bool inlined = false;
};

// Collapses one symbol name: see the file comment for what is removed.
std::string normalize_function(const std::string& name);
// Parses a recorded frame (string or object) into a Frame.
Frame parse_frame(const nlohmann::json& j);
// True for frames that are noise: harness capture, libc, trampolines, runtimes.
bool is_noise_frame(const Frame& f);

// The failing thread's frames as recorded (unfiltered), best source first:
// crash.backtrace / crash.frames / the crashed thread in crash.threads, then
// sanitizer.frames, then the first (or flagged) thread of hang.threads.
std::vector<Frame> failing_frames(const record::ResultRecord& r);
// The signal name ("SIGSEGV") from crash.signal (number or name) or
// crash.signal_name, or the exit code's 128+N convention; "" when unknown.
std::string signal_name(const record::ResultRecord& r);

struct Signature {
  std::string id;                   // 12 hex digits, stable across runs and machines
  std::string key;                  // the full grouping key (kind|frames or kind|scenario)
  std::string kind;                 // outcome name, e.g. "crash"
  std::string signal;               // "SIGSEGV", or the sanitizer kind, or ""
  std::vector<std::string> frames;  // normalised top frames (may be empty)
  std::string scenario_fallback;    // set when frames were empty
  std::string title;
  std::vector<std::size_t> runs;  // indices into RunSet::runs
};

Signature signature_of(const record::ResultRecord& r, std::size_t top_n = kSignatureFrames);

// Groups every failing run of the set; result ordered by run count, largest first.
std::vector<Signature> group_failures(const RunSet& set, std::size_t top_n = kSignatureFrames);

}  // namespace faultline::reports
