#include "relay/store/event_log.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <random>
#include <thread>

#include "relay/store/tests/test_util.h"

namespace faultline::relay::store {
namespace {

using namespace std::chrono_literals;
using testing::frame_for;
using testing::size_for;
using testing::TempDir;
using Policy = EventLog::FsyncPolicy;

EventLog::Options small_options(std::int64_t per_segment, Policy policy = Policy::never) {
  EventLog::Options o;
  o.events_per_segment = per_segment;
  o.index_interval = 3;
  o.fsync = policy;
  return o;
}

// Appends events seq = next_seq() .. + n - 1 with frames frame_for(seq, size_for(seq, max)).
SeqRange append_n(EventLog& log, std::size_t n, std::size_t max_size = 64) {
  std::vector<std::vector<std::byte>> frames;
  std::vector<PendingEvent> batch;
  const std::int64_t first = log.next_seq();
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t seq = first + static_cast<std::int64_t>(i);
    frames.push_back(frame_for(seq, size_for(seq, max_size)));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t seq = first + static_cast<std::int64_t>(i);
    batch.push_back(PendingEvent{.kind = static_cast<std::uint32_t>(seq % 5),
                                 .flags = static_cast<std::uint32_t>(seq % 3),
                                 .uid = static_cast<std::uint64_t>(seq * 10),
                                 .frame = frames[i]});
  }
  auto r = log.append(batch);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : SeqRange{};
}

// Checks that `events` are exactly seqs [first, first + events.size()) as append_n wrote them.
void expect_events(const std::vector<StoredEvent>& events, std::int64_t first, std::size_t max_size = 64) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::int64_t seq = first + static_cast<std::int64_t>(i);
    const StoredEvent& e = events[i];
    ASSERT_EQ(e.seq, seq);
    EXPECT_EQ(e.kind, static_cast<std::uint32_t>(seq % 5));
    EXPECT_EQ(e.flags, static_cast<std::uint32_t>(seq % 3));
    EXPECT_EQ(e.uid, static_cast<std::uint64_t>(seq * 10));
    ASSERT_EQ(e.frame, frame_for(seq, size_for(seq, max_size))) << "seq " << seq;
  }
}

TEST(EventLog, EmptyDirStartsAtOne) {
  TempDir dir;
  auto log = EventLog::open(dir.path() / "log", small_options(10));
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_EQ(log->last_seq(), 0);
  EXPECT_EQ(log->next_seq(), 1);
  EXPECT_EQ(log->oldest_seq(), 1);
  std::vector<StoredEvent> out;
  ASSERT_TRUE(log->read_after(0, 100, out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(log->segment_paths().empty());

  auto empty = log->append({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0);
  EXPECT_EQ(empty->first, 1);

  const SeqRange r = append_n(*log, 3);
  EXPECT_EQ(r.first, 1);
  EXPECT_EQ(r.last, 3);
  EXPECT_EQ(log->last_seq(), 3);
  EXPECT_EQ(log->oldest_seq(), 1);
  ASSERT_EQ(log->segment_paths().size(), 1u);
  EXPECT_EQ(log->segment_paths()[0].filename(), "events-00000000000000000001.log");
}

TEST(EventLog, ReadAfterEveryCursorAcrossSegmentBoundaries) {
  TempDir dir;
  auto log = EventLog::open(dir.path(), small_options(10));
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  // Batches of 7 straddle the 10-event segment boundaries.
  for (int b = 0; b < 13; ++b) append_n(*log, 7);
  append_n(*log, 4);
  ASSERT_EQ(log->last_seq(), 95);
  const auto paths = log->segment_paths();
  ASSERT_EQ(paths.size(), 10u);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    EXPECT_EQ(paths[i].filename(), EventLog::segment_file_name(static_cast<std::int64_t>(i) * 10 + 1));
  }
  // Cursors: before the start, 0, inside, either side of every boundary, last, beyond.
  for (std::int64_t cursor = -2; cursor <= 98; ++cursor) {
    for (std::size_t max : {std::size_t{1}, std::size_t{3}, std::size_t{10}, std::size_t{11}, std::size_t{1000}}) {
      std::vector<StoredEvent> out;
      auto n = log->read_after(cursor, max, out);
      ASSERT_TRUE(n.ok()) << n.status().to_string();
      const std::int64_t from = std::max<std::int64_t>(cursor, 0) + 1;
      const std::int64_t expect = std::clamp<std::int64_t>(95 - from + 1, 0, static_cast<std::int64_t>(max));
      ASSERT_EQ(static_cast<std::int64_t>(*n), expect) << "cursor " << cursor << " max " << max;
      ASSERT_EQ(out.size(), *n);
      expect_events(out, from);
    }
  }
}

TEST(EventLog, CallbackCanStopEarly) {
  TempDir dir;
  auto log = EventLog::open(dir.path(), small_options(10));
  ASSERT_TRUE(log.ok());
  append_n(*log, 30);
  std::vector<std::int64_t> seen;
  auto n = log->read_after(5, 100, [&](const Event& e) {
    seen.push_back(e.seq);
    return e.seq < 14;
  });
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 9u);
  ASSERT_EQ(seen.size(), 9u);
  EXPECT_EQ(seen.front(), 6);
  EXPECT_EQ(seen.back(), 14);
}

TEST(EventLog, ReopenKeepsEventsAndContinuesTheSequence) {
  TempDir dir;
  {
    auto log = EventLog::open(dir.path(), small_options(10, Policy::interval));
    ASSERT_TRUE(log.ok());
    append_n(*log, 25);
  }
  {
    auto log = EventLog::open(dir.path(), small_options(10, Policy::every_batch));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ(log->last_seq(), 25);
    EXPECT_EQ(log->recovery().events_kept, 5);
    EXPECT_EQ(log->recovery().bytes_truncated, 0u);
    EXPECT_EQ(append_n(*log, 10).first, 26);  // fills segment 21 and starts 31
    EXPECT_EQ(log->synced_seq(), 35);
  }
  auto log = EventLog::open(dir.path(), small_options(10));
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->last_seq(), 35);
  // Sealed segments loaded from disk are indexed lazily on first read.
  for (std::int64_t cursor : {0, 4, 10, 17, 29, 30, 34}) {
    std::vector<StoredEvent> out;
    ASSERT_TRUE(log->read_after(cursor, 1000, out).ok());
    ASSERT_EQ(static_cast<std::int64_t>(out.size()), 35 - cursor);
    expect_events(out, cursor + 1);
  }
}

