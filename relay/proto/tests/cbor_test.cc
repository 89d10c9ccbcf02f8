// Unit tests of the DAG-CBOR value model, the strict decoder (each rejection
// reason on a hand-made input) and the canonical encoder.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "relay/proto/cbor.h"

namespace proto = faultline::relay::proto;
namespace cbor = faultline::relay::proto::cbor;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr const char* kCid = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a";

// The reason code decode() gives, or "ok".
std::string reason(const Bytes& b, cbor::DecodeOptions opts = {}) {
  const auto r = cbor::decode(b, opts);
  return r.ok() ? "ok" : r.error.reason;
}

Bytes link_bytes(const proto::Cid& c) {
  // Built byte by byte: GCC 12 warns falsely (-Warray-bounds) on insert()
  // after an initializer list here.
  Bytes out;
  out.reserve(5 + c.raw().size());
  for (std::uint8_t b : {std::uint8_t{0xd8}, std::uint8_t{0x2a}, std::uint8_t{0x58},
                         static_cast<std::uint8_t>(c.raw().size() + 1), std::uint8_t{0x00}}) {
    out.push_back(b);
  }
  for (std::uint8_t b : c.raw()) out.push_back(b);
  return out;
}

// ---- value model -----------------------------------------------------------

TEST(CborValue, MapKeepsCanonicalOrder) {
  cbor::Map m;
  m.set("bb", 1);
  m.set("a", 2);
  m.set("c", 3);
  m.set("aaa", 4);
  m.set("ab", 5);
  std::vector<std::string> keys;
  for (const auto& e : m) keys.push_back(e.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "c", "ab", "bb", "aaa"}));
  m.set("a", 9);  // replace, no duplicate
  EXPECT_EQ(m.size(), 5u);
  EXPECT_EQ(m.find("a")->as_int(), 9);
  EXPECT_TRUE(m.erase("c"));
  EXPECT_FALSE(m.erase("c"));
  EXPECT_EQ(m.find("c"), nullptr);
  EXPECT_FALSE(m.append_sorted("a", 1));   // not after "aaa"
  EXPECT_TRUE(m.append_sorted("zzzz", 1));
}

TEST(CborValue, LargeMapLookup) {
  cbor::Map m;
  for (int i = 0; i < 100; ++i) m.set("k" + std::to_string(i), i);
  for (int i = 0; i < 100; ++i) {
    const cbor::Value* v = m.find("k" + std::to_string(i));
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->as_int(), i);
  }
  EXPECT_EQ(m.find("k100"), nullptr);
}

TEST(CborValue, CheckedAccessors) {
  const cbor::Value v = cbor::Map{{"n", 5}, {"s", "text"}, {"b", true}, {"l", *proto::Cid::parse(kCid)},
                                  {"x", cbor::Bytes{1, 2}}, {"a", cbor::Array{1, 2}}, {"z", nullptr}};
  EXPECT_EQ(v.type(), cbor::Type::kMap);
  EXPECT_EQ(v.find("n")->as_int(), 5);
  EXPECT_EQ(v.find("n")->as_text(), std::nullopt);
  EXPECT_EQ(v.find("s")->as_text(), "text");
  EXPECT_EQ(v.find("s")->as_int(), std::nullopt);
  EXPECT_EQ(v.find("b")->as_bool(), true);
  EXPECT_EQ(v.find("l")->as_link()->to_string(), kCid);
  EXPECT_EQ(*v.find("x")->as_bytes(), (cbor::Bytes{1, 2}));
  EXPECT_EQ(v.find("a")->as_array()->size(), 2u);
  EXPECT_TRUE(v.find("z")->is_null());
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_EQ(v.find("n")->find("anything"), nullptr);  // not a map
  EXPECT_EQ(v.find("n")->as_map(), nullptr);
  EXPECT_STREQ(cbor::type_name(v.find("l")->type()), "link");
}

// ---- encoder ---------------------------------------------------------------

