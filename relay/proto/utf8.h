// Strict UTF-8 validation (RFC 3629): DAG-CBOR text strings and atproto
// strings must be valid UTF-8.
//
// Contract: true iff `s` is well-formed UTF-8 — no overlong forms, no
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated
// sequence. Never reads outside `s`. ASCII runs take a fast path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace faultline::relay::proto {

bool is_valid_utf8(const std::uint8_t* data, std::size_t size);

inline bool is_valid_utf8(std::string_view s) {
  return is_valid_utf8(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

}  // namespace faultline::relay::proto
