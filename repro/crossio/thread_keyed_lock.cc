// crossio/thread-keyed-lock
//
// Real bug: a connection pool built for threads — a recursive lock keyed by
// the OS thread id, and a connection cached per thread — was used from
// fibers. Two fibers on one scheduler thread share a thread id, so the lock
// admitted both at once and they shared (and one closed) the same cached
// connection: heap corruption found hours into a run.
//
// broken: the thread-keyed recursive lock; fiber A takes the thread's cached
//         connection and parks mid-request, fiber B (same thread) is admitted
//         too, uses the same connection and closes it → A resumes on a freed
//         connection: the canary check reports it (ASan builds: a
//         heap-use-after-free).
// checked: the same thread-era lock built on a Threaded (OS) mutex, with the
//          affinity checker on: the first fiber to take it is reported — an
//          OS lock on a scheduler thread.
// fixed:  a lock keyed by task (the Evented mutex: ownership per fiber, the
//         second fiber parks), connections owned by the request.
#include <pthread.h>

#include <chrono>
#include <cstdint>

#include "io/affinity.h"
#include "io/io.h"
#include "repro/common/repro_main.h"
#include "repro/crossio/quarantine.h"

using namespace faultline;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kCanary = 0x0123456789abcdefULL;

struct Connection {
  std::uint64_t canary = kCanary;
  std::uint64_t request_owner = 0;
  char buffer[256] = {};
};

// The thread-era lock: re-entrant for the owning *thread*, over an OS mutex
// (an io::Mutex of the Threaded backend, so the affinity checker can see it).
class ThreadKeyedRecursiveLock {
 public:
  explicit ThreadKeyedRecursiveLock(io::Mutex& m) : m_(m) {}
  void lock() {
    if (owned_ && pthread_equal(owner_, pthread_self())) {
      ++depth_;
      return;
    }
    m_.lock();
    owner_ = pthread_self();
    owned_ = true;
    depth_ = 1;
  }
  void unlock() {
    if (--depth_ == 0) {
      owned_ = false;
      m_.unlock();
    }
  }

 private:
  io::Mutex& m_;
  pthread_t owner_{};
  bool owned_ = false;
  int depth_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  repro::ReproSpec spec{
      "crossio/thread-keyed-lock",
      "a lock keyed by thread id admits two fibers of one thread: a shared connection is freed in use",
      {"broken", "checked", "fixed"},
      "broken",
      200,
      4};
  return repro::repro_main(argc, argv, spec, [](const repro::ReproArgs& args, record::ResultRecord& rec) {
    io::set_affinity_mode(args.variant == "checked" ? io::AffinityMode::check : io::AffinityMode::off);
    auto threaded = io::Io::create({.backend = io::Backend::threaded});
    auto os_mutex = threaded->make_mutex("pool.thread_lock");
    auto io = io::Io::create({.backend = io::Backend::evented, .scheduler_threads = 1});
    ThreadKeyedRecursiveLock thread_lock(*os_mutex);
    auto fiber_lock = io->make_mutex("pool.lock");
    Connection* cached = nullptr;  // the per-thread cached connection
    repro::Quarantine quarantine;
    long corrupted = 0, requests = 0;
    const bool broken = args.variant != "fixed";
    std::vector<io::TaskHandle> fibers;
    for (unsigned f = 1; f <= args.fibers; ++f)
      fibers.push_back(io->spawn([&, f] {
        for (std::uint64_t i = 0; i < args.iterations; ++i) {
          if (broken)
            thread_lock.lock();
          else
            fiber_lock->lock();
          Connection* c = cached ? cached : (cached = new Connection);
          c->request_owner = f;
          io->sleep_for(50us);  // waiting for the database while holding the lock
          // Still ours? Canary intact (not freed) and nobody else's request.
          if (c->canary != kCanary || c->request_owner != f) ++corrupted;
          // End of request: close the connection (the pool reopens lazily).
          if (cached == c) cached = nullptr;
          if (c->canary == kCanary) quarantine.retire(c);  // else another fiber already closed it
          ++requests;
          if (broken)
            thread_lock.unlock();
          else
            fiber_lock->unlock();
        }
      }));
    for (auto& h : fibers) h.join();
    rec.details["requests"] = requests;
    rec.details["corrupted_requests"] = corrupted;
    rec.outcome = corrupted == 0 ? record::Outcome::pass : record::Outcome::fail;
    rec.summary = std::to_string(corrupted) + " of " + std::to_string(requests) +
                  " requests found their connection freed or taken by another fiber";
  });
}
