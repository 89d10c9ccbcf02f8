#include "relay/proto/varint.h"

namespace faultline::relay::proto {

const char* varint_error_name(VarintError e) {
  switch (e) {
    case VarintError::kNone:
      return "";
    case VarintError::kTruncated:
      return "truncated";
    case VarintError::kNonMinimal:
      return "non-minimal";
    case VarintError::kOverflow:
      return "overflow";
  }
  return "unknown";
}

VarintRead read_uvarint(std::span<const std::uint8_t> in) {
  VarintRead r;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < kMaxUvarintBytes; ++i) {
    if (i >= in.size()) {
      r.error = VarintError::kTruncated;
      return r;
    }
    const std::uint8_t b = in[i];
    value |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) {
        r.error = VarintError::kNonMinimal;
        return r;
      }
      r.value = value;
      r.length = i + 1;
      return r;
    }
  }
  // Nine bytes, all with the continuation bit: the value needs 64+ bits.
  r.error = VarintError::kOverflow;
  return r;
}

std::size_t uvarint_size(std::uint64_t value) {
  std::size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

std::size_t write_uvarint(std::uint8_t* out, std::uint64_t value) {
  std::size_t n = 0;
  while (value >= 0x80) {
    out[n++] = static_cast<std::uint8_t>(value | 0x80);
    value >>= 7;
  }
  out[n++] = static_cast<std::uint8_t>(value);
  return n;
}

void append_uvarint(std::vector<std::uint8_t>& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

}  // namespace faultline::relay::proto
