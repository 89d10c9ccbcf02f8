// Unit tests of firehose frame checking (every reason code of check_frame
// is reached at least once here or in frame_builder_test.cc), peek_header,
// rewrite_seq and the encoders of relay-sent frames.
#include <gtest/gtest.h>

#include "relay/proto/car.h"
#include "relay/proto/cbor.h"
#include "relay/proto/commit.h"
#include "relay/proto/frame.h"

namespace proto = faultline::relay::proto;
namespace cbor = faultline::relay::proto::cbor;
using Bytes = std::vector<std::uint8_t>;
using proto::Kind;

namespace {

constexpr const char* kDid = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
constexpr const char* kTime = "2024-05-06T07:08:09.123Z";

struct Split {
  cbor::Value header;
  cbor::Map body;
};

// Header and body of a frame the builder made (must be valid DAG-CBOR).
Split split(const Bytes& frame) {
  std::size_t used = 0;
  auto h = cbor::decode_prefix(frame, used);
  EXPECT_TRUE(h.ok());
  auto b = cbor::decode(std::span(frame).subspan(used));
  EXPECT_TRUE(b.ok()) << b.error.message();
  return {*h.value, b.value->map()};
}

Bytes with_body(std::string_view type, const cbor::Map& body) { return proto::encode_message_frame(type, body); }

proto::CommitSpec commit_spec() {
  proto::CommitSpec s;
  s.seq = 42;
  s.did = kDid;
  s.time = kTime;
  s.ops = {proto::OpSpec{}, proto::OpSpec{proto::OpSpec::Action::kDelete, "app.bsky.feed.like", "3kabcabcabc22", {}}};
  return s;
}

// The commit body with one field replaced.
Bytes commit_with(std::string key, cbor::Value v) {
  Split s = split(proto::make_commit_frame(commit_spec()));
  s.body.set(std::move(key), std::move(v));
  return with_body("#commit", s.body);
}

Bytes commit_without(std::string_view key) {
  Split s = split(proto::make_commit_frame(commit_spec()));
  s.body.erase(key);
  return with_body("#commit", s.body);
}

// The first op of the commit with one field replaced (or removed: null Value + erase).
Bytes commit_op_with(std::string key, std::optional<cbor::Value> v) {
  Split s = split(proto::make_commit_frame(commit_spec()));
  cbor::Array ops = s.body.find("ops")->array();
  if (v) {
    ops[0].map().set(std::move(key), std::move(*v));
  } else {
    ops[0].map().erase(key);
  }
  s.body.set("ops", ops);
  return with_body("#commit", s.body);
}

std::string reason(const Bytes& frame, const proto::Limits& limits = {}) {
  const auto r = proto::check_frame(frame, limits);
  EXPECT_EQ(r.ok, r.reason.empty()) << r.reason;
  return r.ok ? "ok" : r.reason;
}

// A #commit whose CAR root block is not a commit object.
Bytes commit_with_root_block(const Bytes& block) {
  const proto::Cid cid = proto::Cid::compute(proto::kCodecDagCbor, block);
  const proto::CarBlock b{cid, block};
  const Bytes car = proto::write_car(std::span(&cid, 1), std::span(&b, 1));
  Split s = split(proto::make_commit_frame(commit_spec()));
  s.body.set("blocks", cbor::Bytes(car));
  s.body.set("commit", cid);
  return with_body("#commit", s.body);
}

// ---- valid frames -----------------------------------------------------------

TEST(CheckFrame, ValidCommitFields) {
  const proto::CommitSpec spec = commit_spec();
  const Bytes frame = proto::make_commit_frame(spec);
  const auto r = proto::check_frame(frame);
  ASSERT_TRUE(r.ok) << r.reason << ": " << r.detail;
  EXPECT_EQ(r.kind, Kind::kCommit);
  EXPECT_EQ(r.op, 1);
  EXPECT_EQ(r.type, "#commit");
  EXPECT_EQ(r.seq, 42);
  EXPECT_EQ(r.did, kDid);
  EXPECT_EQ(r.rev, proto::default_rev(42));
  EXPECT_EQ(r.since, std::nullopt);
  EXPECT_EQ(r.time, kTime);
  EXPECT_EQ(r.op_count, 2u);
  EXPECT_TRUE(r.commit.has_value());
  EXPECT_EQ(r.block_count, 3u);  // commit, MST node, one record (the delete has none)
  EXPECT_GT(r.blocks_bytes, 0u);
  EXPECT_GT(r.header_bytes, 0u);
  EXPECT_FALSE(r.too_big);
  // The body's commit CID is the CAR root, and that block is a v3 commit.
  const Split s = split(frame);
  const auto car = proto::read_car(*s.body.find("blocks")->as_bytes());
  ASSERT_TRUE(car.ok());
  EXPECT_EQ(car.car->roots[0], *r.commit);
  const auto commit = proto::decode_commit(car.car->find(*r.commit)->data);
  ASSERT_TRUE(commit.ok()) << commit.error;
  EXPECT_EQ(commit.commit->did, kDid);
  EXPECT_EQ(commit.commit->rev, r.rev);
}

TEST(CheckFrame, OtherValidKinds) {
  const auto sync = proto::check_frame(proto::make_sync_frame({.seq = 5, .did = kDid}));
  ASSERT_TRUE(sync.ok) << sync.reason << " " << sync.detail;
  EXPECT_EQ(sync.kind, Kind::kSync);
  EXPECT_EQ(sync.seq, 5);
  EXPECT_TRUE(sync.commit.has_value());

  const auto id = proto::check_frame(proto::make_identity_frame({.seq = 6, .did = kDid, .handle = "alice.test"}));
  ASSERT_TRUE(id.ok) << id.reason;
  EXPECT_EQ(id.kind, Kind::kIdentity);
  EXPECT_EQ(id.handle, "alice.test");
  const auto id2 = proto::check_frame(proto::make_identity_frame({.seq = 6, .did = kDid}));
  ASSERT_TRUE(id2.ok);
  EXPECT_EQ(id2.handle, std::nullopt);

  const auto acct =
      proto::check_frame(proto::make_account_frame({.seq = 7, .did = kDid, .active = false, .status = "deactivated"}));
  ASSERT_TRUE(acct.ok) << acct.reason;
  EXPECT_EQ(acct.kind, Kind::kAccount);
  EXPECT_FALSE(acct.account_active);
  EXPECT_EQ(acct.account_status, "deactivated");

  const auto info = proto::check_frame(proto::encode_info_frame(proto::kInfoOutdatedCursor, "too old"));
  ASSERT_TRUE(info.ok) << info.reason;
  EXPECT_EQ(info.kind, Kind::kInfo);
  EXPECT_EQ(info.info_name, "OutdatedCursor");
  EXPECT_EQ(info.info_message, "too old");

  const auto err = proto::check_frame(proto::encode_error_frame(proto::kErrorFutureCursor, "cursor in the future"));
  ASSERT_TRUE(err.ok) << err.reason;
  EXPECT_EQ(err.kind, Kind::kError);
  EXPECT_EQ(err.op, -1);
  EXPECT_EQ(err.error_name, "FutureCursor");
  EXPECT_EQ(err.error_message, "cursor in the future");
}

TEST(CheckFrame, EncodersProduceTheDocumentedBytes) {
  const Bytes err = proto::encode_error_frame(proto::kErrorConsumerTooSlow);
  std::size_t used = 0;
  const auto h = cbor::decode_prefix(err, used);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h.value, cbor::Value(cbor::Map{{"op", -1}}));
  const auto b = cbor::decode(std::span(err).subspan(used));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b.value, cbor::Value(cbor::Map{{"error", "ConsumerTooSlow"}}));  // empty message omitted
  const Split info = split(proto::encode_info_frame("OutdatedCursor"));
  EXPECT_EQ(info.header, cbor::Value(cbor::Map{{"op", 1}, {"t", "#info"}}));
  EXPECT_EQ(cbor::Value(info.body), cbor::Value(cbor::Map{{"name", "OutdatedCursor"}}));
}

