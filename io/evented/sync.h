// The Evented backend's primitives: they park the calling fiber, never the
// thread. Must be used from fibers (checked by the affinity checker; with the
// checker off, use from a plain thread dereferences the NULL scheduler
// thread-local — the production crash the crossio repros show).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "io/detail/primitives.h"
#include "io/evented/fiber.h"

namespace faultline::io::evented {

struct FiberPolicy {
  static constexpr Backend kBackend = Backend::evented;
  static void check_use(const Primitive& p, std::string_view op);
  static void check_block(const Primitive&, std::string_view) {}
  // The running fiber, from the scheduler thread-local (NULL off scheduler
  // threads: deliberately not guarded, see above).
  static detail::Parker& parker(const Primitive& p, std::string_view op);
  static void park(detail::Parker& p, std::uint64_t token, detail::Deadline d, bool cancellable, const char* reason);
};

// A fiber mutex: uncontended lock/unlock are one atomic each way; a contended
// lock parks the fiber, and unlock hands ownership straight to the first
// waiter (no barging past a parked fiber, so no starvation).
class FiberMutex final : public Mutex {
 public:
  explicit FiberMutex(std::string name) : Mutex(std::move(name)) {}
  Backend backend() const override { return Backend::evented; }
  void lock() override;
  bool try_lock() override;
  void unlock() override;

 private:
  std::atomic<int> state_{0};  // 0 free, 1 held, 2 held with (possible) waiters
  std::mutex mu_;
  detail::WaitList waiters_;
};

using FiberCondition = detail::BasicCondition<FiberPolicy>;
using FiberEvent = detail::BasicEvent<FiberPolicy>;
using FiberSemaphore = detail::BasicSemaphore<FiberPolicy>;

}  // namespace faultline::io::evented
