// Content identifiers (CIDs, multiformats): the links of atproto data.
//
// A CIDv1 is varint(version=1) varint(codec) varint(hash code)
// varint(digest length) digest; a CIDv0 is a bare sha2-256 multihash
// (0x12 0x20 + 32 bytes) whose codec is implicitly dag-pb. atproto uses
// CIDv1 with codec dag-cbor (0x71) for records/commits/MST nodes and raw
// (0x55) for blobs, sha2-256 (0x12) digests, and the base32-lower multibase
// string form ("bafy...").
//
// Contract:
//  - from_bytes() decodes one binary CID from the front of its input (v1, or
//    v0 when the input starts 0x12 0x20) and reports how many bytes it used;
//    varints must be minimal, the version must be 1 (or the v0 form), the
//    digest at most kMaxDigestBytes bytes. Anything else: nullopt. Layers
//    that implement atproto (DAG-CBOR links, CAR blocks) additionally
//    require version() == 1.
//  - parse() accepts exactly 'b' + base32-lower (no padding, canonical) of a
//    complete CIDv1 — the only string form atproto uses. CIDv0 strings
//    ("Qm...") and other multibases are rejected.
//  - bytes()/raw() give the exact binary form a CID was decoded from (it is
//    canonical, since from_bytes only accepts minimal varints), so
//    decode → encode round-trips byte for byte.
//  - compute() builds a CIDv1 with a sha2-256 digest of `data`; matches()
//    is true iff the CID's multihash is sha2-256/32 and equals SHA-256(data).
//  - A default-constructed Cid is empty(): no version, no bytes, "" as text;
//    it never compares equal to a decoded CID.
//  - Cids are small values (no heap), cheap to copy and hash.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::relay::proto {

inline constexpr std::uint64_t kCodecDagCbor = 0x71;
inline constexpr std::uint64_t kCodecRaw = 0x55;
inline constexpr std::uint64_t kCodecDagPb = 0x70;  // implicit codec of CIDv0
inline constexpr std::uint64_t kHashSha256 = 0x12;

class Cid {
 public:
  static constexpr std::size_t kMaxDigestBytes = 64;
  // version (1) + codec (<= 9) + hash code (<= 9) + digest length (1) + digest.
  static constexpr std::size_t kMaxBytes = 1 + 9 + 9 + 1 + kMaxDigestBytes;

  Cid() = default;

  static std::optional<Cid> from_bytes(std::span<const std::uint8_t> in, std::size_t* consumed = nullptr);
  static std::optional<Cid> parse(std::string_view text);
  static Cid compute(std::uint64_t codec, std::span<const std::uint8_t> data);

  bool matches(std::span<const std::uint8_t> data) const;

  bool empty() const { return size_ == 0; }
  int version() const { return version_; }
  std::uint64_t codec() const { return codec_; }
  std::uint64_t hash_code() const { return hash_code_; }
  std::span<const std::uint8_t> digest() const {
    return {bytes_.data() + digest_offset_, static_cast<std::size_t>(size_ - digest_offset_)};
  }

  // The binary form, without the 0x00 multibase prefix DAG-CBOR adds.
  std::span<const std::uint8_t> raw() const { return {bytes_.data(), size_}; }
  std::vector<std::uint8_t> bytes() const { return {bytes_.data(), bytes_.data() + size_}; }

  // 'b' + base32-lower for v1; base58btc ("Qm...") for v0; "" when empty.
  std::string to_string() const;

  friend bool operator==(const Cid& a, const Cid& b) {
    return a.size_ == b.size_ && std::equal(a.bytes_.begin(), a.bytes_.begin() + a.size_, b.bytes_.begin());
  }

 private:
  std::uint64_t codec_ = 0;
  std::uint64_t hash_code_ = 0;
  std::uint8_t size_ = 0;
  std::uint8_t version_ = 0;
  std::uint8_t digest_offset_ = 0;
  std::array<std::uint8_t, kMaxBytes> bytes_{};
};

}  // namespace faultline::relay::proto

template <>
struct std::hash<faultline::relay::proto::Cid> {
  std::size_t operator()(const faultline::relay::proto::Cid& c) const noexcept;
};