TEST(CheckFrame, LenientWhereHostsDiffer) {
  EXPECT_EQ(reason(commit_with("blobs", nullptr)), "ok");
  EXPECT_EQ(reason(commit_with("since", proto::default_rev(1))), "ok");
  EXPECT_EQ(reason(commit_with("prevData", proto::Cid::compute(proto::kCodecDagCbor, Bytes{0xa0}))), "ok");
  EXPECT_EQ(reason(commit_with("extraField", "ignored")), "ok");
  EXPECT_EQ(reason(commit_op_with("prev", cbor::Value(proto::Cid::compute(proto::kCodecDagCbor, Bytes{0xa0})))), "ok");
  // A commit object without `prev` is fine too.
  proto::Commit c;
  c.did = kDid;
  c.rev = proto::default_rev(42);
  c.data = proto::Cid::compute(proto::kCodecDagCbor, Bytes{0xa0});
  c.sig = Bytes(64, 1);
  cbor::Value v = *cbor::decode(proto::encode_commit(c)).value;
  v.map().erase("prev");
  EXPECT_EQ(reason(commit_with_root_block(cbor::encode(v))), "ok");
}

// ---- one test per reason ----------------------------------------------------

TEST(CheckFrame, TooLarge) {
  const Bytes frame = proto::make_identity_frame({.did = kDid});
  proto::Limits l;
  l.max_frame_bytes = frame.size() - 1;
  EXPECT_EQ(reason(frame, l), "too-large");
  l.max_frame_bytes = frame.size();
  EXPECT_EQ(reason(frame, l), "ok");
}

