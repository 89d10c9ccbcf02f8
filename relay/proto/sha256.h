// SHA-256 (FIPS 180-4) via OpenSSL: the only multihash atproto uses (0x12).
//
// Contract: total and thread-safe; the EVP digest is fetched once per
// process and each thread keeps its own context, so a call does not allocate.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace faultline::relay::proto {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(std::span<const std::uint8_t> data);

}  // namespace faultline::relay::proto
