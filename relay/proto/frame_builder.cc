#include "relay/proto/frame_builder.h"

#include <algorithm>

#include "relay/proto/car.h"
#include "relay/proto/cbor_writer.h"
#include "relay/proto/commit.h"
#include "relay/proto/tid.h"

namespace faultline::relay::proto {

const char* defect_name(Defect d) {
  switch (d) {
    case Defect::kNone:
      return "none";
    case Defect::kBadCbor:
      return "bad-cbor";
    case Defect::kTruncated:
      return "truncated";
    case Defect::kUnknownType:
      return "unknown-type";
    case Defect::kBadDid:
      return "bad-did";
    case Defect::kTooManyOps:
      return "too-many-ops";
    case Defect::kBadOp:
      return "bad-op";
    case Defect::kBadPath:
      return "bad-path";
    case Defect::kBadCar:
      return "bad-car";
    case Defect::kBlocksTooLarge:
      return "blocks-too-large";
    case Defect::kTooLarge:
      return "too-large";
    case Defect::kCommitRootMismatch:
      return "commit-root-mismatch";
    case Defect::kMissingCommitBlock:
      return "missing-commit-block";
    case Defect::kCommitCidMismatch:
      return "commit-cid-mismatch";
    case Defect::kBlockCidMismatch:
      return "block-cid-mismatch";
    case Defect::kDidMismatch:
      return "did-mismatch";
    case Defect::kRevMismatch:
      return "rev-mismatch";
  }
  return "unknown";
}

namespace {

// 2023-11-14T22:13:20Z in µs: revs and rkeys derived from seq start here.
constexpr std::uint64_t kBaseMicros = 1'700'000'000'000'000ull;
constexpr std::size_t kTooManyOps = 201;
constexpr std::size_t kBlocksTooLargeCommit = 2'000'001;
constexpr std::size_t kBlocksTooLargeSync = 10'001;
constexpr std::size_t kTooLargeFrame = 5'000'001;
constexpr const char* kOtherDid = "did:plc:someoneelsesomeoneelse";
constexpr std::uint8_t kFakeSigByte = 0x5a;
constexpr std::size_t kSigBytes = 64;

// The empty MST node {e: [], l: null}: the `data` of every built commit.
const std::vector<std::uint8_t>& mst_block() {
  static const std::vector<std::uint8_t> b = {0xa2, 0x61, 'e', 0x80, 0x61, 'l', 0xf6};
  return b;
}
const Cid& mst_cid() {
  static const Cid c = Cid::compute(kCodecDagCbor, mst_block());
  return c;
}
// The same node with `l` true: bytes that do not match mst_cid().
const std::vector<std::uint8_t>& altered_mst_block() {
  static const std::vector<std::uint8_t> b = {0xa2, 0x61, 'e', 0x80, 0x61, 'l', 0xf5};
  return b;
}

std::uint64_t seq_micros(std::int64_t seq) { return kBaseMicros + static_cast<std::uint64_t>(seq); }

void write_header(std::vector<std::uint8_t>& out, std::string_view type) {
  cbor::Writer w(out);
  w.map_header(2);  // "t" sorts before "op"
  w.text("t");
  w.text(type);
  w.text("op");
  w.integer(1);
}

std::string_view frame_type(std::string_view type, Defect d) { return d == Defect::kUnknownType ? "#bogus" : type; }

// kBadCbor: the seq value in its 8-byte form (non-shortest below 2^32).
// Returns false when that form would be shortest, so the caller must break
// the encoding some other way.
bool write_seq(cbor::Writer& w, std::int64_t seq, Defect d) {
  if (d == Defect::kBadCbor && seq >= 0 && seq <= 0xffffffffll) {
    auto& out = w.buffer();
    out.push_back(0x1b);
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(seq) >> (56 - 8 * i)));
    return true;
  }
  w.integer(seq);
  return d != Defect::kBadCbor;
}

void finish(std::vector<std::uint8_t>& frame, std::size_t header_len, Defect d) {
  if (d == Defect::kTruncated) frame.resize(header_len + (frame.size() - header_len) / 2);
}

// (Both arms string_view: a std::string arm would make the result a dangling temporary.)
std::string_view did_for(const std::string& did, Defect d) {
  return d == Defect::kBadDid ? std::string_view("not-a-did") : std::string_view(did);
}

Commit make_commit(const std::string& did, const std::string& rev, Defect d) {
  Commit c;
  c.did = d == Defect::kDidMismatch ? kOtherDid : did;
  c.data = mst_cid();
  c.rev = d == Defect::kRevMismatch ? make_tid(parse_tid(rev).value_or(TidParts{}).micros + 1, 0) : rev;
  c.sig.assign(kSigBytes, kFakeSigByte);
  return c;
}