TEST(CheckFrame, BadCbor) {
  const Bytes good = proto::make_identity_frame({.did = kDid});
  EXPECT_EQ(reason({}), "bad-cbor");
  EXPECT_EQ(reason({0xff}), "bad-cbor");
  Bytes trailing = good;
  trailing.push_back(0x00);
  EXPECT_EQ(reason(trailing), "bad-cbor");
  const auto r = proto::check_frame(trailing);
  EXPECT_NE(r.detail.find("trailing-bytes"), std::string::npos) << r.detail;
  // Header only.
  EXPECT_EQ(reason(cbor::encode(cbor::Map{{"op", 1}, {"t", "#identity"}})), "bad-cbor");
  // Every cut of a valid frame is rejected as bad CBOR, never accepted.
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(reason(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n))), "bad-cbor") << n;
  }
}

TEST(CheckFrame, BadHeader) {
  const cbor::Map body{{"name", "x"}};
  EXPECT_EQ(reason(proto::encode_frame(cbor::Array{1}, body)), "bad-header");
  EXPECT_EQ(reason(proto::encode_frame(cbor::Map{{"t", "#info"}}, body)), "bad-header");
  EXPECT_EQ(reason(proto::encode_frame(cbor::Map{{"op", "1"}, {"t", "#info"}}, body)), "bad-header");
  EXPECT_EQ(reason(proto::encode_frame(cbor::Map{{"op", 2}, {"t", "#info"}}, body)), "bad-header");
  EXPECT_EQ(reason(proto::encode_frame(cbor::Map{{"op", 1}}, body)), "bad-header");
  EXPECT_EQ(reason(proto::encode_frame(cbor::Map{{"op", 1}, {"t", 7}}, body)), "bad-header");
}

TEST(CheckFrame, UnknownTypeKeepsSeqAndDid) {
  const cbor::Map body{{"seq", 9}, {"did", kDid}, {"time", kTime}, {"handle", "a.test"}};
  const auto r = proto::check_frame(with_body("#handle", body));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "unknown-type");
  EXPECT_EQ(r.kind, Kind::kUnknown);
  EXPECT_EQ(r.seq, 9);
  EXPECT_EQ(r.did, kDid);
  EXPECT_EQ(r.type, "#handle");
}

