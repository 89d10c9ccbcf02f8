// ctxswitch/tls-migration — a fiber migrates to another thread while the
// compiler keeps a thread-local's address from before the switch.
//
// Real-world bug: every M:N fiber runtime that moves fibers between threads
// (work stealing, or resuming on whichever scheduler thread is free). gcc and
// LLVM treat the thread pointer (%fs base) as constant for the duration of a
// function, so `&thread_local_var` computed before a context switch is reused
// after it (gcc PR 26461; LLVM grew llvm.threadlocal.address in LLVM 16 for
// C++20 coroutines for the same reason). After a migration the fiber then
// reads and writes the *previous* thread's copy: a scheduler pointer, an
// allocator cache or an io_uring ring that belongs to another thread.
//
// Broken variant: the fiber passes `&tls_tag` (materialised inline) to an
// out-of-line observer just before and just after every switch; each switch
// migrates it to the other of two OS threads. The observer compares the tag it
// was given with the thread it is really running on; a mismatch is a stale
// thread-local. At -O0 the address is recomputed at every use, so this needs
// an optimising build; whether it reproduces is measured, never assumed: a run
// where no read was stale passes with details.reproduced = false and says so.
//
// Fix: never let a thread-local's address live across a switch — reach it
// through a non-inlined accessor whose result the optimiser cannot predict
// (`current_tag`), so each use after a switch recomputes it on the thread
// that runs it.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "repro/ctxswitch/raw_context.h"

namespace fc = faultline::repro::ctxswitch;

