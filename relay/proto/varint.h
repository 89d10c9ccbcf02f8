// Unsigned varints as multiformats defines them (CIDs, multihashes, CARv1
// section lengths): little-endian base-128, seven value bits per byte, the
// high bit set on every byte but the last.
//
// Contract:
//  - read_uvarint() accepts only the minimal encoding (no trailing 0x00 group
//    except for the value 0 itself) of a value below 2^63, in at most
//    kMaxUvarintBytes bytes — the multiformats unsigned-varint rules. Anything
//    else is an error with a stable name (varint_error_name), never a value.
//  - It reads from the front of `in` only; `length` says how many bytes the
//    varint took. It never reads past `in`.
//  - append_uvarint() writes the minimal encoding; values must be < 2^63.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace faultline::relay::proto {

inline constexpr std::size_t kMaxUvarintBytes = 9;

enum class VarintError : std::uint8_t { kNone, kTruncated, kNonMinimal, kOverflow };

// "truncated", "non-minimal", "overflow" ("" for kNone).
const char* varint_error_name(VarintError e);

struct VarintRead {
  std::uint64_t value = 0;
  std::size_t length = 0;  // bytes consumed (0 on error)
  VarintError error = VarintError::kNone;
  bool ok() const { return error == VarintError::kNone; }
};

VarintRead read_uvarint(std::span<const std::uint8_t> in);

std::size_t uvarint_size(std::uint64_t value);

void append_uvarint(std::vector<std::uint8_t>& out, std::uint64_t value);

// Writes the minimal encoding to `out` (room for kMaxUvarintBytes + 1 bytes);
// returns its length.
std::size_t write_uvarint(std::uint8_t* out, std::uint64_t value);

}  // namespace faultline::relay::proto