TEST(CborEncode, ShortestIntegers) {
  const std::vector<std::pair<std::int64_t, Bytes>> cases = {
      {0, {0x00}},
      {23, {0x17}},
      {24, {0x18, 0x18}},
      {255, {0x18, 0xff}},
      {256, {0x19, 0x01, 0x00}},
      {65535, {0x19, 0xff, 0xff}},
      {65536, {0x1a, 0x00, 0x01, 0x00, 0x00}},
      {4294967296, {0x1b, 0, 0, 0, 1, 0, 0, 0, 0}},
      {-1, {0x20}},
      {-24, {0x37}},
      {-25, {0x38, 0x18}},
      {-256, {0x38, 0xff}},
      {-257, {0x39, 0x01, 0x00}},
      {INT64_MAX, {0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
      {INT64_MIN, {0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
  };
  for (const auto& [v, enc] : cases) {
    EXPECT_EQ(cbor::encode(cbor::Value(v)), enc) << v;
    const auto d = cbor::decode(enc);
    ASSERT_TRUE(d.ok()) << v << " " << d.error.message();
    EXPECT_EQ(d.value->as_int(), v);
  }
}

TEST(CborEncode, KnownItems) {
  EXPECT_EQ(cbor::encode(cbor::Value()), Bytes{0xf6});
  EXPECT_EQ(cbor::encode(cbor::Value(true)), Bytes{0xf5});
  EXPECT_EQ(cbor::encode(cbor::Value(false)), Bytes{0xf4});
  EXPECT_EQ(cbor::encode(cbor::Value("a")), (Bytes{0x61, 'a'}));
  EXPECT_EQ(cbor::encode(cbor::Value(cbor::Bytes{1})), (Bytes{0x41, 1}));
  EXPECT_EQ(cbor::encode(cbor::Value(cbor::Array{1, "a"})), (Bytes{0x82, 0x01, 0x61, 'a'}));
  EXPECT_EQ(cbor::encode(cbor::Map{{"b", 1}, {"a", 2}}), (Bytes{0xa2, 0x61, 'a', 0x02, 0x61, 'b', 0x01}));
  const auto c = *proto::Cid::parse(kCid);
  EXPECT_EQ(cbor::encode(cbor::Value(c)), link_bytes(c));
}

TEST(CborEncode, LongLengthsUseLongHeads) {
  const std::string s(300, 'x');
  const Bytes enc = cbor::encode(cbor::Value(s));
  ASSERT_EQ(enc.size(), 303u);
  EXPECT_EQ(enc[0], 0x79);  // text, 2-byte length
  EXPECT_EQ(enc[1], 0x01);
  EXPECT_EQ(enc[2], 0x2c);
  EXPECT_EQ(cbor::decode(enc).value->text(), s);
}

// A random tree of every kind, for round trips.
cbor::Value random_value(std::mt19937& rng, int depth) {
  const int kind = static_cast<int>(rng() % (depth > 3 ? 6 : 8));
  switch (kind) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<std::int64_t>((static_cast<std::uint64_t>(rng()) << 32 | rng())) >> (rng() % 64);
    case 3: {
      cbor::Bytes b(rng() % 40);
      for (auto& x : b) x = static_cast<std::uint8_t>(rng());
      return b;
    }
    case 4:
      return std::string(rng() % 30, static_cast<char>('a' + rng() % 26)) + "é";
    case 5:
      return proto::Cid::compute(rng() % 2 ? proto::kCodecRaw : proto::kCodecDagCbor, Bytes{static_cast<std::uint8_t>(rng())});
    case 6: {
      cbor::Array a;
      for (unsigned i = rng() % 5; i > 0; --i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      cbor::Map m;
      for (unsigned i = rng() % 6; i > 0; --i) m.set(std::string(1 + rng() % 4, static_cast<char>('a' + rng() % 5)), random_value(rng, depth + 1));
      return m;
    }
  }
}

TEST(CborEncode, RandomTreesRoundTrip) {
  std::mt19937 rng(42);
  for (int i = 0; i < 500; ++i) {
    const cbor::Value v = random_value(rng, 0);
    const Bytes enc = cbor::encode(v);
    const auto d = cbor::decode(enc);
    ASSERT_TRUE(d.ok()) << d.error.message();
    EXPECT_EQ(*d.value, v);
    EXPECT_EQ(cbor::encode(*d.value), enc);
    EXPECT_FALSE(cbor::validate(enc));
  }
}

// ---- strict decoder: one rejection per rule ---------------------------------

TEST(CborDecode, RejectsNonShortestIntegers) {
  EXPECT_EQ(reason({0x18, 0x17}), "non-shortest");                    // 23 in one extra byte
  EXPECT_EQ(reason({0x19, 0x00, 0xff}), "non-shortest");              // 255 in two bytes
  EXPECT_EQ(reason({0x1a, 0x00, 0x00, 0xff, 0xff}), "non-shortest");  // 65535 in four
  EXPECT_EQ(reason({0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}), "non-shortest");
  EXPECT_EQ(reason({0x38, 0x00}), "non-shortest");  // -1 long form
  EXPECT_EQ(reason({0x78, 0x01, 'a'}), "non-shortest");  // text length
  EXPECT_EQ(reason({0x98, 0x00}), "non-shortest");        // array length
  EXPECT_EQ(reason({0xb8, 0x00}), "non-shortest");        // map length
  EXPECT_EQ(reason({0xd9, 0x00, 0x2a}), "non-shortest");  // tag 42 in two bytes
  EXPECT_EQ(reason({0x18, 0x18}), "ok");
}

TEST(CborDecode, RejectsIntegersOutsideInt64) {
  EXPECT_EQ(reason({0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0}), "int-out-of-range");
  EXPECT_EQ(reason({0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0}), "int-out-of-range");
  EXPECT_EQ(reason({0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), "ok");
}

TEST(CborDecode, RejectsIndefiniteLengths) {
  EXPECT_EQ(reason({0x5f, 0x41, 0x00, 0xff}), "indefinite-length");
  EXPECT_EQ(reason({0x7f, 0x61, 'a', 0xff}), "indefinite-length");
  EXPECT_EQ(reason({0x9f, 0x01, 0xff}), "indefinite-length");
  EXPECT_EQ(reason({0xbf, 0x61, 'a', 0x01, 0xff}), "indefinite-length");
  EXPECT_EQ(reason({0xff}), "unexpected-break");
  EXPECT_EQ(reason({0x1f}), "reserved-info");
  EXPECT_EQ(reason({0x1c}), "reserved-info");
  EXPECT_EQ(reason({0xfc}), "reserved-info");
}

TEST(CborDecode, RejectsFloatsAndSimpleValues) {
  EXPECT_EQ(reason({0xf9, 0x3c, 0x00}), "float");  // half 1.0
  EXPECT_EQ(reason({0xfa, 0x3f, 0x80, 0x00, 0x00}), "float");
  EXPECT_EQ(reason({0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}), "float");
  EXPECT_EQ(reason({0xf7}), "undefined");
  EXPECT_EQ(reason({0xf0}), "simple-value");
  EXPECT_EQ(reason({0xf8, 0x20}), "simple-value");
  EXPECT_EQ(reason({0xf4}), "ok");
  EXPECT_EQ(reason({0xf5}), "ok");
  EXPECT_EQ(reason({0xf6}), "ok");
}

TEST(CborDecode, MapKeysTextSortedUnique) {
  EXPECT_EQ(reason({0xa2, 0x61, 'a', 0x01, 0x61, 'b', 0x02}), "ok");
  EXPECT_EQ(reason({0xa2, 0x61, 'b', 0x01, 0x61, 'a', 0x02}), "unsorted-keys");
  // "b" (1) before "aa" (2): length first, so this is canonical ...
  EXPECT_EQ(reason({0xa2, 0x61, 'b', 0x01, 0x62, 'a', 'a', 0x02}), "ok");
  // ... and plain bytewise order is not.
  EXPECT_EQ(reason({0xa2, 0x62, 'a', 'a', 0x01, 0x61, 'b', 0x02}), "unsorted-keys");
  EXPECT_EQ(reason({0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02}), "duplicate-key");
  EXPECT_EQ(reason({0xa1, 0x01, 0x02}), "non-text-key");
  EXPECT_EQ(reason({0xa1, 0x41, 'a', 0x02}), "non-text-key");  // byte-string key
}

TEST(CborDecode, RejectsBadUtf8) {
  EXPECT_EQ(reason({0x62, 0xc3, 0x28}), "bad-utf8");
  EXPECT_EQ(reason({0xa1, 0x61, 0xff, 0x01}), "bad-utf8");  // in a key
  EXPECT_EQ(reason({0x62, 0xc3, 0xa9}), "ok");
}

TEST(CborDecode, OnlyTag42WithAValidCid) {
  const auto c = *proto::Cid::parse(kCid);
  EXPECT_EQ(reason(link_bytes(c)), "ok");
  EXPECT_EQ(reason({0xc1, 0x00}), "bad-tag");        // epoch time
  EXPECT_EQ(reason({0xd8, 0x2b, 0x41, 0x00}), "bad-tag");
  Bytes no_prefix = link_bytes(c);
  no_prefix[4] = 0x01;                                // multibase prefix must be 0x00
  EXPECT_EQ(reason(no_prefix), "bad-link");
  Bytes text_content = {0xd8, 0x2a, 0x61, 'a'};       // content not bytes
  EXPECT_EQ(reason(text_content), "bad-link");
  Bytes trailing = link_bytes(c);                     // a byte after the CID inside the string
  trailing[3] += 1;
  trailing.push_back(0x00);
  EXPECT_EQ(reason(trailing), "bad-link");
  Bytes short_cid = link_bytes(c);                    // CID cut short inside the string
  short_cid[3] -= 1;
  short_cid.pop_back();
  EXPECT_EQ(reason(short_cid), "bad-link");
  Bytes v0 = {0xd8, 0x2a, 0x58, 35, 0x00, 0x12, 0x20};  // CIDv0 in a link
  v0.resize(7 + 32, 0xab);
  EXPECT_EQ(reason(v0), "bad-link");
  EXPECT_EQ(reason({0xd8, 0x2a, 0x41, 0x00}), "bad-link");  // just the prefix
}

TEST(CborDecode, RejectsTruncatedInput) {
  EXPECT_EQ(reason({}), "truncated");
  EXPECT_EQ(reason({0x19, 0x01}), "truncated");
  EXPECT_EQ(reason({0x63, 'a', 'b'}), "truncated");
  EXPECT_EQ(reason({0x43, 1, 2}), "truncated");
  EXPECT_EQ(reason({0x82, 0x01}), "truncated");
  EXPECT_EQ(reason({0xa1, 0x61, 'a'}), "truncated");
  // A huge declared length is rejected before anything is allocated.
  EXPECT_EQ(reason({0x9b, 0x00, 0x00, 0x00, 0x10, 0, 0, 0, 0}), "truncated");
  EXPECT_EQ(reason({0x5b, 0x00, 0x00, 0x00, 0x10, 0, 0, 0, 0}), "truncated");
  EXPECT_EQ(reason({0xbb, 0x00, 0x00, 0x00, 0x10, 0, 0, 0, 0}), "truncated");
  // Every proper prefix of a valid item is truncated.
  const Bytes full = cbor::encode(cbor::Map{{"a", cbor::Array{1, "xyz", cbor::Bytes{1, 2, 3}}}, {"bb", nullptr}});
  for (std::size_t n = 0; n < full.size(); ++n) {
    EXPECT_EQ(reason(Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n))), "truncated") << n;
  }
}

TEST(CborDecode, RejectsTrailingBytesButPrefixDecodes) {
  const Bytes two = {0x01, 0x61, 'a'};
  const auto whole = cbor::decode(two);
  EXPECT_EQ(whole.error.reason, "trailing-bytes");
  EXPECT_EQ(whole.error.offset, 1u);
  std::size_t used = 0;
  const auto first = cbor::decode_prefix(two, used);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(used, 1u);
  EXPECT_EQ(first.value->as_int(), 1);
  const auto second = cbor::decode(std::span(two).subspan(used));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.value->as_text(), "a");
  std::size_t vused = 0;
  EXPECT_FALSE(cbor::validate_prefix(two, vused));
  EXPECT_EQ(vused, 1u);
  EXPECT_EQ(cbor::validate(two)->reason, "trailing-bytes");
}

TEST(CborDecode, BoundsNesting) {
  auto nested = [](std::size_t depth, std::uint8_t opener) {
    Bytes b(depth, opener);  // [[[...]]] or {"":{"":...}}
    if (opener == 0xa1) {
      b.clear();
      for (std::size_t i = 0; i < depth; ++i) {
        b.push_back(0xa1);
        b.push_back(0x60);  // key ""
      }
    }
    b.push_back(0x00);
    return b;
  };
  cbor::DecodeOptions opts;
  opts.max_depth = 10;
  EXPECT_EQ(reason(nested(10, 0x81), opts), "ok");
  EXPECT_EQ(reason(nested(11, 0x81), opts), "too-deep");
  EXPECT_EQ(reason(nested(10, 0xa1), opts), "ok");
  EXPECT_EQ(reason(nested(11, 0xa1), opts), "too-deep");
  // The default bound stops a deep bomb without exhausting the stack.
  EXPECT_EQ(reason(nested(100000, 0x81)), "too-deep");
  EXPECT_EQ(cbor::validate(nested(100000, 0x81))->reason, "too-deep");
}

TEST(CborDecode, ErrorOffsetsPointAtTheItem) {
  // {"a": 1, "b": 1.0}: the float starts at byte 6.
  const Bytes b = {0xa2, 0x61, 'a', 0x01, 0x61, 'b', 0xf9, 0x3c, 0x00};
  const auto r = cbor::decode(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.reason, "float");
  EXPECT_EQ(r.error.offset, 6u);
  EXPECT_EQ(r.error.message(), "float at byte 6");
}

TEST(CborReader, StreamsItems) {
  const Bytes b = cbor::encode(cbor::Map{{"op", 1}, {"t", "#commit"}, {"deep", cbor::Array{cbor::Map{{"x", 1}}}}});
  cbor::Reader rd(b);
  const auto n = rd.read_map_header();
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(rd.read_text(), "t");
  EXPECT_EQ(rd.read_int(), std::nullopt);  // it is text: fails without moving
  EXPECT_EQ(rd.error().reason, "unexpected-type");
  EXPECT_EQ(rd.read_text(), "#commit");
  EXPECT_EQ(rd.read_text(), "op");
  EXPECT_EQ(rd.read_int(), 1);
  EXPECT_EQ(rd.read_text(), "deep");
  EXPECT_TRUE(rd.skip());
  EXPECT_TRUE(rd.at_end());
}

}  // namespace