namespace {

struct ThreadTag {
  unsigned thread;  // 1 or 2 on a scheduler thread, 0 elsewhere
};
thread_local ThreadTag tls_tag{0};

struct MFiber {
  fc::Context ctx;
  fc::Stack stack{64 * 1024};
  fc::Context* sched = nullptr;
  unsigned running_on = 0;
  unsigned index = 0;
  std::uint64_t digest = 0;
  std::uint64_t observations = 0;
  std::uint64_t stale = 0;
  std::uint64_t migrations = 0;
  const ThreadTag* last_seen = nullptr;
  std::uint64_t address_changes = 0;
  bool started = false;
  bool done = false;
};

// Records the address itself, not only the value behind it, and is called
// only through `observer` below: an opaque pointer, as a function in another
// translation unit would be. Otherwise gcc and clang see that its argument is
// always &tls_tag and rewrite it (IPA-SRA, IPA-CP, argument promotion) to
// re-read %fs inside, which hides the address the fiber really holds.
void observe_tag(const ThreadTag* seen, MFiber* f) {
  ++f->observations;
  if (seen->thread != f->running_on) ++f->stale;
  if (seen != f->last_seen) ++f->address_changes;
  f->last_seen = seen;
}
void (*volatile observer)(const ThreadTag*, MFiber*) = observe_tag;

// Not inlined, and its result is laundered through an asm the optimiser cannot
// see into. Both halves matter, and neither alone is enough:
//  - inlined, `&tls_tag` is computed in the caller and cached across the
//    switch like any other use;
//  - noinline alone: gcc infers the function is `const` and CSEs calls to it
//    across the switch; clang 14 propagates its return value — in LLVM IR
//    before 16 a thread-local's address is a *constant* (no
//    llvm.threadlocal.address yet) — back into the caller, where it is
//    materialised once and cached across the switch again (measured: stale
//    reads at -O1 and above with clang 14 without the asm).
[[gnu::noinline]] ThreadTag* current_tag() {
  ThreadTag* p = &tls_tag;
  asm volatile("" : "+r"(p));
  return p;
}

class BlockingQueue {
 public:
  void push(MFiber* f) {
    {
      std::lock_guard lock(m_);
      q_.push_back(f);
    }
    cv_.notify_one();
  }
  // nullptr once closed and drained.
  MFiber* pop() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return closed_ || !q_.empty(); });
    if (q_.empty()) return nullptr;
    MFiber* f = q_.front();
    q_.pop_front();
    return f;
  }
  void close() {
    {
      std::lock_guard lock(m_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<MFiber*> q_;
  bool closed_ = false;
};

// Two scheduler threads; every yield moves the fiber to the other one.
template <bool kBroken>
class Migrator {
 public:
  explicit Migrator(const fc::Params& p) : params_(p), fibers_(p.fibers) {
    for (unsigned k = 0; k < p.fibers; ++k) {
      fibers_[k].index = k;
      fc::prepare(fibers_[k].ctx, fibers_[k].stack, &entry, fc::EntryAlignment::abi);
      queues_[0].push(&fibers_[k]);  // first resumes all happen on thread 1
    }
  }

  void run() {
    self_ = this;
    std::thread t1([this] { worker(0); });
    std::thread t2([this] { worker(1); });
    t1.join();
    t2.join();
  }

  const std::vector<MFiber>& fibers() const { return fibers_; }

 private:
  void worker(unsigned me) {
    tls_tag.thread = me + 1;
    fc::Context sched;
    while (MFiber* f = queues_[me].pop()) {
      f->running_on = me + 1;
      f->sched = &sched;
      if (!f->started) {
        f->started = true;
        entering_ = f;
      }
      fc::switch_full(&sched, &f->ctx);
      if (f->done) {
        if (done_.fetch_add(1) + 1 == params_.fibers) {
          queues_[0].close();
          queues_[1].close();
        }
      } else {
        ++f->migrations;
        queues_[1 - me].push(f);
      }
    }
  }

  [[noreturn]] static void entry() {
    MFiber* f = entering_;
    auto yield = [f] { fc::switch_full(&f->ctx, f->sched); };
    std::uint64_t digest;
    if constexpr (kBroken) {
      digest = fc::fiber_loop(f->index, self_->params_, yield, [f] { observer(&tls_tag, f); });
    } else {
      digest = fc::fiber_loop(f->index, self_->params_, yield, [f] { observer(current_tag(), f); });
    }
    f->digest = digest;
    f->done = true;
    fc::switch_full(&f->ctx, f->sched);
    std::abort();  // a finished fiber is never resumed
  }

  static inline Migrator* self_ = nullptr;
  static inline MFiber* entering_ = nullptr;

  fc::Params params_;
  std::vector<MFiber> fibers_;
  BlockingQueue queues_[2];
  std::atomic<unsigned> done_{0};
};

template <bool kBroken>
void run_variant(const fc::Params& p, faultline::record::ResultRecord& rec) {
  Migrator<kBroken> m(p);
  m.run();
  std::vector<std::uint64_t> digests;
  std::uint64_t observations = 0, stale = 0, migrations = 0, address_changes = 0;
  for (const MFiber& f : m.fibers()) {
    digests.push_back(f.digest);
    observations += f.observations;
    stale += f.stale;
    migrations += f.migrations;
    address_changes += f.address_changes;
  }
  fc::judge(p, digests, rec);
  rec.details["migrations"] = migrations;
  rec.details["tls_observations"] = observations;
  rec.details["stale_tls_observations"] = stale;
  rec.details["tls_address_changes"] = address_changes;
  rec.details["reproduced"] = stale > 0;
  if (rec.outcome != faultline::record::Outcome::pass) return;
  if (stale > 0) {
    rec.outcome = faultline::record::Outcome::fail;
    rec.summary = std::to_string(stale) + " of " + std::to_string(observations) + " thread-local reads after " +
                  std::to_string(migrations) +
                  " migrations went to the previous thread's copy (address cached across the switch)";
  } else if (kBroken) {
    rec.summary =
        "did not reproduce on this toolchain/build: the thread-local address was recomputed after "
        "every one of " +
        std::to_string(migrations) + " migrations";
  } else {
    rec.summary = "every thread-local read after " + std::to_string(migrations) +
                  " migrations saw the running thread's copy; checksum matches";
  }
}

}  // namespace

int main(int argc, char** argv) {
  faultline::repro::ReproSpec spec{
      "ctxswitch/tls-migration",
      "fiber migrates between threads while a thread-local's address is cached across the switch",
      {"broken", "fixed"},
      "broken",
      2000,
      4};
  return faultline::repro::repro_main(argc, argv, spec, [](const auto& args, auto& rec) {
    fc::note_build(rec);
    fc::arm_watchdog(args);
    fc::Params p = fc::params_from(args);
    rec.details["threads"] = 2;
    faultline::repro::print_progress("ctxswitch/tls-migration [" + args.variant + "]: " + std::to_string(p.fibers) +
                                     " fibers x " + std::to_string(p.iterations) + " migrations over 2 threads");
    if (args.variant == "broken")
      run_variant<true>(p, rec);
    else
      run_variant<false>(p, rec);
  });
}
