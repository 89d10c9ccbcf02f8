// Interop: the really signed frames of indigo's relay test scenarios
// (indigo-relay-scenarios/*.json), given as JSON header/body. Each frame is
// encoded to DAG-CBOR and checked. The scenarios' `drop`/`invalid` flags are
// about relay state (sequence order, account status), not frame syntax, so
// every frame — including those a relay must drop — is well formed and must
// pass check_frame; the test records kinds and reasons.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "relay/proto/car.h"
#include "relay/proto/cbor.h"
#include "relay/proto/cbor_json.h"
#include "relay/proto/commit.h"
#include "relay/proto/frame.h"
#include "relay/proto/tests/fixtures.h"

namespace proto = faultline::relay::proto;
namespace cbor = faultline::relay::proto::cbor;
using nlohmann::json;

namespace {

class IndigoScenario : public ::testing::TestWithParam<const char*> {};

TEST_P(IndigoScenario, FramesEncodeAndPassCheckFrame) {
  const std::string name = GetParam();
  const auto text = proto::testing::read_fixture("indigo-relay-scenarios/" + name + ".json");
  if (!text) GTEST_SKIP() << "scenario " << name << " not found";
  const json scenario = json::parse(*text);
  const json& messages = scenario.at("messages");
  ASSERT_FALSE(messages.empty());
  std::size_t index = 0;
  for (const json& m : messages) {
    SCOPED_TRACE(name + " message " + std::to_string(index++));
    const auto header = cbor::from_json(m.at("frame").at("header"));
    const auto body = cbor::from_json(m.at("frame").at("body"));
    ASSERT_TRUE(header.ok()) << header.error;
    ASSERT_TRUE(body.ok()) << body.error;
    const auto frame = proto::encode_frame(*header.value, *body.value);
    const auto r = proto::check_frame(frame);
    EXPECT_TRUE(r.ok) << r.reason << ": " << r.detail;
    const std::string t = m.at("frame").at("header").at("t").get<std::string>();
    EXPECT_EQ(proto::kind_name(r.kind), t);
    EXPECT_EQ(r.seq, m.at("frame").at("body").at("seq").get<std::int64_t>());
    const json& b = m.at("frame").at("body");
    EXPECT_EQ(r.did, (b.contains("repo") ? b.at("repo") : b.at("did")).get<std::string>());
    if (t == "#commit") {
      EXPECT_EQ(r.commit->to_string(), b.at("commit").at("$link").get<std::string>());
      EXPECT_EQ(r.op_count, b.at("ops").size());
      EXPECT_EQ(r.rev, b.at("rev").get<std::string>());
    }
    if (t == "#account") {
      EXPECT_EQ(r.account_active, b.at("active").get<bool>());
      EXPECT_EQ(r.account_status, b.value("status", ""));
    }
    // The cheap paths agree with the full check.
    const auto p = proto::peek_header(frame);
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.seq, r.seq);
    EXPECT_EQ(p.repo, r.did);
    const auto rewritten = proto::rewrite_seq(frame, r.seq + 1);
    const auto r2 = proto::check_frame(rewritten);
    EXPECT_TRUE(r2.ok) << r2.reason;
    EXPECT_EQ(r2.seq, r.seq + 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Indigo, IndigoScenario,
                         ::testing::Values("account_lifecycle", "deactivation", "post_lifecycle", "seq_ordering"));

TEST(IndigoScenarioCommits, CommitObjectsAreV3AndSigned) {
  const auto text = proto::testing::read_fixture("indigo-relay-scenarios/post_lifecycle.json");
  if (!text) GTEST_SKIP() << "scenario not found";
  const json scenario = json::parse(*text);
  std::size_t commits = 0;
  for (const json& m : scenario.at("messages")) {
    const auto body = cbor::from_json(m.at("frame").at("body"));
    ASSERT_TRUE(body.ok());
    const auto car = proto::read_car(*body.value->find("blocks")->as_bytes());
    ASSERT_TRUE(car.ok()) << car.reason;
    const auto* block = car.car->find(car.car->roots[0]);
    ASSERT_NE(block, nullptr);
    const auto commit = proto::decode_commit(block->data);
    ASSERT_TRUE(commit.ok()) << commit.error;
    EXPECT_EQ(commit.commit->version, 3);
    EXPECT_EQ(commit.commit->sig.size(), 64u);  // compact ECDSA signature
    // Re-encoding the decoded block is byte-exact (real-world canonical DAG-CBOR).
    EXPECT_EQ(cbor::encode(*cbor::decode(block->data).value),
              std::vector<std::uint8_t>(block->data.begin(), block->data.end()));
    ++commits;
  }
  EXPECT_GT(commits, 0u);
}

}  // namespace
