// The repository commit object (atproto repository spec, version 3): the
// block a `#commit`/`#sync` event's CAR names as its first root.
//
//   {did: DID, version: 3, data: link (MST root), rev: TID,
//    prev: link | null (may be absent), sig: bytes}
//
// Contract: parse_commit()/decode_commit() accept exactly that shape (extra
// keys are tolerated: they are covered by the signature) and otherwise return
// an error naming the first offending field; decode_commit() first requires
// strict DAG-CBOR. encode_commit() writes the canonical block (`prev`
// always present, null when absent); its CID is Cid::compute(kCodecDagCbor,
// bytes). Signatures are not produced or verified here.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "relay/proto/cbor_value.h"
#include "relay/proto/cid.h"

namespace faultline::relay::proto {

inline constexpr std::int64_t kCommitVersion = 3;

struct Commit {
  std::string did;
  std::int64_t version = kCommitVersion;
  Cid data;
  std::string rev;
  std::optional<Cid> prev;
  std::vector<std::uint8_t> sig;
};

struct CommitParse {
  std::optional<Commit> commit;
  std::string error;  // "" when ok
  bool ok() const { return commit.has_value(); }
};

CommitParse parse_commit(const cbor::Value& v);
CommitParse decode_commit(std::span<const std::uint8_t> block);

std::vector<std::uint8_t> encode_commit(const Commit& c);
void encode_commit_to(const Commit& c, std::vector<std::uint8_t>& out);

}  // namespace faultline::relay::proto
