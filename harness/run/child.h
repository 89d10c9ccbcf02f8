// One attempt: run the target once as a child process, capture how it ended,
// classify it and build its ResultRecord.
//
// Contract:
//  - The child runs in its own process group with stdout/stderr redirected
//    to files in `attempt_dir`, FAULTLINE_CRASH_FD naming the write end of a
//    pipe the parent drains on a thread, and (unless it is a sanitizer build,
//    whose runtime must come first, or it runs under rr) LD_PRELOAD of
//    libfaultline_crash.so. It may ptrace-attach-able by any process
//    (PR_SET_PTRACER_ANY) so gdb can collect hang stacks under Yama.
//  - On timeout: gdb collects every thread's stack and, if the target exports
//    faultline_dump_fibers(int fd), the fiber states (written to the crash
//    pipe); then the whole process group is SIGKILLed. Outcome `hang`.
//  - The raw capture (crash.txt: the crash library's block) is written to
//    `attempt_dir` as soon as the child is reaped, before symbolisation, so a
//    harness that dies during the slow part leaves the evidence behind.
//  - Interrupt: when `interrupted` becomes true the child group is killed and
//    the attempt recorded as `error` ("interrupted").
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "harness/record/result_record.h"

namespace faultline::harness {

enum class RrMode { off, on, chaos };

struct ChildOptions {
  std::vector<std::string> command;
  double timeout_s = 60;
  std::uint64_t memory_limit = 0;                        // bytes of address space (RLIMIT_AS); 0 = none
  bool core = false;                                     // allow core dumps (kept for failing runs only)
  std::string crash_lib;                                 // path of libfaultline_crash.so; empty = no in-process capture
  std::vector<std::pair<std::string, std::string>> env;  // extra environment
  RrMode rr = RrMode::off;
  bool hang_stacks = true;
  double gdb_timeout_s = 60;
  bool keep_passing = false;  // keep stdout/stderr of passing attempts
};

// Where libfaultline_crash.so is: $FAULTLINE_CRASH_LIB, else the build's own.
std::string default_crash_lib();

// True when the executable links a sanitizer runtime that refuses to come
// after a preloaded library (ASan, TSan, MSan, HWASan).
bool has_sanitizer_runtime(const std::string& executable);

// Resolves argv[0] through PATH like execvp would; unchanged when not found.
std::string resolve_executable(const std::string& name);

// The build an executable came from when it lives in a CMake build tree:
// type, compiler id-version and flags from the tree's CMakeCache.txt and
// CMakeFiles/<version>/CMakeCXXCompiler.cmake; preset = the tree's directory
// name when it has a CMakePresets-style parent "build/". Empty fields when unknown.
record::BuildInfo infer_build(const std::string& executable);

// Runs one attempt. `rec` arrives pre-filled (run_id, scenario, variant, build,
// environment) and leaves with outcome, exit_code, duration, summary, crash,
// sanitizer, hang, artifacts.
void run_attempt(const ChildOptions& opt, const std::filesystem::path& attempt_dir, record::ResultRecord& rec,
                 const std::atomic<bool>* interrupted = nullptr);

}  // namespace faultline::harness