TEST(EventLog, FullLastSegmentOnReopenRollsToANewOne) {
  TempDir dir;
  {
    auto log = EventLog::open(dir.path(), small_options(10));
    ASSERT_TRUE(log.ok());
    append_n(*log, 20);
  }
  auto log = EventLog::open(dir.path(), small_options(10));
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->segment_paths().size(), 2u);
  EXPECT_EQ(append_n(*log, 1).first, 21);
  EXPECT_EQ(log->segment_paths().size(), 3u);
  std::vector<StoredEvent> out;
  ASSERT_TRUE(log->read_after(0, 100, out).ok());
  ASSERT_EQ(out.size(), 21u);
  expect_events(out, 1);
}

// Frames bigger than the reader's 256 KiB chunk, in sealed segments (indexed
// lazily after a reopen), the segment before the last (scanned at open) and
// the active one.
TEST(EventLog, FramesBiggerThanTheReadChunk) {
  TempDir dir;
  const std::size_t sizes[] = {10, 700'000, 20, 300'000, 1'000'000, 5, 262'100, 0, 4'999'999, 77};
  auto opt = small_options(3);
  {
    auto log = EventLog::open(dir.path(), opt);
    ASSERT_TRUE(log.ok());
    for (std::size_t i = 0; i < std::size(sizes); ++i) {
      const auto f = frame_for(static_cast<std::int64_t>(i) + 1, sizes[i]);
      PendingEvent ev{.frame = f};
      ASSERT_TRUE(log->append(std::span(&ev, 1)).ok());
    }
  }
  auto log = EventLog::open(dir.path(), opt);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  ASSERT_EQ(log->last_seq(), 10);
  for (std::int64_t cursor = 0; cursor <= 10; ++cursor) {
    for (std::size_t max : {std::size_t{1}, std::size_t{100}}) {
      std::vector<StoredEvent> out;
      ASSERT_TRUE(log->read_after(cursor, max, out).ok());
      ASSERT_EQ(out.size(), std::min<std::size_t>(max, static_cast<std::size_t>(10 - cursor)));
      for (const StoredEvent& e : out) {
        ASSERT_EQ(e.frame, frame_for(e.seq, sizes[e.seq - 1])) << "seq " << e.seq;
      }
    }
  }
}

TEST(EventLog, RejectsBadInputWithoutConsumingSeqs) {
  TempDir dir;
  auto opt = small_options(10);
  opt.max_event_bytes = 100;
  auto log = EventLog::open(dir.path(), opt);
  ASSERT_TRUE(log.ok());
  append_n(*log, 2);
  std::vector<std::byte> big(101);
  std::vector<std::byte> ok(10);
  PendingEvent batch1[] = {{.frame = ok}, {.frame = big}};
  auto r = log->append(batch1);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  PendingEvent batch2[] = {{.flags = 1u << 31, .frame = ok}};
  r = log->append(batch2);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(log->last_seq(), 2);
  EXPECT_EQ(append_n(*log, 1).first, 3);
}

TEST(EventLog, RejectsBadOptions) {
  TempDir dir;
  auto o = small_options(0);
  EXPECT_EQ(EventLog::open(dir.path(), o).status().code(), Status::Code::kInvalidArgument);
  o = small_options(10);
  o.index_interval = 0;
  EXPECT_EQ(EventLog::open(dir.path(), o).status().code(), Status::Code::kInvalidArgument);
}

TEST(EventLog, SecondOpenOfTheSameDirectoryIsRefused) {
  TempDir dir;
  auto a = EventLog::open(dir.path(), small_options(10));
  ASSERT_TRUE(a.ok());
  auto b = EventLog::open(dir.path(), small_options(10));
  EXPECT_EQ(b.status().code(), Status::Code::kBusy);
  EXPECT_NE(b.status().message().find("in use"), std::string::npos) << b.status().message();
}

TEST(EventLog, IgnoresForeignFilesInTheDirectory) {
  TempDir dir;
  testing::write_file(dir.path() / "README", {std::byte{'x'}});
  testing::write_file(dir.path() / "events-12.log", {std::byte{'x'}});
  auto log = EventLog::open(dir.path(), small_options(10));
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_EQ(log->last_seq(), 0);
}

TEST(EventLog, SyncedSeqFollowsThePolicy) {
  TempDir dir;
  {
    auto log = EventLog::open(dir.path() / "a", small_options(10, Policy::every_batch));
    ASSERT_TRUE(log.ok());
    append_n(*log, 5);
    EXPECT_EQ(log->synced_seq(), 5);
  }
  {
    auto opt = small_options(10, Policy::interval);
    opt.fsync_interval = 1h;  // the flusher never fires during the test
    auto log = EventLog::open(dir.path() / "b", opt);
    ASSERT_TRUE(log.ok());
    append_n(*log, 5);
    EXPECT_EQ(log->synced_seq(), 0);
    append_n(*log, 7);  // fills the first segment: sealing syncs it
    EXPECT_EQ(log->synced_seq(), 10);
    ASSERT_TRUE(log->sync().ok());
    EXPECT_EQ(log->synced_seq(), 12);
  }
}

// ---------------------------------------------------------------------------
// Retention

struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> seconds = std::make_shared<std::atomic<std::int64_t>>(1'700'000'000);
  EventLog::Clock fn() const {
    return [s = seconds] { return std::chrono::system_clock::time_point(std::chrono::seconds(s->load())); };
  }
  std::chrono::system_clock::time_point now() const { return fn()(); }
  void advance(std::chrono::seconds d) { *seconds += d.count(); }
};

TEST(EventLog, PruneDeletesSegmentsOlderThanTheWindow) {
  TempDir dir;
  FakeClock clock;
  auto opt = small_options(10);
  opt.clock = clock.fn();
  opt.retention = 72h;
  const auto t0 = clock.now();
  {
    auto log = EventLog::open(dir.path(), opt);
    ASSERT_TRUE(log.ok());
    append_n(*log, 10);  // segment 1, newest event at t0
    clock.advance(1h);
    append_n(*log, 10);  // segment 11, at t0 + 1h
    clock.advance(1h);
    append_n(*log, 5);                     // segment 21 (active), at t0 + 2h
    EXPECT_EQ(*log->prune(t0 + 72h), 0u);  // nothing older than the window yet
    EXPECT_EQ(log->segment_paths().size(), 3u);
  }
  // The segment times survive a restart (file mtimes).
  auto log = EventLog::open(dir.path(), opt);
  ASSERT_TRUE(log.ok());
  auto pruned = log->prune(t0 + 72h + 30min);
  ASSERT_TRUE(pruned.ok()) << pruned.status().to_string();
  EXPECT_EQ(*pruned, 1u);
  EXPECT_EQ(log->oldest_seq(), 11);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / EventLog::segment_file_name(1)));
  std::vector<StoredEvent> out;
  ASSERT_TRUE(log->read_after(0, 100, out).ok());  // cursor older than the window: from the oldest
  ASSERT_EQ(out.size(), 15u);
  expect_events(out, 11);
  out.clear();
  ASSERT_TRUE(log->read_after(12, 100, out).ok());
  expect_events(out, 13);

  // Far in the future: everything but the active segment goes.
  EXPECT_EQ(*log->prune(t0 + 1000h), 1u);
  EXPECT_EQ(log->segment_paths().size(), 1u);
  EXPECT_EQ(log->oldest_seq(), 21);
  EXPECT_EQ(log->last_seq(), 25);
}

