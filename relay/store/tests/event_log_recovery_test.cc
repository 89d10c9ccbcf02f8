// Start-up recovery: every shape of torn or corrupt tail is cut, whole
// records are kept, and seq resumes right after them.
#include <gtest/gtest.h>

#include <random>

#include "relay/store/event_log.h"
#include "relay/store/record.h"
#include "relay/store/tests/test_util.h"

namespace faultline::relay::store {
namespace {

using testing::frame_for;
using testing::read_file;
using testing::TempDir;
using testing::write_file;
namespace fs = std::filesystem;

EventLog::Options opts(std::int64_t per_segment) {
  EventLog::Options o;
  o.events_per_segment = per_segment;
  o.index_interval = 2;
  o.fsync = EventLog::FsyncPolicy::never;
  return o;
}

// Event seq has a frame of 20 + seq bytes.
void append_seqs(EventLog& log, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t seq = log.next_seq();
    const auto f = frame_for(seq, 20 + static_cast<std::size_t>(seq));
    PendingEvent ev{.kind = 1, .uid = static_cast<std::uint64_t>(seq), .frame = f};
    auto r = log.append(std::span<const PendingEvent>(&ev, 1));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_EQ(r->first, seq);
  }
}

// Reads everything and checks it is exactly seqs [first, last].
void expect_all(const EventLog& log, std::int64_t first, std::int64_t last) {
  std::vector<StoredEvent> out;
  auto n = log.read_after(0, 100000, out);
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  ASSERT_EQ(static_cast<std::int64_t>(out.size()), last - first + 1);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t seq = first + static_cast<std::int64_t>(i);
    ASSERT_EQ(out[i].seq, seq);
    ASSERT_EQ(out[i].frame, frame_for(seq, 20 + static_cast<std::size_t>(seq)));
  }
}

std::uint64_t record_size(std::int64_t seq) {
  return kRecordOverhead + 20 + static_cast<std::uint64_t>(seq);
}

void remove_torn_copies(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find(".torn-") != std::string::npos) fs::remove(e.path());
  }
}

// Cut the last record of the last segment at every byte offset.
TEST(EventLogRecovery, TruncatedAtEveryOffsetOfTheLastRecord) {
  TempDir dir;
  {
    auto log = EventLog::open(dir.path(), opts(100));
    ASSERT_TRUE(log.ok());
    append_seqs(*log, 6);
  }
  const fs::path seg = dir.path() / EventLog::segment_file_name(1);
  const auto pristine = read_file(seg);
  const std::uint64_t end = pristine.size();
  const std::uint64_t start = end - record_size(6);
  for (std::uint64_t cut = start; cut <= end; ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    write_file(seg, std::vector<std::byte>(pristine.begin(), pristine.begin() + static_cast<std::ptrdiff_t>(cut)));
    {
      auto log = EventLog::open(dir.path(), opts(100));
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      const std::int64_t whole = cut == end ? 6 : 5;
      EXPECT_EQ(log->last_seq(), whole);
      EXPECT_EQ(log->recovery().events_kept, whole);
      EXPECT_EQ(log->recovery().bytes_truncated, cut == end ? 0 : cut - start);
      if (cut != start && cut != end) {
        // The cut bytes were kept aside, byte for byte.
        const auto saved = read_file(log->recovery().saved_tail);
        EXPECT_EQ(saved, std::vector<std::byte>(pristine.begin() + static_cast<std::ptrdiff_t>(start),
                                                pristine.begin() + static_cast<std::ptrdiff_t>(cut)));
        EXPECT_NE(log->recovery().reason.find("torn"), std::string::npos) << log->recovery().reason;
      }
      expect_all(*log, 1, whole);
      // Seq resumes exactly after the whole records.
      append_seqs(*log, 1);
      EXPECT_EQ(log->last_seq(), whole + 1);
    }
    auto log = EventLog::open(dir.path(), opts(100));
    ASSERT_TRUE(log.ok());
    EXPECT_EQ(log->recovery().bytes_truncated, 0u);
    remove_torn_copies(dir.path());
  }
}

// The only record of a freshly rolled segment is torn (including a 0-byte file).
TEST(EventLogRecovery, TornFirstRecordOfANewSegment) {
  TempDir dir;
  {
    auto log = EventLog::open(dir.path(), opts(5));
    ASSERT_TRUE(log.ok());
    append_seqs(*log, 6);
  }
  const fs::path seg = dir.path() / EventLog::segment_file_name(6);
  const auto pristine = read_file(seg);
  ASSERT_EQ(pristine.size(), record_size(6));
  for (std::uint64_t cut = 0; cut < pristine.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    write_file(seg, std::vector<std::byte>(pristine.begin(), pristine.begin() + static_cast<std::ptrdiff_t>(cut)));
    auto log = EventLog::open(dir.path(), opts(5));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ(log->last_seq(), 5);
    EXPECT_EQ(log->oldest_seq(), 1);
    expect_all(*log, 1, 5);
    append_seqs(*log, 1);  // goes into the same (now empty) segment 6
    EXPECT_EQ(log->segment_paths().size(), 2u);
    expect_all(*log, 1, 6);
  }
}