TEST(CheckFrame, BadBody) {
  EXPECT_EQ(reason(proto::encode_message_frame("#identity", cbor::Array{})), "bad-body");
  EXPECT_EQ(reason(commit_without("seq")), "bad-body");
  EXPECT_EQ(reason(commit_without("blocks")), "bad-body");
  EXPECT_EQ(reason(commit_without("ops")), "bad-body");
  EXPECT_EQ(reason(commit_without("rebase")), "bad-body");
  EXPECT_EQ(reason(commit_without("since")), "bad-body");  // required, nullable
  EXPECT_EQ(reason(commit_without("blobs")), "bad-body");
  EXPECT_EQ(reason(commit_with("seq", "42")), "bad-body");
  EXPECT_EQ(reason(commit_with("repo", 1)), "bad-body");
  EXPECT_EQ(reason(commit_with("commit", "bafy...")), "bad-body");
  EXPECT_EQ(reason(commit_with("blocks", "car")), "bad-body");
  EXPECT_EQ(reason(commit_with("ops", cbor::Map{})), "bad-body");
  EXPECT_EQ(reason(commit_with("ops", cbor::Array{1})), "bad-body");
  EXPECT_EQ(reason(commit_with("blobs", cbor::Array{"x"})), "bad-body");
  EXPECT_EQ(reason(commit_with("tooBig", 0)), "bad-body");
  EXPECT_EQ(reason(commit_with("prevData", "x")), "bad-body");
  EXPECT_EQ(reason(commit_with("since", 5)), "bad-body");
  EXPECT_EQ(reason(commit_op_with("cid", std::nullopt)), "bad-body");
  EXPECT_EQ(reason(commit_op_with("action", 1)), "bad-body");
  const cbor::Map account{{"seq", 1}, {"did", kDid}, {"time", kTime}};
  EXPECT_EQ(reason(with_body("#account", account)), "bad-body");  // no `active`
  cbor::Map account2 = account;
  account2.set("active", true);
  account2.set("status", 3);
  EXPECT_EQ(reason(with_body("#account", account2)), "bad-body");
  EXPECT_EQ(reason(with_body("#info", cbor::Map{{"message", "m"}})), "bad-body");
  EXPECT_EQ(reason(proto::encode_frame(cbor::Map{{"op", -1}}, cbor::Map{{"message", "m"}})), "bad-body");
  EXPECT_EQ(reason(with_body("#sync", cbor::Map{{"seq", 1}, {"did", kDid}, {"rev", proto::default_rev(1)}, {"time", kTime}})),
            "bad-body");
  const auto r = proto::check_frame(commit_without("rebase"));
  EXPECT_NE(r.detail.find("rebase"), std::string::npos) << r.detail;
}

TEST(CheckFrame, BadFieldSyntax) {
  EXPECT_EQ(reason(commit_with("seq", -1)), "bad-seq");
  EXPECT_EQ(reason(commit_with("repo", "did:PLC:x")), "bad-did");
  EXPECT_EQ(reason(commit_with("rev", "not-a-tid")), "bad-tid");
  EXPECT_EQ(reason(commit_with("since", "3JZFCIJPJ2Z2A")), "bad-tid");
  EXPECT_EQ(reason(commit_with("time", "2024-05-06 07:08:09Z")), "bad-datetime");
  EXPECT_EQ(reason(proto::make_identity_frame({.did = kDid, .handle = "not a handle"})), "bad-handle");
  EXPECT_EQ(reason(proto::make_identity_frame({.did = kDid, .time = "yesterday"})), "bad-datetime");
  EXPECT_EQ(reason(proto::make_sync_frame({.did = kDid, .rev = "nope"})), "bad-tid");
}

TEST(CheckFrame, BadOpsAndPaths) {
  EXPECT_EQ(reason(commit_op_with("action", "upsert")), "bad-op");
  EXPECT_EQ(reason(commit_op_with("cid", nullptr)), "bad-op");  // a create without a cid
  EXPECT_EQ(reason(commit_op_with("prev", "x")), "bad-op");
  Split s = split(proto::make_commit_frame(commit_spec()));
  cbor::Array ops = s.body.find("ops")->array();
  ops[1].map().set("cid", proto::Cid::compute(proto::kCodecDagCbor, Bytes{0xa0}));  // a delete with a cid
  s.body.set("ops", ops);
  EXPECT_EQ(reason(with_body("#commit", s.body)), "bad-op");
  EXPECT_EQ(reason(commit_op_with("path", "app.bsky.feed.post")), "bad-path");
  EXPECT_EQ(reason(commit_op_with("path", "app.bsky.feed.post/")), "bad-path");
  EXPECT_EQ(reason(commit_op_with("path", "app/3kabcabcabc22")), "bad-path");
  EXPECT_EQ(reason(commit_op_with("path", "app.bsky.feed.post/a/b")), "bad-path");
  EXPECT_EQ(reason(commit_op_with("path", "app.bsky.feed.post/..")), "bad-path");
}

