// EventLog: the relay's durable, segmented, append-only log of firehose frames,
// keyed by the relay's own strictly increasing sequence number.
//
// Blocking code (pwrite, fdatasync, unlink): call it from bridge worker
// threads, never from a fiber.
//
// Layout. One directory holds the log:
//   events-<first seq, 20 digits>.log   segments, each holding events
//                                       [first, first + events_per_segment)
//   LOCK                                flock(2)ed while a process has the log open
//   events-<...>.log.torn-<offset>      bytes cut off a torn/corrupt tail at
//                                       recovery, kept for a human (never read)
// Each segment is a plain concatenation of records (record.h: the reference
// relay's 28-byte header + frame + CRC-32 trailer), no file header.
//
// Sequence numbers. append() assigns seq = last_seq() + 1, + 2, ... to the
// events of a batch, so seqs are gap-free and never reused. An empty log
// starts at 1. next_seq() is the seq the next append's first event will get:
// the relay, which writes seq into the frame, reads it on its writer thread
// just before it builds the batch.
//
// Durability. append() returns after write(2) of the whole batch has
// returned, i.e. the bytes are in the page cache: a process crash (SIGSEGV,
// kill -9) after append() returns loses nothing, and the relay broadcasts only
// after append() returns, so a consumer never sees an event the log can lose
// on a crash. Power failure / kernel crash is what `fsync` is about:
//   every_batch  fdatasync before append() returns: nothing acknowledged is
//                ever lost, at the price of a disk flush (0.1-20 ms depending
//                on the device) in front of every broadcast.
//   interval     (DEFAULT, 100 ms) a background thread fdatasyncs the active
//                segment every fsync_interval when it has new data. A power
//                failure loses at most ~fsync_interval of events (about 60 at
//                zlay's 600 events/s), a process crash still loses nothing,
//                and the broadcast path never waits for the disk (measured
//                on this project's VM disk: every_batch 4.6-6.7 ms per batch
//                of 64 events, interval 0.1-0.15 ms; tests/event_log_bench.cc). A relay is a cache of data its
//                upstream hosts hold: after a power failure it re-fetches
//                from its saved upstream cursors. To keep those cursors from
//                running ahead of the log, save upstream cursors only for
//                events at or below synced_seq().
//   never        no fdatasync at all (tests, benchmarks, tmpfs).
// With every_batch and interval a segment is also fdatasynced when it fills
// (before the next one is created) and the directory is fsynced when a
// segment is created or deleted, so a power failure cannot leave a gap
// between segments.
//
// Recovery (open). The last segment is scanned record by record; the first
// record that is not whole (partial header, partial payload, partial trailer,
// CRC mismatch, missing checksum flag, oversized length, unexpected seq) and
// everything after it is cut off (the cut bytes are first copied to a
// `.torn-<offset>` file), and seq resumes right after the last whole event.
// After kill -9 at any moment no acknowledged event is lost or renumbered,
// because a torn record can only be the one being written when the process
// died, and it was not acknowledged. The segment before the last is also
// verified (its event count must match the segment names); a mismatch, which
// only a power failure under `never` can cause, makes open() fail with a
// Corruption status naming the file. Older segments are trusted by name and
// verified lazily when first read.
//
// Retention. A segment's time is the time of its newest event (the clock at
// append; persisted as the file's mtime when the segment fills). prune(now)
// deletes, oldest first, the full segments whose newest event is older than
// now - retention; it never deletes the segment being appended to. append()
// calls prune(clock()) itself each time a segment fills (prune_on_roll).
//
// Threads. One appender, any number of concurrent readers:
//   - append(), prune() and sync() serialise on an internal writer mutex
//     (so misuse from two threads is safe, just not concurrent).
//   - read_after(), oldest_seq(), last_seq(), synced_seq() may be called from
//     any thread at any time. A batch is published to readers only after its
//     write(2) returned: the appender writes the bytes, then, under the
//     segment's mutex, advances the segment's published size/count; readers
//     copy that (size, count) under the same mutex and never read past it.
//     So a reader never sees a half-written record or a record of a batch
//     whose append() later fails. (A batch that spans a segment boundary is
//     published segment by segment: a reader may briefly see its first part
//     only.) A reader replaying a segment that prune() deletes keeps reading
//     it through its open descriptor; one that had not opened it yet moves on
//     to the oldest remaining event.
//
// Memory: one 8-byte index entry per index_interval events of each segment
// that has been read or written since open (72 h at 600 events/s with the
// defaults: ~19 MB if every segment is read), plus ~200 bytes per segment.
// A moved-from EventLog may only be destroyed or assigned to.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "relay/store/status.h"

