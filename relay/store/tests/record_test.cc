#include "relay/store/record.h"

#include <gtest/gtest.h>

#include "relay/store/tests/test_util.h"

namespace faultline::relay::store {
namespace {

using testing::frame_for;

TEST(Record, HeaderIsTheReferenceLayoutLittleEndian) {
  RecordHeader h;
  h.flags = 0x04030201;
  h.kind = 0x08070605;
  h.len = 0x0C0B0A09;
  h.uid = 0x14131211100F0E0Dull;
  h.seq = 0x1C1B1A1918171615ll;
  std::byte b[kRecordHeaderSize];
  encode_record_header(h, b);
  for (std::size_t i = 0; i < kRecordHeaderSize; ++i)
    EXPECT_EQ(std::to_integer<int>(b[i]), static_cast<int>(i + 1)) << i;
  const RecordHeader back = decode_record_header(b);
  EXPECT_EQ(back.flags, h.flags);
  EXPECT_EQ(back.kind, h.kind);
  EXPECT_EQ(back.len, h.len);
  EXPECT_EQ(back.uid, h.uid);
  EXPECT_EQ(back.seq, h.seq);
}

TEST(Record, RoundTripSetsFlagAndTrailer) {
  const auto payload = frame_for(7, 50);
  std::vector<std::byte> buf;
  append_record(buf, RecordHeader{.flags = 3, .kind = 1, .len = 0, .uid = 99, .seq = 7}, payload);
  ASSERT_EQ(buf.size(), kRecordOverhead + payload.size());
  ParsedRecord rec;
  ASSERT_EQ(parse_record(buf, 1000, true, rec), ParseStatus::kWhole);
  EXPECT_EQ(rec.header.flags, 3u | kFlagChecksummed);
  EXPECT_EQ(rec.header.kind, 1u);
  EXPECT_EQ(rec.header.len, 50u);
  EXPECT_EQ(rec.header.uid, 99u);
  EXPECT_EQ(rec.header.seq, 7);
  EXPECT_EQ(rec.size, buf.size());
  EXPECT_TRUE(std::equal(rec.payload.begin(), rec.payload.end(), payload.begin(), payload.end()));
}

TEST(Record, EmptyPayloadRoundTrips) {
  std::vector<std::byte> buf;
  append_record(buf, RecordHeader{.seq = 4}, std::span<const std::byte>());  // null data pointer
  ASSERT_EQ(buf.size(), kRecordOverhead);
  std::vector<std::byte> copy(buf);  // parsed from a real buffer: non-null payload pointer
  ParsedRecord rec;
  ASSERT_EQ(parse_record(copy, 1000, true, rec), ParseStatus::kWhole);
  EXPECT_EQ(rec.header.len, 0u);
  EXPECT_TRUE(rec.payload.empty());
}

TEST(Record, EveryPrefixIsIncomplete) {
  std::vector<std::byte> buf;
  append_record(buf, RecordHeader{.seq = 1}, frame_for(1, 40));
  for (std::size_t n = 0; n < buf.size(); ++n) {
    ParsedRecord rec;
    EXPECT_EQ(parse_record(std::span<const std::byte>(buf.data(), n), 1000, true, rec), ParseStatus::kIncomplete) << n;
  }
}

TEST(Record, EveryFlippedByteIsDetected) {
  std::vector<std::byte> good;
  append_record(good, RecordHeader{.kind = 2, .uid = 5, .seq = 9}, frame_for(9, 40));
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit : {0, 7}) {
      auto bad = good;
      bad[i] ^= static_cast<std::byte>(1 << bit);
      ParsedRecord rec;
      // A flipped length bit may also make it look longer (incomplete): never whole.
      EXPECT_NE(parse_record(bad, 1000, true, rec), ParseStatus::kWhole) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(Record, MissingFlagAndOversizedLengthAreBad) {
  std::vector<std::byte> buf;
  append_record(buf, RecordHeader{.seq = 1}, frame_for(1, 100));
  ParsedRecord rec;
  std::string why;
  EXPECT_EQ(parse_record(buf, 99, true, rec, &why), ParseStatus::kBad);
  EXPECT_NE(why.find("over the limit"), std::string::npos) << why;
  buf[3] &= std::byte{0x7F};  // clear bit 31 of flags
  EXPECT_EQ(parse_record(buf, 1000, true, rec, &why), ParseStatus::kBad);
  EXPECT_NE(why.find("flag"), std::string::npos) << why;
}

TEST(Record, CrcCanBeSkippedForIndexing) {
  std::vector<std::byte> buf;
  append_record(buf, RecordHeader{.seq = 1}, frame_for(1, 10));
  buf[kRecordHeaderSize + 3] ^= std::byte{1};
  ParsedRecord rec;
  EXPECT_EQ(parse_record(buf, 1000, true, rec), ParseStatus::kBad);
  EXPECT_EQ(parse_record(buf, 1000, false, rec), ParseStatus::kWhole);
}

}  // namespace
}  // namespace faultline::relay::store
