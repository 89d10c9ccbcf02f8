// Small process helpers for the harness: run a helper tool (gdb, objdump, rr,
// cmake, git) with a hard time limit and capture its output. Used for the
// slow, optional work around a target run, never for the target itself (see
// child.h for that).
//
// Contract: run_capture never blocks longer than `timeout_s` (+ a short grace
// for killing); the helper runs in its own process group, which is killed
// whole on timeout; stdout and stderr are merged; output is capped at
// `max_bytes` (the helper is still drained so it cannot block on a full pipe).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace faultline::harness {

struct Captured {
  int exit_code = -1;  // -1 when killed by a signal or not started
  int signal = 0;      // the signal that ended it, if any
  bool timed_out = false;
  bool started = false;
  std::string output;
};

// This process's environment with `overrides` replacing (or adding) their
// variables, as KEY=VALUE strings for execve.
std::vector<std::string> environment_with(const std::vector<std::pair<std::string, std::string>>& overrides);

Captured run_capture(const std::vector<std::string>& argv, double timeout_s,
                     const std::vector<std::pair<std::string, std::string>>& env = {}, std::size_t max_bytes = 4 << 20,
                     const std::string& cwd = {});

// True when `name` resolves to an executable on PATH (or is an executable path).
bool have_program(const std::string& name);

// Reads a whole (small) file; empty when unreadable.
std::string read_file(const std::string& path, std::size_t max_bytes = 16 << 20);

// Monotonic seconds.
double now_s();

}  // namespace faultline::harness
