// Unit tests of the frame builders: valid frames of every kind pass
// check_frame and carry their spec's fields; each Defect makes check_frame
// fail with the reason it documents (the expected reasons are written out
// here, independently of the library); output is canonical and deterministic.
#include <gtest/gtest.h>

#include <map>

#include "relay/proto/car.h"
#include "relay/proto/cbor.h"
#include "relay/proto/frame.h"
#include "relay/proto/syntax.h"

namespace proto = faultline::relay::proto;
namespace cbor = faultline::relay::proto::cbor;
using Bytes = std::vector<std::uint8_t>;
using proto::Defect;

namespace {

constexpr const char* kDid = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

proto::CommitSpec spec_with(Defect d) {
  proto::CommitSpec s;
  s.seq = 1000;
  s.did = kDid;
  s.ops = {proto::OpSpec{}, proto::OpSpec{proto::OpSpec::Action::kUpdate, "app.bsky.actor.profile", "self", {}}};
  s.defect = d;
  return s;
}

const std::map<Defect, std::string>& commit_expectations() {
  static const std::map<Defect, std::string> m = {
      {Defect::kNone, "ok"},
      {Defect::kBadCbor, "bad-cbor"},
      {Defect::kTruncated, "bad-cbor"},
      {Defect::kUnknownType, "unknown-type"},
      {Defect::kBadDid, "bad-did"},
      {Defect::kTooManyOps, "too-many-ops"},
      {Defect::kBadOp, "bad-op"},
      {Defect::kBadPath, "bad-path"},
      {Defect::kBadCar, "bad-car"},
      {Defect::kBlocksTooLarge, "blocks-too-large"},
      {Defect::kTooLarge, "too-large"},
      {Defect::kCommitRootMismatch, "commit-root-mismatch"},
      {Defect::kMissingCommitBlock, "missing-commit-block"},
      {Defect::kCommitCidMismatch, "commit-cid-mismatch"},
      {Defect::kBlockCidMismatch, "block-cid-mismatch"},
      {Defect::kDidMismatch, "commit-did-mismatch"},
      {Defect::kRevMismatch, "commit-rev-mismatch"},
  };
  return m;
}

std::string reason(const Bytes& frame) {
  const auto r = proto::check_frame(frame);
  return r.ok ? "ok" : r.reason;
}

TEST(FrameBuilder, EveryCommitDefectHasItsReason) {
  ASSERT_EQ(commit_expectations().size(), static_cast<std::size_t>(proto::kDefectCount));
  for (const auto& [defect, expected] : commit_expectations()) {
    EXPECT_EQ(reason(proto::make_commit_frame(spec_with(defect))), expected) << proto::defect_name(defect);
  }
}

TEST(FrameBuilder, CommitDefectsWithoutOps) {
  // Defects about ops add the op they need to an empty commit.
  for (Defect d : {Defect::kBadOp, Defect::kBadPath, Defect::kTooManyOps, Defect::kBlockCidMismatch}) {
    proto::CommitSpec s = spec_with(d);
    s.ops.clear();
    EXPECT_EQ(reason(proto::make_commit_frame(s)), commit_expectations().at(d)) << proto::defect_name(d);
  }
}

TEST(FrameBuilder, BadCborWithHugeSeq) {
  // seq >= 2^32 has no non-shortest 8-byte form: the builder breaks the body otherwise.
  proto::CommitSpec s = spec_with(Defect::kBadCbor);
  s.seq = 5'000'000'000;
  EXPECT_EQ(reason(proto::make_commit_frame(s)), "bad-cbor");
  EXPECT_EQ(reason(proto::make_identity_frame({.seq = 5'000'000'000, .did = kDid, .defect = Defect::kBadCbor})),
            "bad-cbor");
  EXPECT_EQ(reason(proto::make_sync_frame({.seq = 5'000'000'000, .did = kDid, .defect = Defect::kBadCbor})),
            "bad-cbor");
}

TEST(FrameBuilder, SyncDefects) {
  const std::map<Defect, std::string> expected = {
      {Defect::kNone, "ok"},
      {Defect::kBadCbor, "bad-cbor"},
      {Defect::kTruncated, "bad-cbor"},
      {Defect::kUnknownType, "unknown-type"},
      {Defect::kBadDid, "bad-did"},
      {Defect::kBadCar, "bad-car"},
      {Defect::kBlocksTooLarge, "blocks-too-large"},
      {Defect::kTooLarge, "too-large"},
      {Defect::kMissingCommitBlock, "missing-commit-block"},
      {Defect::kCommitCidMismatch, "commit-cid-mismatch"},
      {Defect::kBlockCidMismatch, "block-cid-mismatch"},
      {Defect::kDidMismatch, "commit-did-mismatch"},
      {Defect::kRevMismatch, "commit-rev-mismatch"},
      // Not applicable to #sync: ignored.
      {Defect::kTooManyOps, "ok"},
      {Defect::kBadOp, "ok"},
      {Defect::kBadPath, "ok"},
      {Defect::kCommitRootMismatch, "ok"},
  };
  for (const auto& [d, want] : expected) {
    EXPECT_EQ(reason(proto::make_sync_frame({.seq = 9, .did = kDid, .defect = d})), want) << proto::defect_name(d);
  }
}

TEST(FrameBuilder, IdentityAndAccountDefects) {
  const std::map<Defect, std::string> expected = {
      {Defect::kNone, "ok"},          {Defect::kBadCbor, "bad-cbor"},     {Defect::kTruncated, "bad-cbor"},
      {Defect::kUnknownType, "unknown-type"}, {Defect::kBadDid, "bad-did"}, {Defect::kBadCar, "ok"},
      {Defect::kTooManyOps, "ok"},   {Defect::kRevMismatch, "ok"},
  };
  for (const auto& [d, want] : expected) {
    EXPECT_EQ(reason(proto::make_identity_frame({.seq = 3, .did = kDid, .handle = "a.test", .defect = d})), want)
        << proto::defect_name(d);
    EXPECT_EQ(reason(proto::make_account_frame({.seq = 3, .did = kDid, .status = "takendown", .defect = d})), want)
        << proto::defect_name(d);
  }
}

TEST(FrameBuilder, CommitCarriesTheSpec) {
  proto::CommitSpec s = spec_with(Defect::kNone);
  s.rev = "3kzzzzzzzzz22";
  s.since = "3kzzzzzzzzy22";
  s.time = "2025-03-04T05:06:07.000Z";
  s.prev_data = proto::Cid::compute(proto::kCodecDagCbor, Bytes{0xa0});
  cbor::Map rec{{"$type", "app.bsky.actor.profile"}, {"displayName", "Alice"}};
  s.ops[1].record = cbor::Value(rec);
  const Bytes frame = proto::make_commit_frame(s);
  const auto r = proto::check_frame(frame);
  ASSERT_TRUE(r.ok) << r.reason << " " << r.detail;
  EXPECT_EQ(r.seq, 1000);
  EXPECT_EQ(r.rev, "3kzzzzzzzzz22");
  EXPECT_EQ(r.since, "3kzzzzzzzzy22");
  EXPECT_EQ(r.time, "2025-03-04T05:06:07.000Z");
  EXPECT_EQ(r.prev_data, s.prev_data);

  std::size_t used = 0;
  ASSERT_TRUE(cbor::decode_prefix(frame, used).ok());
  const auto body = cbor::decode(std::span(frame).subspan(used));
  ASSERT_TRUE(body.ok());
  const cbor::Array& ops = body.value->find("ops")->array();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[1].find("action")->as_text(), "update");
  EXPECT_EQ(ops[1].find("path")->as_text(), "app.bsky.actor.profile/self");
  const auto path0 = std::string(*ops[0].find("path")->as_text());
  EXPECT_EQ(path0.substr(0, 19), "app.bsky.feed.post/");
  EXPECT_TRUE(proto::is_valid_tid(path0.substr(19)));
  // The update's record block is the user's record, under its CID.
  const auto car = proto::read_car(*body.value->find("blocks")->as_bytes());
  ASSERT_TRUE(car.ok());
  const proto::Cid* cid = ops[1].find("cid")->as_link();
  ASSERT_NE(cid, nullptr);
  const proto::CarBlock* block = car.car->find(*cid);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(*cbor::decode(block->data).value, cbor::Value(rec));
  // Default records are posts of the op's collection.
  const proto::CarBlock* post = car.car->find(*ops[0].find("cid")->as_link());
  ASSERT_NE(post, nullptr);
  const auto post_value = cbor::decode(post->data);
  ASSERT_TRUE(post_value.ok());
  EXPECT_EQ(post_value.value->find("$type")->as_text(), "app.bsky.feed.post");
  EXPECT_EQ(post_value.value->find("createdAt")->as_text(), "2025-03-04T05:06:07.000Z");
}

TEST(FrameBuilder, DeterministicAndDistinct) {
  EXPECT_EQ(proto::make_commit_frame(spec_with(Defect::kNone)), proto::make_commit_frame(spec_with(Defect::kNone)));
  proto::CommitSpec other = spec_with(Defect::kNone);
  other.seq += 1;
  EXPECT_NE(proto::make_commit_frame(other), proto::make_commit_frame(spec_with(Defect::kNone)));
  EXPECT_NE(proto::default_rev(1), proto::default_rev(2));
  EXPECT_LT(proto::default_rev(1), proto::default_rev(2));
}

TEST(FrameBuilder, ManyOpsUpToTheLimit) {
  proto::CommitSpec s = spec_with(Defect::kNone);
  s.ops.assign(200, proto::OpSpec{});
  const auto r = proto::check_frame(proto::make_commit_frame(s));
  ASSERT_TRUE(r.ok) << r.reason << " " << r.detail;
  EXPECT_EQ(r.op_count, 200u);
  EXPECT_EQ(r.block_count, 202u);
}

TEST(FrameBuilder, EmptyCommit) {
  proto::CommitSpec s = spec_with(Defect::kNone);
  s.ops.clear();
  const auto r = proto::check_frame(proto::make_commit_frame(s));
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.op_count, 0u);
}

}  // namespace
