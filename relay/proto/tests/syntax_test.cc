// Identifier syntax against the interop fixtures
// (atproto-interop/syntax/*_{valid,invalid}.txt), plus TIDs.
#include <gtest/gtest.h>

#include <functional>

#include "relay/proto/syntax.h"
#include "relay/proto/tests/fixtures.h"
#include "relay/proto/tid.h"

namespace proto = faultline::relay::proto;
using proto::testing::fixture_lines;
using proto::testing::read_fixture;

namespace {

struct Case {
  const char* name;  // fixture prefix
  std::function<bool(std::string_view)> check;
};

class SyntaxFixtures : public ::testing::TestWithParam<Case> {};

TEST_P(SyntaxFixtures, ValidAcceptedInvalidRejected) {
  const Case& c = GetParam();
  const auto valid = read_fixture(std::string("atproto-interop/syntax/") + c.name + "_syntax_valid.txt");
  const auto invalid = read_fixture(std::string("atproto-interop/syntax/") + c.name + "_syntax_invalid.txt");
  if (!valid || !invalid) GTEST_SKIP() << "syntax fixtures for " << c.name << " not found";
  const auto good = fixture_lines(*valid);
  const auto bad = fixture_lines(*invalid);
  ASSERT_FALSE(good.empty());
  ASSERT_FALSE(bad.empty());
  for (const auto& s : good) EXPECT_TRUE(c.check(s)) << c.name << " should be valid: '" << s << "'";
  for (const auto& s : bad) EXPECT_FALSE(c.check(s)) << c.name << " should be invalid: '" << s << "'";
}

INSTANTIATE_TEST_SUITE_P(Atproto, SyntaxFixtures,
                         ::testing::Values(Case{"did", proto::is_valid_did}, Case{"handle", proto::is_valid_handle},
                                           Case{"nsid", proto::is_valid_nsid},
                                           Case{"recordkey", proto::is_valid_record_key},
                                           Case{"tid", proto::is_valid_tid},
                                           Case{"datetime", proto::is_valid_datetime},
                                           Case{"cid", proto::is_valid_cid_syntax}),
                         [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });

TEST(Syntax, EdgeCases) {
  EXPECT_FALSE(proto::is_valid_did(""));
  EXPECT_FALSE(proto::is_valid_did("did:plc:"));
  EXPECT_TRUE(proto::is_valid_did("did:plc:" + std::string(2040, 'a')));
  EXPECT_FALSE(proto::is_valid_did("did:plc:" + std::string(2041, 'a')));
  EXPECT_FALSE(proto::is_valid_handle(""));
  EXPECT_TRUE(proto::is_valid_handle("handle.invalid"));
  EXPECT_FALSE(proto::is_valid_nsid(""));
  EXPECT_FALSE(proto::is_valid_nsid("a.b."));
  EXPECT_FALSE(proto::is_valid_record_key(""));
  EXPECT_FALSE(proto::is_valid_record_key(std::string(513, 'a')));
  EXPECT_TRUE(proto::is_valid_record_key(std::string(512, 'a')));
  EXPECT_FALSE(proto::is_valid_datetime(""));
  EXPECT_FALSE(proto::is_valid_datetime("1985-02-29T00:00:00Z"));  // not a leap year
  EXPECT_TRUE(proto::is_valid_datetime("1984-02-29T00:00:00Z"));
  EXPECT_FALSE(proto::is_valid_datetime("1985-04-12T24:00:00Z"));
  EXPECT_FALSE(proto::is_valid_datetime("1985-13-12T23:00:00Z"));
  EXPECT_FALSE(proto::is_valid_datetime("1985-04-12T23:20:50.123+24:00"));
  EXPECT_FALSE(proto::is_valid_datetime("1985-04-12T23:20:50." + std::string(21, '1') + "Z"));
}

TEST(Tid, RoundTripAndOrder) {
  const std::uint64_t t = 1'700'000'000'000'000ull;
  std::string prev;
  for (std::uint32_t i = 0; i < 100; ++i) {
    const std::string tid = proto::make_tid(t + i * 977, i % 1024);
    ASSERT_TRUE(proto::is_valid_tid(tid)) << tid;
    const auto parts = proto::parse_tid(tid);
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->micros, t + i * 977);
    EXPECT_EQ(parts->clock_id, i % 1024);
    EXPECT_LT(prev, tid);
    prev = tid;
  }
  EXPECT_EQ(proto::make_tid(0, 0), "2222222222222");
  EXPECT_TRUE(proto::is_valid_tid(proto::make_tid(~0ull, ~0u)));
  EXPECT_FALSE(proto::parse_tid("3jzfcijpj2z21"));
  // A fixture example decodes to a time in 2023.
  const auto p = proto::parse_tid("3jzfcijpj2z2a");
  ASSERT_TRUE(p);
  EXPECT_GT(p->micros, 1'672'531'200'000'000ull);
  EXPECT_LT(p->micros, 1'704'067'200'000'000ull);
}

TEST(Tid, ClockIsStrictlyIncreasing) {
  proto::TidClock clock(5);
  std::string prev = clock.next_at(1000);
  EXPECT_EQ(proto::parse_tid(prev)->clock_id, 5u);
  for (int i = 0; i < 100; ++i) {
    const std::string next = clock.next_at(1000);  // time did not move
    EXPECT_LT(prev, next);
    prev = next;
  }
  const std::string live = clock.next();
  EXPECT_LT(prev, live);
}

}  // namespace
