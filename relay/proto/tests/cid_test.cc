// Unit tests of Cid: binary and string forms, CIDv0, compute/matches,
// equality and hashing.
#include <gtest/gtest.h>

#include <unordered_set>

#include "relay/proto/base_encoding.h"
#include "relay/proto/cid.h"
#include "relay/proto/sha256.h"

namespace proto = faultline::relay::proto;
using proto::Cid;
using Bytes = std::vector<std::uint8_t>;

namespace {

// From the atproto data-model fixtures.
constexpr const char* kDagCborCid = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a";
constexpr const char* kRawCid = "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity";

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

TEST(Cid, ParsesAtprotoCids) {
  const auto c = Cid::parse(kDagCborCid);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->version(), 1);
  EXPECT_EQ(c->codec(), proto::kCodecDagCbor);
  EXPECT_EQ(c->hash_code(), proto::kHashSha256);
  EXPECT_EQ(c->digest().size(), 32u);
  EXPECT_EQ(c->raw().size(), 36u);
  EXPECT_EQ(c->to_string(), kDagCborCid);
  const auto raw = Cid::parse(kRawCid);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->codec(), proto::kCodecRaw);
  EXPECT_EQ(raw->to_string(), kRawCid);
  EXPECT_FALSE(*c == *raw);
}

TEST(Cid, RejectsOtherStrings) {
  EXPECT_FALSE(Cid::parse(""));
  EXPECT_FALSE(Cid::parse("b"));
  EXPECT_FALSE(Cid::parse("."));
  EXPECT_FALSE(Cid::parse("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR"));  // CIDv0 string
  EXPECT_FALSE(Cid::parse("zdj7WWeQ43G6JJvLWQWZpyHuAMq6uYWRjkBXFad11vE2LHhQ7"));  // base58 multibase
  EXPECT_FALSE(Cid::parse(std::string(kDagCborCid) + "a"));                      // trailing data
  EXPECT_FALSE(Cid::parse(std::string(kDagCborCid).substr(0, 40)));              // truncated digest
  std::string upper = kDagCborCid;
  upper[5] = 'E';
  EXPECT_FALSE(Cid::parse(upper));
}

TEST(Cid, BinaryRoundTrip) {
  const auto c = Cid::parse(kDagCborCid);
  ASSERT_TRUE(c);
  Bytes b = c->bytes();
  b.push_back(0xff);  // followed by other data
  std::size_t used = 0;
  const auto d = Cid::from_bytes(b, &used);
  ASSERT_TRUE(d);
  EXPECT_EQ(used, 36u);
  EXPECT_EQ(*d, *c);
  EXPECT_EQ(d->bytes(), c->bytes());
}

TEST(Cid, FromBytesRejectsMalformed) {
  const Bytes good = Cid::parse(kDagCborCid)->bytes();
  EXPECT_FALSE(Cid::from_bytes(Bytes{}));
  EXPECT_FALSE(Cid::from_bytes(Bytes(good.begin(), good.end() - 1)));  // digest truncated
  Bytes v2 = good;
  v2[0] = 0x02;
  EXPECT_FALSE(Cid::from_bytes(v2));  // version 2
  Bytes nonmin = {0x01, 0xf1, 0x00, 0x12, 0x20};  // codec 0x71 as a two-byte varint
  nonmin.insert(nonmin.end(), good.begin() + 4, good.end());
  EXPECT_FALSE(Cid::from_bytes(nonmin));
  Bytes too_long = {0x01, 0x71, 0x12, 0x41};  // 65-byte digest
  too_long.resize(4 + 65, 0);
  EXPECT_FALSE(Cid::from_bytes(too_long));
}

TEST(Cid, DecodesCidV0) {
  // A CIDv0 is the bare multihash 0x12 0x20 + digest.
  const auto digest = proto::sha256(bytes_of("hello"));
  Bytes b = {0x12, 0x20};
  b.insert(b.end(), digest.begin(), digest.end());
  std::size_t used = 0;
  const auto c = Cid::from_bytes(b, &used);
  ASSERT_TRUE(c);
  EXPECT_EQ(used, 34u);
  EXPECT_EQ(c->version(), 0);
  EXPECT_EQ(c->codec(), proto::kCodecDagPb);
  EXPECT_TRUE(c->matches(bytes_of("hello")));
  EXPECT_EQ(c->to_string(), proto::base58btc_encode(b));
  EXPECT_EQ(c->to_string().substr(0, 2), "Qm");
  EXPECT_FALSE(Cid::parse(c->to_string()));  // atproto strings are CIDv1 only
}

TEST(Cid, ComputeAndMatches) {
  const Bytes data = bytes_of("some block");
  const Cid c = Cid::compute(proto::kCodecDagCbor, data);
  EXPECT_EQ(c.version(), 1);
  EXPECT_EQ(c.codec(), proto::kCodecDagCbor);
  EXPECT_TRUE(c.matches(data));
  EXPECT_FALSE(c.matches(bytes_of("some block!")));
  const auto digest = proto::sha256(data);
  EXPECT_TRUE(std::equal(digest.begin(), digest.end(), c.digest().begin()));
  EXPECT_EQ(c.raw()[0], 0x01);
  EXPECT_EQ(c.raw()[1], 0x71);
  EXPECT_EQ(c.raw()[2], 0x12);
  EXPECT_EQ(c.raw()[3], 0x20);
  EXPECT_EQ(c.to_string().substr(0, 4), "bafy");
  EXPECT_EQ(Cid::compute(proto::kCodecRaw, data).to_string().substr(0, 4), "bafk");
  const auto parsed = Cid::parse(c.to_string());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, c);
}

TEST(Cid, MatchesNeedsSha256) {
  // identity multihash (0x00): never "matches", since only sha2-256 is checked
  Bytes b = {0x01, 0x55, 0x00, 0x03, 'a', 'b', 'c'};
  const auto c = Cid::from_bytes(b);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->matches(bytes_of("abc")));
  EXPECT_FALSE(Cid().matches(bytes_of("abc")));
}

TEST(Cid, EmptyDefault) {
  Cid c;
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.to_string(), "");
  EXPECT_TRUE(c.bytes().empty());
  EXPECT_FALSE(c == Cid::compute(proto::kCodecRaw, Bytes{}));
}

TEST(Cid, HashDistinguishes) {
  std::unordered_set<Cid> set;
  for (int i = 0; i < 1000; ++i) set.insert(Cid::compute(proto::kCodecRaw, bytes_of(std::to_string(i))));
  EXPECT_EQ(set.size(), 1000u);
  EXPECT_TRUE(set.count(Cid::compute(proto::kCodecRaw, bytes_of("500"))));
  EXPECT_FALSE(set.count(Cid::compute(proto::kCodecDagCbor, bytes_of("500"))));
}

}  // namespace