namespace faultline::relay::store {

// One event handed to append(). `flags` may use bits 0..30 only.
struct PendingEvent {
  std::uint32_t kind = 0;
  std::uint32_t flags = 0;
  std::uint64_t uid = 0;
  std::span<const std::byte> frame;
};

// One event as read back. `frame` points into the reader's buffer and is
// valid only during the callback.
struct Event {
  std::int64_t seq = 0;
  std::uint32_t kind = 0;
  std::uint32_t flags = 0;  // the caller's bits only
  std::uint64_t uid = 0;
  std::span<const std::byte> frame;
};

// An Event that owns its frame.
struct StoredEvent {
  std::int64_t seq = 0;
  std::uint32_t kind = 0;
  std::uint32_t flags = 0;
  std::uint64_t uid = 0;
  std::vector<std::byte> frame;
};

// The seqs assigned by one append: [first, last]; empty when last < first.
struct SeqRange {
  std::int64_t first = 0;
  std::int64_t last = -1;
  std::int64_t size() const { return last >= first ? last - first + 1 : 0; }
};

enum class FsyncPolicy { every_batch, interval, never };

struct EventLogOptions {
  std::int64_t events_per_segment = 10'000;  // the reference relay's
  std::chrono::seconds retention = std::chrono::hours(72);
  FsyncPolicy fsync = FsyncPolicy::interval;  // see "Durability" above
  std::chrono::milliseconds fsync_interval{100};
  std::uint32_t max_event_bytes = 5'000'000;  // atproto frame limit
  // One in-memory offset per `index_interval` records per segment: a read
  // skips at most index_interval - 1 records to find its start.
  std::int64_t index_interval = 64;
  bool prune_on_roll = true;
  // Time of appends, for retention; empty: std::chrono::system_clock::now.
  std::function<std::chrono::system_clock::time_point()> clock;
};

class EventLog {
 public:
  using FsyncPolicy = store::FsyncPolicy;
  using Options = EventLogOptions;
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // What open() found and repaired in the last segment.
  struct Recovery {
    std::filesystem::path segment;      // empty: the log had no segment
    std::int64_t events_kept = 0;       // whole events in the last segment
    std::uint64_t bytes_truncated = 0;  // 0: the tail was clean
    std::string reason;                 // why the tail was cut
    std::filesystem::path saved_tail;   // where the cut bytes were copied
  };

  // Opens (creating `dir` if needed) and recovers the log. Fails with kBusy
  // when another process has it open, kInvalidArgument for bad options,
  // kCorruption / kIoError as described above.
  static Result<EventLog> open(const std::filesystem::path& dir, Options options = {});

  EventLog(EventLog&&) noexcept;
  EventLog& operator=(EventLog&&) noexcept;
  ~EventLog();  // stops the flusher, syncs (unless `never`), unlocks

  // Appends `batch` as consecutive seqs and returns them. Atomic: on error
  // nothing of the batch is published or kept on disk, and the seqs are not
  // consumed. After a failed fdatasync the log refuses further appends (the
  // kernel may have dropped the dirty pages; retrying would lie).
  Result<SeqRange> append(std::span<const PendingEvent> batch);

  // Calls `fn` for up to `max_events` events with seq > cursor, in order,
  // stopping early when `fn` returns false. Returns how many `fn` was called
  // for. cursor <= 0 means "from the oldest". When cursor + 1 < oldest_seq()
  // (pruned), reading starts at oldest_seq(): a caller detects the gap by
  // comparing the first seq with cursor + 1. Never blocks on the appender
  // beyond a short mutex section.
  Result<std::size_t> read_after(std::int64_t cursor, std::size_t max_events,
                                 const std::function<bool(const Event&)>& fn) const;
  // The same, appending copies to `out`.
  Result<std::size_t> read_after(std::int64_t cursor, std::size_t max_events, std::vector<StoredEvent>& out) const;

  // The seq of the oldest stored event; last_seq() + 1 when none is stored.
  // So `cursor + 1 < oldest_seq()` means events after `cursor` were pruned.
  std::int64_t oldest_seq() const;
  // The seq of the newest acknowledged event; 0 for a log that never had one.
  std::int64_t last_seq() const;
  std::int64_t next_seq() const { return last_seq() + 1; }
  // Every event with seq <= synced_seq() survives a power failure (== last_seq()
  // under every_batch; under `never` also == last_seq(), by decree).
  std::int64_t synced_seq() const;

  // Deletes expired segments (see "Retention"); returns how many.
  Result<std::size_t> prune(std::chrono::system_clock::time_point now);
  // fdatasync the active segment now (any policy).
  Status sync();

  const Recovery& recovery() const;
  const std::filesystem::path& dir() const;
  // Current segment files, oldest first.
  std::vector<std::filesystem::path> segment_paths() const;
  static std::string segment_file_name(std::int64_t first_seq);

 private:
  struct Impl;
  explicit EventLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::relay::store