// Garbage (random bytes or zeros, as a filesystem may leave after a power
// failure) after the last whole record.
TEST(EventLogRecovery, GarbageAfterTheLastRecordIsCut) {
  TempDir dir;
  {
    auto log = EventLog::open(dir.path(), opts(100));
    ASSERT_TRUE(log.ok());
    append_seqs(*log, 4);
  }
  const fs::path seg = dir.path() / EventLog::segment_file_name(1);
  const auto pristine = read_file(seg);
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    auto bytes = pristine;
    const std::size_t extra = 1 + rng() % 300;
    for (std::size_t i = 0; i < extra; ++i) {
      bytes.push_back(round % 2 ? static_cast<std::byte>(rng()) : std::byte{0});
    }
    write_file(seg, bytes);
    auto log = EventLog::open(dir.path(), opts(100));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    ASSERT_EQ(log->last_seq(), 4) << "round " << round;
    ASSERT_EQ(log->recovery().bytes_truncated, extra);
    expect_all(*log, 1, 4);
    remove_torn_copies(dir.path());
  }
}

// A flipped bit anywhere in the last record: the checksum (or the flag, the
// length, the seq) rejects it; the record before is kept.
TEST(EventLogRecovery, CorruptByteInTheLastRecordIsDetected) {
  TempDir dir;
  {
    auto log = EventLog::open(dir.path(), opts(100));
    ASSERT_TRUE(log.ok());
    append_seqs(*log, 5);
  }
  const fs::path seg = dir.path() / EventLog::segment_file_name(1);
  const auto pristine = read_file(seg);
  const std::size_t start = pristine.size() - record_size(5);
  for (std::size_t at = start; at < pristine.size(); ++at) {
    SCOPED_TRACE("byte " + std::to_string(at));
    auto bytes = pristine;
    bytes[at] ^= std::byte{0x10};
    write_file(seg, bytes);
    auto log = EventLog::open(dir.path(), opts(100));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ(log->last_seq(), 4);
    EXPECT_EQ(log->recovery().bytes_truncated, record_size(5));
    expect_all(*log, 1, 4);
    remove_torn_copies(dir.path());
  }
}

// Corruption in an older, sealed segment is not repaired: it is reported to
// the reader that reaches it, with the file name; other segments still read.
TEST(EventLogRecovery, CorruptPayloadInASealedSegmentIsReportedOnRead) {
  TempDir dir;
  {
    auto log = EventLog::open(dir.path(), opts(5));
    ASSERT_TRUE(log.ok());
    append_seqs(*log, 15);
  }
  const fs::path seg1 = dir.path() / EventLog::segment_file_name(1);
  auto bytes = read_file(seg1);
  const std::size_t third = record_size(1) + record_size(2) + kRecordHeaderSize + 4;  // a payload byte of seq 3
  bytes[third] ^= std::byte{0x01};
  write_file(seg1, bytes);

  auto log = EventLog::open(dir.path(), opts(5));
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_EQ(log->last_seq(), 15);
  std::vector<StoredEvent> out;
  auto n = log->read_after(0, 100, out);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Status::Code::kCorruption);
  EXPECT_NE(n.status().message().find(seg1.string()), std::string::npos) << n.status().message();
  EXPECT_NE(n.status().message().find("checksum"), std::string::npos) << n.status().message();
  EXPECT_EQ(out.size(), 2u);  // seqs 1 and 2 came before the bad record
  out.clear();
  ASSERT_TRUE(log->read_after(5, 100, out).ok());
  EXPECT_EQ(out.size(), 10u);
}

// A sealed segment that lost its tail (power failure under `never`): the
// segment before the last is verified at open, older ones on first read.
TEST(EventLogRecovery, ShortSealedSegmentsAreReported) {
  TempDir dir;
  {
    auto log = EventLog::open(dir.path(), opts(5));
    ASSERT_TRUE(log.ok());
    append_seqs(*log, 15);
  }
  const fs::path seg1 = dir.path() / EventLog::segment_file_name(1);
  const fs::path seg6 = dir.path() / EventLog::segment_file_name(6);
  const auto seg1_bytes = read_file(seg1);
  const auto seg6_bytes = read_file(seg6);

  // Older segment: found when read.
  write_file(seg1, std::vector<std::byte>(seg1_bytes.begin(), seg1_bytes.end() - 3));
  {
    auto log = EventLog::open(dir.path(), opts(5));
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    std::vector<StoredEvent> out;
    auto n = log->read_after(0, 100, out);
    EXPECT_EQ(n.status().code(), Status::Code::kCorruption);
    EXPECT_NE(n.status().message().find(seg1.string()), std::string::npos) << n.status().message();
    out.clear();
    EXPECT_TRUE(log->read_after(5, 100, out).ok());
  }
  write_file(seg1, seg1_bytes);

  // Segment before the last: open refuses, naming the file.
  write_file(seg6, std::vector<std::byte>(seg6_bytes.begin(), seg6_bytes.end() - 3));
  auto log = EventLog::open(dir.path(), opts(5));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Status::Code::kCorruption);
  EXPECT_NE(log.status().message().find(seg6.string()), std::string::npos) << log.status().message();
  write_file(seg6, seg6_bytes);
  EXPECT_TRUE(EventLog::open(dir.path(), opts(5)).ok());
}

}  // namespace
}  // namespace faultline::relay::store
