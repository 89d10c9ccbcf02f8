#include "io/affinity.h"

#include <execinfo.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace faultline::io {
namespace {

AffinityMode initial_mode() {
  if (const char* env = std::getenv("FAULTLINE_AFFINITY")) {
    if (std::strcmp(env, "check") == 0) return AffinityMode::check;
    if (std::strcmp(env, "off") == 0) return AffinityMode::off;
    std::fprintf(stderr, "faultline: ignoring FAULTLINE_AFFINITY=%s (expected check or off)\n", env);
  }
#if !defined(NDEBUG) || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return AffinityMode::check;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return AffinityMode::check;
#else
  return AffinityMode::off;
#endif
#else
  return AffinityMode::off;
#endif
}

std::atomic<AffinityMode> mode{initial_mode()};
thread_local ThreadRole role = ThreadRole::plain;

}  // namespace

AffinityMode affinity_mode() {
  return mode.load(std::memory_order_relaxed);
}
void set_affinity_mode(AffinityMode m) {
  mode.store(m, std::memory_order_relaxed);
}

ThreadRole current_thread_role() {
  return role;
}

std::string_view to_string(ThreadRole r) {
  switch (r) {
    case ThreadRole::plain:
      return "a plain thread";
    case ThreadRole::scheduler:
      return "a fiber scheduler thread (Evented)";
    case ThreadRole::bridge_worker:
      return "a bridge worker thread (Threaded)";
    case ThreadRole::threaded_task:
      return "a Threaded task thread";
  }
  return "?";
}

namespace detail {

void set_current_thread_role(ThreadRole r) {
  role = r;
}

void affinity_violation(const Primitive& p, std::string_view operation, std::string_view problem) {
  const bool evented = p.backend() == Backend::evented;
  std::string msg = "faultline: affinity violation: " + std::string(problem) +
                    "\n  primitive: " + std::string(evented ? "Evented" : "Threaded") + " '" + p.name() +
                    "', operation " + std::string(operation) + "\n  expected: " +
                    (evented ? "a fiber on an Evented scheduler thread"
                             : "a thread that may block (a Threaded task, a bridge worker, a plain thread)") +
                    "\n  actual:   " + std::string(to_string(role)) + "\n  fix: " +
                    (evented ? "hand the work to a fiber, or use a Threaded primitive on this side of the bridge"
                             : "reach blocking work through Io::offload (the bridge) instead of blocking the "
                               "scheduler thread") +
                    "\n  call stack:\n";
  std::fputs(msg.c_str(), stderr);
  std::fflush(stderr);
  void* frames[64];
  int n = ::backtrace(frames, 64);
  ::backtrace_symbols_fd(frames, n, STDERR_FILENO);
  std::abort();
}

}  // namespace detail
}  // namespace faultline::io
