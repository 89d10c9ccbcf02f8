// Event log figures: append throughput (300-byte frames, batches of 64) under
// each fsync policy, and read_after throughput (random cursors and a full
// replay). The log lives under $RELAY_STORE_BENCH_DIR, else $TMPDIR, else
// /tmp, in a fresh directory removed afterwards; the fsync figures depend on
// that directory's device.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <system_error>

#include "relay/store/event_log.h"

namespace faultline::relay::store {
namespace {

namespace fs = std::filesystem;
using Policy = EventLog::FsyncPolicy;

fs::path bench_dir() {
  fs::path base = fs::temp_directory_path();
  if (const char* d = std::getenv("RELAY_STORE_BENCH_DIR"); d && *d) base = d;
  std::string tmpl = (base / "fl-relay-store-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
  return tmpl;
}

struct Frames {
  explicit Frames(std::size_t n, std::size_t size) : bytes(n, std::vector<std::byte>(size)) {
    std::mt19937 rng(1);
    for (auto& f : bytes)
      for (auto& b : f) b = static_cast<std::byte>(rng());
    for (std::size_t i = 0; i < n; ++i) batch.push_back(PendingEvent{.kind = 1, .uid = i, .frame = bytes[i]});
  }
  std::vector<std::vector<std::byte>> bytes;
  std::vector<PendingEvent> batch;
};

void BM_Append(benchmark::State& state) {
  const auto policy = static_cast<Policy>(state.range(0));
  const fs::path dir = bench_dir();
  {
    EventLog::Options opt;
    opt.fsync = policy;
    auto log = EventLog::open(dir, opt);
    if (!log.ok()) {
      state.SkipWithError(log.status().to_string().c_str());
      return;
    }
    Frames frames(64, 300);
    for (auto _ : state) {
      auto r = log->append(frames.batch);
      if (!r.ok()) {
        state.SkipWithError(r.status().to_string().c_str());
        break;
      }
    }
    state.SetItemsProcessed(state.iterations() * 64);
    state.SetBytesProcessed(state.iterations() * 64 * 300);
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_Append)
    ->ArgName("fsync")  // 0 every_batch, 1 interval (100 ms), 2 never
    ->Arg(static_cast<int>(Policy::every_batch))
    ->Arg(static_cast<int>(Policy::interval))
    ->Arg(static_cast<int>(Policy::never))
    ->UseRealTime();

// A log of 200,000 events of 300 bytes (20 segments), shared by the read benchmarks.
struct ReadFixture {
  ReadFixture() : dir(bench_dir()) {
    EventLog::Options opt;
    opt.fsync = Policy::never;
    auto l = EventLog::open(dir, opt);
    if (!l.ok()) std::abort();
    Frames frames(64, 300);
    while (l->last_seq() < kEvents) {
      if (!l->append(frames.batch).ok()) std::abort();
    }
    log.emplace(std::move(*l));
  }
  ~ReadFixture() {
    log.reset();
    fs::remove_all(dir);
  }
  static constexpr std::int64_t kEvents = 200'000;
  fs::path dir;
  std::optional<EventLog> log;
};

ReadFixture& read_fixture() {
  static ReadFixture f;
  return f;
}

// read_after(random cursor, N): locate + read N events (page cache warm).
void BM_ReadAfterRandomCursor(benchmark::State& state) {
  auto& f = read_fixture();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::mt19937_64 rng(3);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::int64_t cursor = static_cast<std::int64_t>(rng() % (ReadFixture::kEvents - n));
    auto r = f.log->read_after(cursor, n, [&](const Event& e) {
      bytes += e.frame.size();
      return true;
    });
    if (!r.ok() || *r != n) {
      state.SkipWithError("short read");
      break;
    }
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_ReadAfterRandomCursor)->Arg(1)->Arg(100)->Arg(1000);

// A consumer replaying the whole log from cursor 0 in chunks of 1,000.
void BM_ReplayAll(benchmark::State& state) {
  auto& f = read_fixture();
  for (auto _ : state) {
    std::int64_t cursor = 0;
    for (int i = 0; i < 1000 && cursor < ReadFixture::kEvents; ++i) {
      auto r = f.log->read_after(cursor, 1000, [&](const Event& e) {
        cursor = e.seq;
        return true;
      });
      if (!r.ok()) {
        state.SkipWithError(r.status().to_string().c_str());
        return;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * ReadFixture::kEvents);
  state.SetBytesProcessed(state.iterations() * ReadFixture::kEvents * 300);
}
BENCHMARK(BM_ReplayAll)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace faultline::relay::store

BENCHMARK_MAIN();
