// Unit tests of the byte-level building blocks: multiformats varints,
// base32/base58/base64, UTF-8 validation and SHA-256.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "relay/proto/base_encoding.h"
#include "relay/proto/sha256.h"
#include "relay/proto/utf8.h"
#include "relay/proto/varint.h"

namespace proto = faultline::relay::proto;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::string hex(std::span<const std::uint8_t> b) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (auto c : b) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

TEST(Varint, KnownEncodings) {
  // Examples from the multiformats unsigned-varint spec.
  const std::vector<std::pair<std::uint64_t, Bytes>> cases = {
      {1, {0x01}}, {127, {0x7f}}, {128, {0x80, 0x01}}, {255, {0xff, 0x01}}, {300, {0xac, 0x02}}, {16384, {0x80, 0x80, 0x01}}};
  for (const auto& [v, enc] : cases) {
    Bytes out;
    proto::append_uvarint(out, v);
    EXPECT_EQ(out, enc) << v;
    EXPECT_EQ(proto::uvarint_size(v), enc.size());
    const auto r = proto::read_uvarint(enc);
    ASSERT_TRUE(r.ok()) << v;
    EXPECT_EQ(r.value, v);
    EXPECT_EQ(r.length, enc.size());
  }
}

TEST(Varint, RoundTripsRandomValues) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t v = rng() >> (1 + rng() % 63);
    Bytes out;
    proto::append_uvarint(out, v);
    std::uint8_t buf[16];
    ASSERT_EQ(proto::write_uvarint(buf, v), out.size());
    EXPECT_TRUE(std::equal(out.begin(), out.end(), buf));
    out.push_back(0x33);  // trailing bytes are not read
    const auto r = proto::read_uvarint(out);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value, v);
    EXPECT_EQ(r.length, out.size() - 1);
  }
}

TEST(Varint, RejectsMalformed) {
  EXPECT_EQ(proto::read_uvarint(Bytes{}).error, proto::VarintError::kTruncated);
  EXPECT_EQ(proto::read_uvarint(Bytes{0x80}).error, proto::VarintError::kTruncated);
  EXPECT_EQ(proto::read_uvarint(Bytes{0x81, 0x00}).error, proto::VarintError::kNonMinimal);
  EXPECT_EQ(proto::read_uvarint(Bytes{0x80, 0x80, 0x00}).error, proto::VarintError::kNonMinimal);
  EXPECT_EQ(proto::read_uvarint(Bytes(9, 0xff)).error, proto::VarintError::kOverflow);
  // The largest value: 63 bits in nine bytes.
  Bytes max(8, 0xff);
  max.push_back(0x7f);
  const auto r = proto::read_uvarint(max);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value, 0x7fffffffffffffffull);
  EXPECT_STREQ(proto::varint_error_name(proto::VarintError::kNonMinimal), "non-minimal");
}

TEST(Base32, Rfc4648Vectors) {
  // RFC 4648 §10, lower-cased and without padding.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""}, {"f", "my"}, {"fo", "mzxq"}, {"foo", "mzxw6"}, {"foob", "mzxw6yq"}, {"fooba", "mzxw6ytb"}, {"foobar", "mzxw6ytboi"}};
  for (const auto& [plain, enc] : cases) {
    EXPECT_EQ(proto::base32_lower_encode(bytes_of(plain)), enc);
    const auto dec = proto::base32_lower_decode(enc);
    ASSERT_TRUE(dec) << enc;
    EXPECT_EQ(*dec, bytes_of(plain));
  }
}

TEST(Base32, RejectsNonCanonical) {
  EXPECT_FALSE(proto::base32_lower_decode("MZXW6"));   // upper case
  EXPECT_FALSE(proto::base32_lower_decode("mzxw6="));  // padding
  EXPECT_FALSE(proto::base32_lower_decode("m"));       // impossible length
  EXPECT_FALSE(proto::base32_lower_decode("mz"));      // 'z' leaves non-zero bits
  EXPECT_FALSE(proto::base32_lower_decode("mzxw1"));   // '1' not in the alphabet
}

TEST(Base64, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : cases) {
    EXPECT_EQ(proto::base64_encode(bytes_of(plain)), enc);
    const auto dec = proto::base64_decode(enc);
    ASSERT_TRUE(dec) << enc;
    EXPECT_EQ(*dec, bytes_of(plain));
  }
  // The padded form is accepted too.
  EXPECT_EQ(proto::base64_decode("Zg=="), bytes_of("f"));
  EXPECT_EQ(proto::base64_decode("Zm8="), bytes_of("fo"));
}

TEST(Base64, RejectsMalformed) {
  EXPECT_FALSE(proto::base64_decode("Z"));      // impossible length
  EXPECT_FALSE(proto::base64_decode("Zg="));    // padding not to a multiple of 4
  EXPECT_FALSE(proto::base64_decode("Zh"));     // non-zero leftover bits
  EXPECT_FALSE(proto::base64_decode("Zm9v!"));  // outside the alphabet
  EXPECT_FALSE(proto::base64_decode("Zm-_"));   // url-safe alphabet is not accepted
}

TEST(Base58, KnownVectors) {
  EXPECT_EQ(proto::base58btc_encode(bytes_of("hello world")), "StV1DL6CwTryKyV");
  EXPECT_EQ(proto::base58btc_encode(Bytes{0, 0, 1}), "112");
  EXPECT_EQ(proto::base58btc_encode(Bytes{}), "");
}

TEST(Utf8, AcceptsWellFormed) {
  EXPECT_TRUE(proto::is_valid_utf8(""));
  EXPECT_TRUE(proto::is_valid_utf8("plain ascii text longer than eight bytes"));
  EXPECT_TRUE(proto::is_valid_utf8("a~öñ©⽘☎𓋓😀👨‍👩‍👧‍👧"));
  EXPECT_TRUE(proto::is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
}

TEST(Utf8, RejectsMalformed) {
  EXPECT_FALSE(proto::is_valid_utf8("\x80"));              // lone continuation
  EXPECT_FALSE(proto::is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(proto::is_valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(proto::is_valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(proto::is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(proto::is_valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(proto::is_valid_utf8("abcdefgh\xe2\x82"));  // truncated after the fast path
  EXPECT_FALSE(proto::is_valid_utf8("\xe2\x28\xa1"));      // bad continuation
}

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(hex(proto::sha256(bytes_of("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(proto::sha256(Bytes{})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
