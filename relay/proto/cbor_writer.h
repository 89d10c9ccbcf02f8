// Canonical DAG-CBOR encoding: `encode(Value)` and the streaming `Writer`
// it is built on.
//
// Contract:
//  - Every head uses the shortest argument encoding; lengths are definite;
//    links are tag 42 over a byte string 0x00 + binary CID. encode() of a
//    Value is canonical DAG-CBOR (Map keeps canonical key order), so
//    decode(encode(v)) == v and encode(decode(b)) == b for any b the strict
//    decoder accepts.
//  - Writer appends to a caller-owned buffer and checks nothing: the caller
//    writes exactly the announced number of items and, for maps, the keys in
//    canonical order (length first, then bytewise) — the fast path for
//    builders that know their keys. Values are safer; tests decode what a
//    Writer produced with the strict decoder.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "relay/proto/cbor_value.h"
#include "relay/proto/cid.h"

namespace faultline::relay::proto::cbor {

class Writer {
 public:
  explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}

  void null() { out_.push_back(0xf6); }
  void boolean(bool b) { out_.push_back(b ? 0xf5 : 0xf4); }
  void integer(std::int64_t i);
  void bytes(std::span<const std::uint8_t> b);
  void text(std::string_view s);
  void array_header(std::uint64_t n) { head(4, n); }
  void map_header(std::uint64_t n) { head(5, n); }
  void link(const Cid& c);
  void value(const Value& v);

  // The head of a data item: major type (0..7) and its argument, shortest form.
  void head(std::uint8_t major, std::uint64_t arg);

  std::vector<std::uint8_t>& buffer() { return out_; }

 private:
  std::vector<std::uint8_t>& out_;
};

// Size in bytes of head(major, arg).
std::size_t head_size(std::uint64_t arg);

std::vector<std::uint8_t> encode(const Value& v);
void encode_to(const Value& v, std::vector<std::uint8_t>& out);

}  // namespace faultline::relay::proto::cbor