TEST(CheckFrame, OpLimitIsConfigurable) {
  proto::Limits l;
  l.max_ops = 1;
  EXPECT_EQ(reason(proto::make_commit_frame(commit_spec()), l), "too-many-ops");
  l.max_ops = 2;
  EXPECT_EQ(reason(proto::make_commit_frame(commit_spec()), l), "ok");
}

TEST(CheckFrame, BadCommitObject) {
  EXPECT_EQ(reason(commit_with_root_block(cbor::encode(cbor::Map{{"foo", 1}}))), "bad-commit");
  EXPECT_EQ(reason(commit_with_root_block({0xf7})), "bad-commit");  // not DAG-CBOR
  proto::Commit c;
  c.did = kDid;
  c.rev = proto::default_rev(42);
  c.data = proto::Cid::compute(proto::kCodecDagCbor, Bytes{0xa0});
  c.sig = Bytes(64, 1);
  EXPECT_EQ(reason(commit_with_root_block(proto::encode_commit(c))), "ok");
  c.version = 2;
  EXPECT_EQ(reason(commit_with_root_block(proto::encode_commit(c))), "bad-commit");
  c.version = 3;
  cbor::Value v = *cbor::decode(proto::encode_commit(c)).value;
  v.map().set("sig", "not bytes");
  EXPECT_EQ(reason(commit_with_root_block(cbor::encode(v))), "bad-commit");
  v.map().set("sig", cbor::Bytes{1});
  v.map().set("prev", 5);
  EXPECT_EQ(reason(commit_with_root_block(cbor::encode(v))), "bad-commit");
  v.map().set("prev", nullptr);
  v.map().set("data", nullptr);
  EXPECT_EQ(reason(commit_with_root_block(cbor::encode(v))), "bad-commit");
  // A raw-codec root cannot be a commit.
  const Bytes block = proto::encode_commit(c);
  const proto::Cid raw = proto::Cid::compute(proto::kCodecRaw, block);
  const proto::CarBlock b{raw, block};
  Split s = split(proto::make_commit_frame(commit_spec()));
  s.body.set("blocks", cbor::Bytes(proto::write_car(std::span(&raw, 1), std::span(&b, 1))));
  s.body.set("commit", raw);
  EXPECT_EQ(reason(with_body("#commit", s.body)), "bad-commit");
}

TEST(CheckFrame, BlockVerificationCanBeLimitedToTheCommit) {
  proto::CommitSpec spec = commit_spec();
  spec.defect = proto::Defect::kBlockCidMismatch;
  const Bytes frame = proto::make_commit_frame(spec);
  EXPECT_EQ(reason(frame), "block-cid-mismatch");
  proto::Limits l;
  l.verify_block_cids = false;
  EXPECT_EQ(reason(frame, l), "ok");
}

// ---- peek_header ------------------------------------------------------------

TEST(PeekHeader, ReadsOpTypeSeqAndRepo) {
  const Bytes commit = proto::make_commit_frame(commit_spec());
  const auto p = proto::peek_header(commit);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.op, 1);
  EXPECT_EQ(p.type, "#commit");
  EXPECT_EQ(p.seq, 42);
  EXPECT_EQ(p.repo, kDid);
  EXPECT_EQ(p.header_bytes, proto::check_frame(commit).header_bytes);

  const Bytes account = proto::make_account_frame({.seq = 77, .did = kDid});  // views point into it
  const auto a = proto::peek_header(account);
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.type, "#account");
  EXPECT_EQ(a.seq, 77);
  EXPECT_EQ(a.repo, kDid);

  const Bytes error = proto::encode_error_frame("FutureCursor");
  const auto e = proto::peek_header(error);
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.op, -1);
  EXPECT_TRUE(e.type.empty());
  EXPECT_EQ(e.seq, -1);

  const Bytes info = proto::encode_info_frame("OutdatedCursor");
  const auto i = proto::peek_header(info);
  ASSERT_TRUE(i.ok);
  EXPECT_EQ(i.seq, -1);
}