struct BuiltBlocks {
  Cid commit_cid;
  std::vector<std::uint8_t> car;
};

// The commit block (+ extra blocks) as a CAR whose root is the commit.
BuiltBlocks build_car(const Commit& commit, std::vector<CarBlock>& extra, Defect d, std::size_t too_large_block) {
  BuiltBlocks out;
  std::vector<std::uint8_t> commit_bytes;
  commit_bytes.reserve(192);
  encode_commit_to(commit, commit_bytes);
  out.commit_cid = Cid::compute(kCodecDagCbor, commit_bytes);
  if (d == Defect::kCommitCidMismatch) {
    Commit altered = commit;
    altered.sig.back() ^= 0xff;
    commit_bytes.clear();
    encode_commit_to(altered, commit_bytes);
  }
  std::vector<std::uint8_t> big;
  std::vector<CarBlock> blocks;
  blocks.reserve(extra.size() + 2);
  if (d != Defect::kMissingCommitBlock) blocks.push_back(CarBlock{out.commit_cid, commit_bytes});
  blocks.insert(blocks.end(), extra.begin(), extra.end());
  if (d == Defect::kBlocksTooLarge || d == Defect::kTooLarge) {
    big.assign(d == Defect::kTooLarge ? kTooLargeFrame : too_large_block, 0x00);
    blocks.push_back(CarBlock{Cid::compute(kCodecRaw, big), big});
  }
  const Cid root = out.commit_cid;
  write_car_to({&root, 1}, blocks, out.car);
  if (d == Defect::kBadCar) out.car.pop_back();  // the last section now overruns the input
  return out;
}

void write_default_record(std::vector<std::uint8_t>& out, std::string_view collection, std::string_view time,
                          std::int64_t seq, std::size_t index) {
  cbor::Writer w(out);
  w.map_header(3);  // text (4) < $type (5) < createdAt (9)
  w.text("text");
  w.text("faultline post " + std::to_string(seq) + "." + std::to_string(index));
  w.text("$type");
  w.text(collection);
  w.text("createdAt");
  w.text(time);
}

}  // namespace

std::string default_rev(std::int64_t seq) { return make_tid(seq_micros(seq), 0); }

std::vector<std::uint8_t> make_commit_frame(const CommitSpec& spec) {
  const Defect d = spec.defect;
  const std::string rev = spec.rev.empty() ? default_rev(spec.seq) : spec.rev;

  // The ops as sent, padded where a defect needs more of them.
  static const OpSpec kDefaultOp;
  std::size_t n = spec.ops.size();
  if (d == Defect::kTooManyOps) n = std::max(n, kTooManyOps);
  if ((d == Defect::kBadOp || d == Defect::kBadPath) && n == 0) n = 1;
  auto op_at = [&](std::size_t i) -> const OpSpec& { return i < spec.ops.size() ? spec.ops[i] : kDefaultOp; };

  // Record blocks, all in one buffer.
  std::vector<std::uint8_t> records;
  records.reserve(n * 96);
  struct Built {
    std::size_t offset = 0, size = 0;
    std::optional<Cid> cid;
  };
  std::vector<Built> built(n);
  for (std::size_t i = 0; i < n; ++i) {
    const OpSpec& op = op_at(i);
    if (op.action == OpSpec::Action::kDelete) continue;
    built[i].offset = records.size();
    if (op.record) {
      cbor::encode_to(*op.record, records);
    } else {
      write_default_record(records, op.collection, spec.time, spec.seq, i);
    }
    built[i].size = records.size() - built[i].offset;
  }
  std::vector<CarBlock> extra;
  extra.reserve(n + 1);
  extra.push_back(CarBlock{mst_cid(), d == Defect::kBlockCidMismatch ? altered_mst_block() : mst_block()});
  for (std::size_t i = 0; i < n; ++i) {
    if (op_at(i).action == OpSpec::Action::kDelete) continue;
    const std::span<const std::uint8_t> data(records.data() + built[i].offset, built[i].size);
    built[i].cid = Cid::compute(kCodecDagCbor, data);
    extra.push_back(CarBlock{*built[i].cid, data});
  }

  const Commit commit = make_commit(spec.did, rev, d);
  const BuiltBlocks blocks = build_car(commit, extra, d, kBlocksTooLargeCommit);

  std::vector<std::uint8_t> frame;
  frame.reserve(blocks.car.size() + n * 96 + 256);
  write_header(frame, frame_type("#commit", d));
  const std::size_t header_len = frame.size();
  cbor::Writer w(frame);
  w.map_header(spec.prev_data ? 12 : 11);
  // Canonical order: ops rev seq | repo time | blobs since | blocks commit rebase tooBig | prevData.
  w.text("ops");
  w.array_header(n);
  std::string path;
  for (std::size_t i = 0; i < n; ++i) {
    const OpSpec& op = op_at(i);
    w.map_header(3);  // cid (3) < path (4) < action (6)
    w.text("cid");
    if (d == Defect::kBadOp && i == 0) {
      w.null();
    } else if (built[i].cid) {
      w.link(*built[i].cid);
    } else {
      w.null();
    }
    path = op.collection;
    path += '/';
    if (d == Defect::kBadPath && i == 0) {
      path += "bad key!";
    } else if (op.rkey.empty()) {
      path += make_tid(seq_micros(spec.seq), static_cast<std::uint32_t>(i));
    } else {
      path += op.rkey;
    }
    w.text("path");
    w.text(path);
    w.text("action");
    if (d == Defect::kBadOp && i == 0) {
      w.text("create");
    } else {
      w.text(op.action == OpSpec::Action::kCreate ? "create"
             : op.action == OpSpec::Action::kUpdate ? "update"
                                                     : "delete");
    }
  }
  w.text("rev");
  w.text(rev);
  w.text("seq");
  const bool seq_broke_cbor = write_seq(w, spec.seq, d);
  w.text("repo");
  w.text(did_for(spec.did, d));
  w.text("time");
  w.text(spec.time);
  w.text("blobs");
  w.array_header(0);
  w.text("since");
  if (spec.since) {
    w.text(*spec.since);
  } else {
    w.null();
  }
  w.text("blocks");
  w.bytes(blocks.car);
  w.text("commit");
  w.link(d == Defect::kCommitRootMismatch ? mst_cid() : blocks.commit_cid);
  w.text("rebase");
  if (d == Defect::kBadCbor && !seq_broke_cbor) {
    frame.push_back(0xf7);  // undefined
  } else {
    w.boolean(false);
  }
  w.text("tooBig");
  w.boolean(false);
  if (spec.prev_data) {
    w.text("prevData");
    w.link(*spec.prev_data);
  }
  finish(frame, header_len, d);
  return frame;
}

