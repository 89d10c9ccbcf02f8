// Repro tests of Family 3 (wssplit): the fixed reader survives every 2-way
// and 3-way split (exhaustively in memory, and over loopback), and each
// historical reader misbehaves on exactly the offsets predicted from the
// response bytes — with the behaviour measured on this machine asserted, not
// assumed. Each loopback attempt runs in a forked child (sweep.h).
#include <gtest/gtest.h>

#include <csignal>
#include <set>
#include <string>

#include "repro/wssplit/handshake_reader.h"
#include "repro/wssplit/sweep.h"

namespace ws = faultline::wssplit;
namespace sw = faultline::wssplit::sweep;

namespace {

constexpr const char* kKey = "dGhlIHNhbXBsZSBub25jZQ==";

std::set<std::size_t> failing_offsets(const sw::Report& r) {
  std::set<std::size_t> out;
  for (const auto& a : r.attempts)
    if (a.outcome != sw::Outcome::pass) out.insert(a.splits.front());
  return out;
}

sw::Report sweep_variant(sw::Variant v, int ways, std::size_t max_pairs, bool guard = true) {
  sw::Options opt;
  opt.variant = v;
  opt.guard_page = guard;
  return sw::run(opt, ways, max_pairs);
}

ws::ClientRequest request() {
  ws::ClientRequest r;
  r.host = "127.0.0.1:1";
  r.key = kKey;
  return r;
}

}  // namespace

TEST(WssplitOracle, MidCrlfOffsetsComeFromTheBytes) {
  EXPECT_EQ(sw::mid_crlf_offsets("A\r\nB\r\n\r\nX\r\n"), (std::vector<std::size_t>{2, 5, 7}));
  std::string resp = sw::build_response(ws::compute_accept(kKey));
  auto mid = sw::mid_crlf_offsets(resp);
  // One per line of the head: status, 4 headers, the blank line.
  EXPECT_EQ(mid.size(), 6u);
  EXPECT_EQ(sw::predicted_failing(sw::Variant::buggy, resp), mid);
  EXPECT_EQ(sw::predicted_failing(sw::Variant::partial_fix, resp), mid);
  EXPECT_EQ(sw::predicted_failing(sw::Variant::blank_line_underflow, resp),
            (std::vector<std::size_t>{sw::head_length(resp) - 1}));
  EXPECT_TRUE(sw::predicted_failing(sw::Variant::fixed, resp).empty());
}

TEST(WssplitFixedInMemory, Every2wayAnd3waySplit) {
  const std::string resp = sw::build_response(ws::compute_accept(kKey));
  const std::string frame = sw::first_frame();
  std::size_t tried = 0;
  for (std::size_t a = 1; a < resp.size(); ++a) {
    for (std::size_t b = a; b < resp.size(); ++b) {  // b == a is the 2-way split at a
      ws::HandshakeReader r(request());
      std::string left;
      for (auto piece : {resp.substr(0, a), resp.substr(a, b - a), resp.substr(b)}) {
        r.feed(piece);
        if (r.status() == ws::HandshakeReader::Status::done) left += r.take_leftover();
      }
      ASSERT_EQ(r.status(), ws::HandshakeReader::Status::done) << a << "," << b << ": " << r.error();
      ASSERT_EQ(left, frame) << a << "," << b;
      ++tried;
    }
  }
  EXPECT_EQ(tried, (resp.size() - 1) * resp.size() / 2);
}

TEST(WssplitFixedInMemory, Dribble) {
  const std::string resp = sw::build_response(ws::compute_accept(kKey));
  ws::HandshakeReader r(request());
  for (char c : resp) r.feed(std::string_view(&c, 1));
  ASSERT_EQ(r.status(), ws::HandshakeReader::Status::done) << r.error();
  EXPECT_EQ(r.take_leftover(), sw::first_frame());
}

TEST(WssplitLoopback, FixedPassesEvery2waySplit) {
  auto r = sweep_variant(sw::Variant::fixed, 2, 0);
  EXPECT_EQ(r.attempts.size(), r.response_len - 1);
  EXPECT_EQ(r.pass, r.attempts.size()) << sw::format(r);
  EXPECT_EQ(r.not_isolated, 0u) << sw::format(r);
}

