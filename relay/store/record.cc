#include "relay/store/record.h"

#include <zlib.h>

#include <cstring>

namespace faultline::relay::store {
namespace {

void put32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}
void put64(std::byte* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}
std::uint32_t get32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint32_t>(p[i]);
  return v;
}
std::uint64_t get64(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
  return v;
}

}  // namespace

void encode_record_header(const RecordHeader& h, std::byte* out) {
  put32(out + 0, h.flags);
  put32(out + 4, h.kind);
  put32(out + 8, h.len);
  put64(out + 12, h.uid);
  put64(out + 20, static_cast<std::uint64_t>(h.seq));
}

RecordHeader decode_record_header(const std::byte* in) {
  RecordHeader h;
  h.flags = get32(in + 0);
  h.kind = get32(in + 4);
  h.len = get32(in + 8);
  h.uid = get64(in + 12);
  h.seq = static_cast<std::int64_t>(get64(in + 20));
  return h;
}

std::uint32_t record_crc(const std::byte* header, std::span<const std::byte> payload) {
  uLong crc = crc32_z(0L, reinterpret_cast<const Bytef*>(header), kRecordHeaderSize);
  // Not called for an empty payload: zlib returns the initial value (0), not
  // `crc`, when the buffer pointer is null, as an empty span's may be.
  if (!payload.empty()) crc = crc32_z(crc, reinterpret_cast<const Bytef*>(payload.data()), payload.size());
  return static_cast<std::uint32_t>(crc);
}

void append_record(std::vector<std::byte>& out, RecordHeader h, std::span<const std::byte> payload) {
  h.flags |= kFlagChecksummed;
  h.len = static_cast<std::uint32_t>(payload.size());
  const std::size_t at = out.size();
  out.resize(at + kRecordOverhead + payload.size());
  std::byte* p = out.data() + at;
  encode_record_header(h, p);
  if (!payload.empty()) std::memcpy(p + kRecordHeaderSize, payload.data(), payload.size());
  put32(p + kRecordHeaderSize + payload.size(), record_crc(p, payload));
}

ParseStatus parse_record(std::span<const std::byte> buf, std::uint32_t max_len, bool verify_crc, ParsedRecord& out,
                         std::string* why) {
  if (buf.size() < kRecordHeaderSize) return ParseStatus::kIncomplete;
  const RecordHeader h = decode_record_header(buf.data());
  if ((h.flags & kFlagChecksummed) == 0) {
    if (why) *why = "checksum flag missing";
    return ParseStatus::kBad;
  }
  if (h.len > max_len) {
    if (why) *why = "length " + std::to_string(h.len) + " over the limit " + std::to_string(max_len);
    return ParseStatus::kBad;
  }
  const std::size_t size = kRecordOverhead + h.len;
  if (buf.size() < size) return ParseStatus::kIncomplete;
  const auto payload = buf.subspan(kRecordHeaderSize, h.len);
  if (verify_crc && record_crc(buf.data(), payload) != get32(buf.data() + kRecordHeaderSize + h.len)) {
    if (why) *why = "checksum mismatch";
    return ParseStatus::kBad;
  }
  out.header = h;
  out.payload = payload;
  out.size = size;
  return ParseStatus::kWhole;
}

}  // namespace faultline::relay::store
