// The event log's on-disk record: one firehose frame and its metadata.
//
//   offset  size  field   (all integers little-endian)
//        0     4  flags   bit 31 = kFlagChecksummed (always set by this log);
//                         bits 0..30 belong to the caller (indigo uses bit 0
//                         "takedown", bit 1 "rebased")
//        4     4  kind    event kind, opaque to the log (#commit, #identity, ...)
//        8     4  len     payload length in bytes
//       12     8  uid     the relay's account id, opaque to the log
//       20     8  seq     the relay's sequence number
//       28   len  payload the firehose frame, byte for byte as broadcast
//   28+len     4  crc     CRC-32 (zlib's crc32, the gzip/PNG polynomial) of
//                         bytes [0, 28+len): header and payload
//
// The 28-byte header is the reference relay's (indigo diskpersist: flags,
// kind, len, uid, seq). The checksum is a 4-byte trailer rather than packed
// into spare `flags` bits: a full 32 bits instead of the ~16 the flags could
// spare, and the header layout stays exactly the reference's. The trailer is
// announced by flag bit 31, so a reader can tell our records apart from
// trailer-less ones; this log refuses records without it. Consequently the
// files are NOT byte-compatible with indigo's (whose reader would take the
// trailer for the next header); nothing exchanges files with indigo.
//
// A record is whole when all 32+len bytes are present, bit 31 is set, len is
// within the log's limit and the CRC matches. A torn write (partial header,
// partial payload, partial trailer) or a corrupted byte anywhere in the record
// makes it not whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace faultline::relay::store {

inline constexpr std::size_t kRecordHeaderSize = 28;
inline constexpr std::size_t kRecordTrailerSize = 4;
inline constexpr std::size_t kRecordOverhead = kRecordHeaderSize + kRecordTrailerSize;
inline constexpr std::uint32_t kFlagChecksummed = 1u << 31;
// Flag bits a caller may use.
inline constexpr std::uint32_t kUserFlagsMask = ~kFlagChecksummed;

struct RecordHeader {
  std::uint32_t flags = 0;  // as on disk, including kFlagChecksummed
  std::uint32_t kind = 0;
  std::uint32_t len = 0;
  std::uint64_t uid = 0;
  std::int64_t seq = 0;
};

void encode_record_header(const RecordHeader& h, std::byte* out /* kRecordHeaderSize bytes */);
RecordHeader decode_record_header(const std::byte* in /* kRecordHeaderSize bytes */);

// CRC-32 of a header (kRecordHeaderSize bytes) followed by a payload.
std::uint32_t record_crc(const std::byte* header, std::span<const std::byte> payload);

// Appends one whole record (header with kFlagChecksummed set, payload,
// trailer) to `out`. `h.len` is taken from payload.size().
void append_record(std::vector<std::byte>& out, RecordHeader h, std::span<const std::byte> payload);

enum class ParseStatus {
  kWhole,       // a whole record starts at buf[0]
  kIncomplete,  // buf ends inside the record (torn tail, or read more)
  kBad,         // not a record: flag missing, len over the limit, or CRC mismatch
};

struct ParsedRecord {
  RecordHeader header;
  std::span<const std::byte> payload;  // points into the parsed buffer
  std::size_t size = 0;                // kRecordOverhead + len
};

// Parses the record at the start of `buf`. `verify_crc` false skips only the
// CRC check (used when building an index). On kBad, `why` (if non-null) says
// what was wrong.
ParseStatus parse_record(std::span<const std::byte> buf, std::uint32_t max_len, bool verify_crc, ParsedRecord& out,
                         std::string* why = nullptr);

}  // namespace faultline::relay::store