TEST(EventLog, RollingOverPrunesByItself) {
  TempDir dir;
  FakeClock clock;
  auto opt = small_options(10);
  opt.clock = clock.fn();
  opt.retention = 72h;
  auto log = EventLog::open(dir.path(), opt);
  ASSERT_TRUE(log.ok());
  append_n(*log, 30);  // three full segments at t0
  EXPECT_EQ(log->segment_paths().size(), 3u);
  clock.advance(73h);
  append_n(*log, 9);  // a new segment, not yet full: no roll, no prune
  EXPECT_EQ(log->segment_paths().size(), 4u);
  append_n(*log, 1);  // fills it: the roll prunes the three old ones
  EXPECT_EQ(log->segment_paths().size(), 1u);
  EXPECT_EQ(log->oldest_seq(), 31);
  EXPECT_EQ(log->last_seq(), 40);
}

TEST(EventLog, AllPrunedLeavesNextSeqIntact) {
  TempDir dir;
  FakeClock clock;
  auto opt = small_options(10);
  opt.clock = clock.fn();
  opt.prune_on_roll = false;
  {
    auto log = EventLog::open(dir.path(), opt);
    ASSERT_TRUE(log.ok());
    append_n(*log, 10);
  }
  // A crash right after a roll leaves an empty newest segment.
  testing::write_file(dir.path() / EventLog::segment_file_name(11), {});
  auto log = EventLog::open(dir.path(), opt);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_EQ(log->last_seq(), 10);
  EXPECT_EQ(*log->prune(clock.now() + 1000h), 1u);
  EXPECT_EQ(log->oldest_seq(), 11);
  EXPECT_EQ(log->last_seq(), 10);
  std::vector<StoredEvent> out;
  ASSERT_TRUE(log->read_after(0, 100, out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(append_n(*log, 2).first, 11);
  ASSERT_TRUE(log->read_after(0, 100, out).ok());
  ASSERT_EQ(out.size(), 2u);
  expect_events(out, 11);
}

// ---------------------------------------------------------------------------
// Concurrency

// One appender, two readers following the tail: every reader sees every event
// exactly once, in order, whole (frame checked byte for byte).
TEST(EventLog, ConcurrentReadersNeverSeeTornRecords) {
  TempDir dir;
  auto log = EventLog::open(dir.path(), small_options(50, Policy::never));
  ASSERT_TRUE(log.ok());
  constexpr int kBatches = 400;
  std::atomic<std::int64_t> final_seq{-1};
  std::thread writer([&] {
    std::mt19937 rng(7);
    for (int b = 0; b < kBatches; ++b) append_n(*log, 1 + rng() % 17, 700);
    final_seq = log->last_seq();
  });
  auto reader = [&](std::size_t chunk, std::string* failure) {
    std::int64_t cursor = 0;
    // Bounded: at most this many read_after calls (each returns >= 1 event
    // unless the reader is ahead of the writer).
    for (int round = 0; round < 5'000'000; ++round) {
      const std::int64_t done = final_seq.load();
      if (done >= 0 && cursor == done) return;
      auto n = log->read_after(cursor, chunk, [&](const Event& e) {
        if (e.seq != cursor + 1) {
          *failure = "seq " + std::to_string(e.seq) + " after " + std::to_string(cursor);
          return false;
        }
        const auto want = frame_for(e.seq, size_for(e.seq, 700));
        if (!std::equal(e.frame.begin(), e.frame.end(), want.begin(), want.end())) {
          *failure = "frame of seq " + std::to_string(e.seq) + " differs";
          return false;
        }
        cursor = e.seq;
        return true;
      });
      if (!n.ok()) *failure = n.status().to_string();
      if (!failure->empty()) return;
      if (*n == 0) std::this_thread::yield();
    }
    *failure = "reader gave up at cursor " + std::to_string(cursor);
  };
  std::string f1, f2;
  std::thread r1(reader, 7, &f1);
  std::thread r2(reader, 1000, &f2);
  writer.join();
  r1.join();
  r2.join();
  EXPECT_EQ(f1, "");
  EXPECT_EQ(f2, "");
  EXPECT_GT(log->last_seq(), kBatches);
}

// Readers replaying from the start while the appender rolls and prunes:
// events come in increasing order and whole; a pruned range is skipped.
TEST(EventLog, ReadersSurviveConcurrentPruning) {
  TempDir dir;
  FakeClock clock;
  auto opt = small_options(20);
  opt.clock = clock.fn();
  opt.retention = 1h;
  auto log = EventLog::open(dir.path(), opt);
  ASSERT_TRUE(log.ok());
  append_n(*log, 200);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int b = 0; b < 300; ++b) {
      clock.advance(10min);
      append_n(*log, 5);
    }
    done = true;
  });
  std::string failure;
  std::thread reader([&] {
    for (int pass = 0; pass < 100'000 && !done.load(); ++pass) {
      std::int64_t prev = 0;
      auto n = log->read_after(0, 1'000'000, [&](const Event& e) {
        const auto want = frame_for(e.seq, size_for(e.seq, 64));
        if (e.seq <= prev || !std::equal(e.frame.begin(), e.frame.end(), want.begin(), want.end())) {
          failure = "bad event " + std::to_string(e.seq) + " after " + std::to_string(prev);
          return false;
        }
        prev = e.seq;
        return true;
      });
      if (!n.ok()) failure = n.status().to_string();
      if (!failure.empty()) return;
    }
  });
  writer.join();
  reader.join();
  EXPECT_EQ(failure, "");
  EXPECT_GT(log->oldest_seq(), 200);
}