// Found by fuzz_frame: an #info (or error) frame whose body also carries a
// seq. check_frame accepts it and must report that seq as peek_header does —
// the relay orders a host's frames by the peeked seq and moves its cursor by
// the checked one.
TEST(PeekHeader, AgreesWithCheckFrameOnTheSeqOfInfoAndErrorFrames) {
  const Bytes info = proto::encode_message_frame("#info", cbor::Map{{"name", "OutdatedCursor"}, {"seq", 8}});
  const auto checked = proto::check_frame(info);
  ASSERT_TRUE(checked.ok) << checked.reason;
  EXPECT_EQ(checked.kind, proto::Kind::kInfo);
  EXPECT_EQ(checked.seq, 8);
  EXPECT_EQ(proto::peek_header(info).seq, 8);

  const Bytes error = proto::encode_frame(cbor::Map{{"op", -1}}, cbor::Map{{"error", "FutureCursor"}, {"seq", 9}});
  const auto e = proto::check_frame(error);
  ASSERT_TRUE(e.ok) << e.reason;
  EXPECT_EQ(e.seq, 9);
  EXPECT_EQ(proto::peek_header(error).seq, 9);
}

TEST(PeekHeader, FailsOnGarbage) {
  EXPECT_FALSE(proto::peek_header({}).ok);
  EXPECT_FALSE(proto::peek_header(Bytes{0xa1}).ok);
  EXPECT_FALSE(proto::peek_header(cbor::encode(cbor::Map{{"op", 1}, {"t", "#commit"}})).ok);  // no body
  EXPECT_FALSE(proto::peek_header(proto::encode_frame(cbor::Map{{"op", 3}}, cbor::Map{})).ok);
  const Bytes good = proto::make_commit_frame(commit_spec());
  for (std::size_t n = 0; n < 40 && n < good.size(); ++n) {
    EXPECT_FALSE(proto::peek_header(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n))).ok) << n;
  }
}

// ---- rewrite_seq ------------------------------------------------------------

// The reference: decode the body, set seq, encode canonically.
Bytes reference_rewrite(const Bytes& frame, std::int64_t seq) {
  std::size_t used = 0;
  EXPECT_TRUE(cbor::decode_prefix(frame, used).ok());
  auto body = cbor::decode(std::span(frame).subspan(used));
  body.value->map().set("seq", seq);
  Bytes out(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(used));
  cbor::encode_to(*body.value, out);
  return out;
}

TEST(RewriteSeq, EqualsCanonicalReencode) {
  const std::vector<Bytes> frames = {
      proto::make_commit_frame(commit_spec()), proto::make_sync_frame({.seq = 3, .did = kDid}),
      proto::make_identity_frame({.seq = 4, .did = kDid, .handle = "a.test"}),
      proto::make_account_frame({.seq = 300, .did = kDid})};
  for (const Bytes& f : frames) {
    for (std::int64_t seq : std::initializer_list<std::int64_t>{0, 23, 24, 255, 65536, 4294967296, INT64_MAX}) {
      const Bytes out = proto::rewrite_seq(f, seq);
      ASSERT_FALSE(out.empty());
      EXPECT_EQ(out, reference_rewrite(f, seq)) << seq;
      const auto r = proto::check_frame(out);
      EXPECT_TRUE(r.ok) << r.reason;
      EXPECT_EQ(r.seq, seq);
      EXPECT_EQ(proto::peek_header(out).seq, seq);
    }
  }
}

TEST(RewriteSeq, RejectsWhatItCannotRewrite) {
  EXPECT_TRUE(proto::rewrite_seq(proto::make_identity_frame({.did = kDid}), -5).empty());
  EXPECT_TRUE(proto::rewrite_seq(proto::encode_info_frame("OutdatedCursor"), 5).empty());  // no seq
  EXPECT_TRUE(proto::rewrite_seq(with_body("#x", cbor::Map{{"seq", "1"}}), 5).empty());      // not an integer
  EXPECT_TRUE(proto::rewrite_seq({}, 5).empty());
  proto::IdentitySpec bad{.did = kDid};
  bad.defect = proto::Defect::kBadCbor;
  EXPECT_TRUE(proto::rewrite_seq(proto::make_identity_frame(bad), 5).empty());
  Bytes trailing = proto::make_identity_frame({.did = kDid});
  trailing.push_back(0);
  EXPECT_TRUE(proto::rewrite_seq(trailing, 5).empty());
}

}  // namespace
