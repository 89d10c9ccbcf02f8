#include <gtest/gtest.h>

#include "relay/proto/frame.h"
#include "relay/proto/syntax.h"
#include "stress/event_id.h"

namespace faultline::stress {
namespace {

namespace proto = relay::proto;

TEST(EventId, TimeRoundTripsWithMicroseconds) {
  for (std::int64_t us : {0LL, 1LL, 999'999LL, 1'700'000'000'123'456LL, 1'735'689'599'999'999LL, 951'782'400'000'001LL}) {
    std::string s = format_time_us(us);
    EXPECT_TRUE(proto::is_valid_datetime(s)) << s;
    EXPECT_EQ(parse_time_us(s).value_or(-1), us) << s;
  }
  EXPECT_EQ(format_time_us(1'700'000'000'123'456LL), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(parse_time_us("2025-01-01T00:00:00.000Z").value_or(-1), 1'735'689'600'000'000LL);
  EXPECT_EQ(parse_time_us("2025-01-01T00:00:00Z").value_or(-1), 1'735'689'600'000'000LL);
  EXPECT_FALSE(parse_time_us("2025-01-01T00:00:00.000+00:00"));
  EXPECT_FALSE(parse_time_us("2025-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_time_us("2025-01-01 00:00:00Z"));
  EXPECT_FALSE(parse_time_us(""));
  const auto now = now_unix_us();
  EXPECT_GT(now, 1'700'000'000'000'000LL);
}

TEST(EventId, DidsEncodeTheHost) {
  std::string d = make_did(2799, 123456);
  EXPECT_EQ(d, "did:plc:h02799a123456");
  EXPECT_TRUE(proto::is_valid_did(d));
  EXPECT_EQ(host_of_did(d).value_or(0), 2799u);
  EXPECT_EQ(host_of_did(make_did(0, 0)).value_or(1), 0u);
  EXPECT_FALSE(host_of_did("did:plc:faultlinefaultlinefault"));
  EXPECT_FALSE(host_of_did("did:plc:h0279xa123456"));
  EXPECT_FALSE(host_of_did("not-a-did"));
}

TEST(EventId, ScansBuiltFrames) {
  proto::CommitSpec c;
  c.seq = 42;
  c.did = make_did(7, 3);
  c.time = format_time_us(1'700'000'000'000'001LL);
  c.ops.push_back({});
  const auto commit_bytes = proto::make_commit_frame(c);
  auto f = scan_frame(commit_bytes);
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.op, 1);
  EXPECT_EQ(f.type, "#commit");
  EXPECT_EQ(f.seq, 42);
  EXPECT_EQ(f.did, c.did);
  EXPECT_EQ(f.time, c.time);

  proto::IdentitySpec i;
  i.seq = 5;
  i.did = make_did(1, 1);
  i.handle = "a1.h1.test";
  const auto identity_bytes = proto::make_identity_frame(i);
  auto fi = scan_frame(identity_bytes);
  ASSERT_TRUE(fi.ok);
  EXPECT_EQ(fi.type, "#identity");
  EXPECT_EQ(fi.did, i.did);
  EXPECT_EQ(fi.seq, 5);

  proto::AccountSpec a;
  a.seq = 6;
  const auto account_bytes = proto::make_account_frame(a);
  auto fa = scan_frame(account_bytes);
  ASSERT_TRUE(fa.ok);
  EXPECT_EQ(fa.type, "#account");

  const auto error_bytes = proto::encode_error_frame(proto::kErrorConsumerTooSlow, "bye");
  auto fe = scan_frame(error_bytes);
  ASSERT_TRUE(fe.ok);
  EXPECT_EQ(fe.op, -1);
  EXPECT_EQ(fe.name, "ConsumerTooSlow");
  const auto info_bytes = proto::encode_info_frame(proto::kInfoOutdatedCursor);
  auto fo = scan_frame(info_bytes);
  ASSERT_TRUE(fo.ok);
  EXPECT_EQ(fo.type, "#info");
  EXPECT_EQ(fo.name, "OutdatedCursor");
  EXPECT_EQ(fo.seq, -1);

  // Truncated and garbage frames are reported, never read past the end.
  auto full = proto::make_commit_frame(c);
  for (std::size_t n = 0; n < full.size(); n += 7)
    EXPECT_FALSE(scan_frame(std::span(full.data(), n)).ok) << n;
  std::vector<std::uint8_t> junk(64, 0xff);
  EXPECT_FALSE(scan_frame(junk).ok);
}

}  // namespace
}  // namespace faultline::stress