TEST(WssplitLoopback, FixedPasses3waySplits) {
  auto r = sweep_variant(sw::Variant::fixed, 3, 600);
  EXPECT_EQ(r.attempts.size(), 600u);
  EXPECT_EQ(r.pass, r.attempts.size()) << sw::format(r);
}

TEST(WssplitLoopback, FixedPassesOverIpv6) {
  sw::Options opt;
  opt.variant = sw::Variant::fixed;
  opt.ipv6 = true;
  sw::Report r;
  try {
    r = sw::run(opt, 2, 0);
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  EXPECT_EQ(r.pass, r.attempts.size()) << sw::format(r);
}

TEST(WssplitLoopback, PartialFixFailsExactlyOnPredictedOffsets) {
  auto r = sweep_variant(sw::Variant::partial_fix, 2, 0);
  std::set<std::size_t> predicted(r.predicted.begin(), r.predicted.end());
  EXPECT_FALSE(predicted.empty());
  EXPECT_EQ(failing_offsets(r), predicted) << sw::format(r);
  // It no longer crashes: the lines are lost silently instead.
  EXPECT_EQ(r.crash, 0u) << sw::format(r);
  EXPECT_EQ(r.fail, predicted.size()) << sw::format(r);
  EXPECT_TRUE(r.matches_prediction());
}

TEST(WssplitLoopback, PartialFix3wayMatchesPrediction) {
  auto r = sweep_variant(sw::Variant::partial_fix, 3, 400);
  EXPECT_TRUE(r.matches_prediction()) << sw::format(r);
  EXPECT_GT(r.fail, 0u);
}

TEST(WssplitLoopback, BlankLineUnderflowCrashesOnlyInTheFinalCrlf) {
  auto r = sweep_variant(sw::Variant::blank_line_underflow, 2, 0);
  ASSERT_EQ(r.predicted.size(), 1u);
  EXPECT_EQ(failing_offsets(r), std::set<std::size_t>(r.predicted.begin(), r.predicted.end())) << sw::format(r);
  // Measured with the guard page: the underflowed memcpy faults.
  EXPECT_EQ(r.crash, 1u) << sw::format(r);
  for (const auto& a : r.attempts) {
    if (a.outcome == sw::Outcome::crash) {
      EXPECT_EQ(a.signal, SIGSEGV) << a.reason;
    }
  }
}

TEST(WssplitLoopback, BuggyCrashesOnEveryMidCrlfSplit) {
  auto r = sweep_variant(sw::Variant::buggy, 2, 0);
  std::set<std::size_t> mid(r.mid_crlf.begin(), r.mid_crlf.end());
  EXPECT_EQ(failing_offsets(r), mid) << sw::format(r);
  // Measured with the guard page: every mid-CRLF split dies of SIGSEGV; the
  // header-line splits fault on the first byte of the guard page, scanning
  // forward (the blank-line split dies in the underflowed memcpy instead).
  EXPECT_EQ(r.crash, mid.size()) << sw::format(r);
  for (const auto& a : r.attempts) {
    if (a.outcome != sw::Outcome::crash) continue;
    EXPECT_EQ(a.signal, SIGSEGV) << a.reason;
    if (a.splits.front() != r.head_len - 1) {
      ASSERT_TRUE(a.fault_offset.has_value()) << a.reason;
      EXPECT_EQ(*a.fault_offset, 4096) << a.reason;
    }
  }
}

TEST(WssplitLoopback, BuggyWithoutGuardPageCrashesOrMisreads) {
  auto r = sweep_variant(sw::Variant::buggy, 2, 0, /*guard=*/false);
  std::set<std::size_t> mid(r.mid_crlf.begin(), r.mid_crlf.end());
  // Without the guard page the wild scan and copy hit whatever follows the
  // heap buffer: a crash or a wrong handshake, never a pass.
  EXPECT_EQ(failing_offsets(r), mid) << sw::format(r);
  EXPECT_EQ(r.crash + r.fail, mid.size()) << sw::format(r);
}
