#include "relay/proto/cbor_writer.h"

namespace faultline::relay::proto::cbor {

std::size_t head_size(std::uint64_t arg) {
  if (arg < 24) return 1;
  if (arg <= 0xff) return 2;
  if (arg <= 0xffff) return 3;
  if (arg <= 0xffffffffull) return 5;
  return 9;
}

void Writer::head(std::uint8_t major, std::uint64_t arg) {
  const std::uint8_t m = static_cast<std::uint8_t>(major << 5);
  if (arg < 24) {
    out_.push_back(static_cast<std::uint8_t>(m | arg));
  } else if (arg <= 0xff) {
    out_.push_back(m | 24);
    out_.push_back(static_cast<std::uint8_t>(arg));
  } else if (arg <= 0xffff) {
    const std::uint8_t b[3] = {static_cast<std::uint8_t>(m | 25), static_cast<std::uint8_t>(arg >> 8),
                               static_cast<std::uint8_t>(arg)};
    out_.insert(out_.end(), b, b + 3);
  } else if (arg <= 0xffffffffull) {
    const std::uint8_t b[5] = {static_cast<std::uint8_t>(m | 26), static_cast<std::uint8_t>(arg >> 24),
                               static_cast<std::uint8_t>(arg >> 16), static_cast<std::uint8_t>(arg >> 8),
                               static_cast<std::uint8_t>(arg)};
    out_.insert(out_.end(), b, b + 5);
  } else {
    std::uint8_t b[9];
    b[0] = static_cast<std::uint8_t>(m | 27);
    for (int i = 0; i < 8; ++i) b[1 + i] = static_cast<std::uint8_t>(arg >> (56 - 8 * i));
    out_.insert(out_.end(), b, b + 9);
  }
}

void Writer::integer(std::int64_t i) {
  if (i >= 0) {
    head(0, static_cast<std::uint64_t>(i));
  } else {
    // -1 - i without overflow for INT64_MIN.
    head(1, ~static_cast<std::uint64_t>(i));
  }
}

void Writer::bytes(std::span<const std::uint8_t> b) {
  head(2, b.size());
  out_.insert(out_.end(), b.begin(), b.end());
}

void Writer::text(std::string_view s) {
  head(3, s.size());
  out_.insert(out_.end(), s.begin(), s.end());
}

void Writer::link(const Cid& c) {
  const auto raw = c.raw();
  out_.push_back(0xd8);  // tag, one-byte argument
  out_.push_back(42);
  head(2, raw.size() + 1);
  out_.push_back(0x00);  // multibase identity prefix
  out_.insert(out_.end(), raw.begin(), raw.end());
}

void Writer::value(const Value& v) {
  switch (v.type()) {
    case Type::kNull:
      null();
      return;
    case Type::kBool:
      boolean(v.bool_value());
      return;
    case Type::kInt:
      integer(v.int_value());
      return;
    case Type::kBytes:
      bytes(v.bytes());
      return;
    case Type::kText:
      text(v.text());
      return;
    case Type::kArray:
      array_header(v.array().size());
      for (const Value& item : v.array()) value(item);
      return;
    case Type::kMap:
      map_header(v.map().size());
      for (const MapEntry& e : v.map()) {
        text(e.key);
        value(e.value);
      }
      return;
    case Type::kLink:
      link(v.link());
      return;
  }
}

void encode_to(const Value& v, std::vector<std::uint8_t>& out) {
  Writer w(out);
  w.value(v);
}

std::vector<std::uint8_t> encode(const Value& v) {
  std::vector<std::uint8_t> out;
  encode_to(v, out);
  return out;
}

}  // namespace faultline::relay::proto::cbor
