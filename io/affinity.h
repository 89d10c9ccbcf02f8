// The affinity checker — "lockdep for backends".
//
// Every primitive knows its backend. In checked mode:
//   - an Evented primitive used from a thread that is not a scheduler thread,
//   - a scheduler thread about to block on a Threaded primitive,
// aborts with one message naming the primitive, the expected and the actual
// backend, and the caller's stack — instead of the NULL dereference or the
// silent deadlock the misuse would otherwise cause.
//
// Mode: checked by default in Debug and sanitizer builds, off in optimised
// builds; $FAULTLINE_AFFINITY=check|off overrides at start-up and
// set_affinity_mode() at run time (the crossio repros turn it off to show the
// raw failure).
#pragma once

#include <string_view>

#include "io/sync.h"

namespace faultline::io {

enum class AffinityMode { off, check };

AffinityMode affinity_mode();
void set_affinity_mode(AffinityMode m);

// What kind of thread the caller is on.
enum class ThreadRole { plain, scheduler, bridge_worker, threaded_task };
ThreadRole current_thread_role();
std::string_view to_string(ThreadRole r);

namespace detail {
void set_current_thread_role(ThreadRole r);
// Prints the diagnostic (with a backtrace) to stderr and aborts.
[[noreturn]] void affinity_violation(const Primitive& p, std::string_view operation, std::string_view problem);
// Evented primitives call this on entry.
inline void check_evented_use(const Primitive& p, std::string_view op) {
  if (affinity_mode() == AffinityMode::check && current_thread_role() != ThreadRole::scheduler)
    affinity_violation(p, op, "an Evented primitive used from a thread that is not a fiber scheduler thread");
}
// Threaded primitives call this before they block.
inline void check_threaded_block(const Primitive& p, std::string_view op) {
  if (affinity_mode() == AffinityMode::check && current_thread_role() == ThreadRole::scheduler)
    affinity_violation(p, op, "a fiber scheduler thread about to block on a Threaded primitive");
}
}  // namespace detail

}  // namespace faultline::io
