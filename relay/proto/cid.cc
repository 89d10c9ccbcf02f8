#include "relay/proto/cid.h"

#include <algorithm>
#include <cstring>

#include "relay/proto/base_encoding.h"
#include "relay/proto/sha256.h"
#include "relay/proto/varint.h"

namespace faultline::relay::proto {

std::optional<Cid> Cid::from_bytes(std::span<const std::uint8_t> in, std::size_t* consumed) {
  Cid c;
  if (in.size() >= 2 && in[0] == 0x12 && in[1] == 0x20) {
    // CIDv0: a bare sha2-256 multihash.
    constexpr std::size_t kV0 = 34;
    if (in.size() < kV0) return std::nullopt;
    std::memcpy(c.bytes_.data(), in.data(), kV0);
    c.size_ = kV0;
    c.version_ = 0;
    c.codec_ = kCodecDagPb;
    c.hash_code_ = kHashSha256;
    c.digest_offset_ = 2;
    if (consumed != nullptr) *consumed = kV0;
    return c;
  }
  std::size_t pos = 0;
  auto next = [&](std::uint64_t& v) {
    const VarintRead r = read_uvarint(in.subspan(pos));
    if (!r.ok()) return false;
    v = r.value;
    pos += r.length;
    return true;
  };
  std::uint64_t version = 0, codec = 0, hash = 0, len = 0;
  if (!next(version) || version != 1) return std::nullopt;
  if (!next(codec) || !next(hash) || !next(len)) return std::nullopt;
  if (len > kMaxDigestBytes || in.size() - pos < len) return std::nullopt;
  const std::size_t total = pos + static_cast<std::size_t>(len);
  // Fits: 1 + 9 + 9 + 1 (len <= 64 is one byte) + 64.
  std::memcpy(c.bytes_.data(), in.data(), total);
  c.size_ = static_cast<std::uint8_t>(total);
  c.version_ = 1;
  c.codec_ = codec;
  c.hash_code_ = hash;
  c.digest_offset_ = static_cast<std::uint8_t>(pos);
  if (consumed != nullptr) *consumed = total;
  return c;
}

std::optional<Cid> Cid::parse(std::string_view text) {
  // The longest possible CIDv1 in base32 is under 140 characters.
  if (text.size() < 2 || text.size() > 2 + (kMaxBytes * 8 + 4) / 5 || text[0] != 'b') return std::nullopt;
  const auto bytes = base32_lower_decode(text.substr(1));
  if (!bytes) return std::nullopt;
  std::size_t used = 0;
  auto cid = from_bytes(*bytes, &used);
  if (!cid || cid->version_ != 1 || used != bytes->size()) return std::nullopt;
  return cid;
}

Cid Cid::compute(std::uint64_t codec, std::span<const std::uint8_t> data) {
  Cid c;
  codec &= 0x7fffffffffffffffull;  // varints carry 63 bits
  std::size_t n = 0;
  c.bytes_[n++] = 1;
  n += write_uvarint(c.bytes_.data() + n, codec);
  c.bytes_[n++] = static_cast<std::uint8_t>(kHashSha256);
  c.bytes_[n++] = 32;
  const Sha256Digest d = sha256(data);
  std::memcpy(c.bytes_.data() + n, d.data(), d.size());
  c.size_ = static_cast<std::uint8_t>(n + d.size());
  c.version_ = 1;
  c.codec_ = codec;
  c.hash_code_ = kHashSha256;
  c.digest_offset_ = static_cast<std::uint8_t>(n);
  return c;
}

bool Cid::matches(std::span<const std::uint8_t> data) const {
  const auto d = digest();
  if (empty() || hash_code_ != kHashSha256 || d.size() != 32) return false;
  const Sha256Digest h = sha256(data);
  return std::equal(h.begin(), h.end(), d.begin());
}

std::string Cid::to_string() const {
  if (empty()) return {};
  if (version_ == 0) return base58btc_encode(raw());
  return "b" + base32_lower_encode(raw());
}

}  // namespace faultline::relay::proto

std::size_t std::hash<faultline::relay::proto::Cid>::operator()(const faultline::relay::proto::Cid& c) const noexcept {
  // The tail of a CID is its digest: already uniformly distributed for
  // sha2-256. FNV-1a over the whole form keeps short digests distinct too.
  std::uint64_t h = 1469598103934665603ull;
  for (std::uint8_t b : c.raw()) {
    h ^= b;
    h *= 1099511628211ull;
  }
  return static_cast<std::size_t>(h);
}