std::vector<std::uint8_t> make_sync_frame(const SyncSpec& spec) {
  const Defect d = spec.defect;
  const std::string rev = spec.rev.empty() ? default_rev(spec.seq) : spec.rev;
  std::vector<CarBlock> extra;
  if (d == Defect::kBlockCidMismatch) extra.push_back(CarBlock{mst_cid(), altered_mst_block()});
  const BuiltBlocks blocks = build_car(make_commit(spec.did, rev, d), extra, d, kBlocksTooLargeSync);

  std::vector<std::uint8_t> frame;
  frame.reserve(blocks.car.size() + 160);
  write_header(frame, frame_type("#sync", d));
  const std::size_t header_len = frame.size();
  cbor::Writer w(frame);
  w.map_header(5);  // did rev seq | time | blocks
  w.text("did");
  w.text(did_for(spec.did, d));
  w.text("rev");
  w.text(rev);
  w.text("seq");
  if (!write_seq(w, spec.seq, d)) frame.push_back(0xf7);  // a stray undefined where the next key belongs
  w.text("time");
  w.text(spec.time);
  w.text("blocks");
  w.bytes(blocks.car);
  finish(frame, header_len, d);
  return frame;
}

std::vector<std::uint8_t> make_identity_frame(const IdentitySpec& spec) {
  const Defect d = spec.defect;
  std::vector<std::uint8_t> frame;
  frame.reserve(128 + spec.did.size());
  write_header(frame, frame_type("#identity", d));
  const std::size_t header_len = frame.size();
  cbor::Writer w(frame);
  w.map_header(spec.handle ? 4 : 3);  // did seq | time | handle
  w.text("did");
  w.text(did_for(spec.did, d));
  w.text("seq");
  if (!write_seq(w, spec.seq, d)) frame.push_back(0xf7);
  w.text("time");
  w.text(spec.time);
  if (spec.handle) {
    w.text("handle");
    w.text(*spec.handle);
  }
  finish(frame, header_len, d);
  return frame;
}

std::vector<std::uint8_t> make_account_frame(const AccountSpec& spec) {
  const Defect d = spec.defect;
  std::vector<std::uint8_t> frame;
  frame.reserve(128 + spec.did.size());
  write_header(frame, frame_type("#account", d));
  const std::size_t header_len = frame.size();
  cbor::Writer w(frame);
  w.map_header(spec.status ? 5 : 4);  // did seq | time | active status
  w.text("did");
  w.text(did_for(spec.did, d));
  w.text("seq");
  if (!write_seq(w, spec.seq, d)) frame.push_back(0xf7);
  w.text("time");
  w.text(spec.time);
  w.text("active");
  w.boolean(spec.active);
  if (spec.status) {
    w.text("status");
    w.text(*spec.status);
  }
  finish(frame, header_len, d);
  return frame;
}

}  // namespace faultline::relay::proto
