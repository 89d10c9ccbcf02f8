// Writes the seed corpora of the relay/proto fuzzers:
//   relay_proto_fuzz_seeds <dir>   ->  <dir>/{dag_cbor,car,frame}/<name>
// Seeds are small valid inputs (and a few invalid frames from the builder's
// defects) so that the fuzzers start from the interesting structure.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "relay/proto/car.h"
#include "relay/proto/cbor.h"
#include "relay/proto/commit.h"
#include "relay/proto/frame.h"

namespace proto = faultline::relay::proto;
namespace cbor = faultline::relay::proto::cbor;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

void write(const fs::path& dir, const std::string& name, const Bytes& b) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// The body of a frame (after its header).
Bytes body_of(const Bytes& frame) {
  std::size_t used = 0;
  (void)cbor::decode_prefix(frame, used);
  return Bytes(frame.begin() + static_cast<std::ptrdiff_t>(used), frame.end());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  proto::CommitSpec spec;
  spec.seq = 7;
  spec.ops = {proto::OpSpec{}, proto::OpSpec{proto::OpSpec::Action::kDelete, "app.bsky.feed.like", "3kabcabcabc22", {}}};
  const Bytes commit = proto::make_commit_frame(spec);
  const Bytes sync = proto::make_sync_frame({.seq = 8});

  // frame
  const fs::path frames = root / "frame";
  write(frames, "commit", commit);
  write(frames, "commit-empty", proto::make_commit_frame({.seq = 9}));
  write(frames, "sync", sync);
  write(frames, "identity", proto::make_identity_frame({.seq = 10, .handle = "alice.test"}));
  write(frames, "account", proto::make_account_frame({.seq = 11, .active = false, .status = "deactivated"}));
  write(frames, "info", proto::encode_info_frame(proto::kInfoOutdatedCursor, "m"));
  write(frames, "error", proto::encode_error_frame(proto::kErrorFutureCursor, "m"));
  for (proto::Defect d : {proto::Defect::kBadCbor, proto::Defect::kUnknownType, proto::Defect::kBadOp,
                          proto::Defect::kBadPath, proto::Defect::kBadCar, proto::Defect::kCommitRootMismatch,
                          proto::Defect::kMissingCommitBlock, proto::Defect::kCommitCidMismatch,
                          proto::Defect::kDidMismatch, proto::Defect::kRevMismatch}) {
    proto::CommitSpec s = spec;
    s.defect = d;
    write(frames, std::string("commit-") + proto::defect_name(d), proto::make_commit_frame(s));
  }

  // dag_cbor
  const fs::path dc = root / "dag_cbor";
  write(dc, "commit-body", body_of(commit));
  write(dc, "sync-body", body_of(sync));
  proto::Commit c;
  c.did = proto::kDefaultDid;
  c.rev = proto::default_rev(1);
  c.data = proto::Cid::compute(proto::kCodecDagCbor, Bytes{0xa0});
  c.sig = Bytes(64, 0x5a);
  write(dc, "commit-object", proto::encode_commit(c));
  write(dc, "scalars", cbor::encode(cbor::Array{0, 23, 24, -1, -25, 65536, INT64_MIN, true, false, nullptr, "é"}));
  write(dc, "bytes-link", cbor::encode(cbor::Map{{"b", cbor::Bytes{1, 2, 3}}, {"l", c.data}, {"aa", cbor::Map{}}}));

  // car
  const fs::path car = root / "car";
  const auto commit_body = cbor::decode(body_of(commit));
  const auto sync_body = cbor::decode(body_of(sync));
  if (!commit_body.ok() || !sync_body.ok()) return 1;
  write(car, "commit-blocks", *commit_body.value->find("blocks")->as_bytes());
  write(car, "sync-blocks", *sync_body.value->find("blocks")->as_bytes());
  return 0;
}
