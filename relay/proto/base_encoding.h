// Text encodings of bytes used by atproto: base32 (RFC 4648 alphabet, lower
// case, no padding — multibase 'b', the form of CID strings), base58btc (the
// bare form of legacy CIDv0 strings) and base64 (RFC 4648 standard alphabet —
// the `{"$bytes": ...}` JSON form).
//
// Contract:
//  - Encoders are total; base32/base64 encoders never pad (atproto's form).
//  - Decoders are strict and return nullopt on any character outside the
//    alphabet, on an impossible length, and on non-zero bits left over in the
//    last character (so every accepted string is the canonical encoding of
//    its bytes). base64_decode additionally accepts the padded form ('='
//    up to a multiple of four), since other implementations emit it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::relay::proto {

std::string base32_lower_encode(std::span<const std::uint8_t> data);
std::optional<std::vector<std::uint8_t>> base32_lower_decode(std::string_view text);

std::string base58btc_encode(std::span<const std::uint8_t> data);

std::string base64_encode(std::span<const std::uint8_t> data);
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace faultline::relay::proto