// ---------------------------------------------------------------------------
// Write failures roll the batch back. RLIMIT_FSIZE makes pwrite fail with
// EFBIG past a file size; done in a child so the limit stays there.

TEST(EventLog, FailedWriteRollsTheWholeBatchBack) {
  TempDir dir;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto fail = [](int code) { ::_exit(code); };
    std::signal(SIGXFSZ, SIG_IGN);
    auto opt = small_options(10);
    opt.max_event_bytes = 100'000;
    auto log = EventLog::open(dir.path(), opt);
    if (!log.ok()) fail(10);
    const std::vector<std::byte> small(100);
    const std::vector<std::byte> big(3000);
    std::vector<PendingEvent> five(5, PendingEvent{.frame = small});
    if (!log->append(five).ok()) fail(11);  // 5 x 132 = 660 bytes in segment 1
    rlimit lim{2000, RLIM_INFINITY};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) fail(12);
    // Completes segment 1 (1320 bytes, fits) then a 3032-byte record in a new
    // segment 6: EFBIG. Both parts must be undone.
    std::vector<PendingEvent> straddle(5, PendingEvent{.frame = small});
    straddle.push_back(PendingEvent{.frame = big});
    auto r = log->append(straddle);
    if (r.ok() || r.status().code() != Status::Code::kIoError) fail(13);
    if (log->last_seq() != 5 || log->segment_paths().size() != 1) fail(14);
    if (std::filesystem::file_size(dir.path() / EventLog::segment_file_name(1)) != 660) fail(15);
    if (std::filesystem::exists(dir.path() / EventLog::segment_file_name(6))) fail(16);
    // Fails inside one segment: a partial write is truncated away.
    std::vector<PendingEvent> one_big{PendingEvent{.frame = big}};
    if (log->append(one_big).ok()) fail(17);
    if (std::filesystem::file_size(dir.path() / EventLog::segment_file_name(1)) != 660) fail(18);
    // Nothing was consumed: the next append gets seq 6.
    auto ok = log->append(five);
    if (!ok.ok() || ok->first != 6 || ok->last != 10) fail(19);
    std::vector<StoredEvent> out;
    if (!log->read_after(0, 100, out).ok() || out.size() != 10) fail(20);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died with signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "child step " << WEXITSTATUS(status) << " failed";
  // And the files on disk agree after a reopen.
  auto log = EventLog::open(dir.path(), small_options(10));
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_EQ(log->last_seq(), 10);
  EXPECT_EQ(log->recovery().bytes_truncated, 0u);
}

}  // namespace
}  // namespace faultline::relay::store
