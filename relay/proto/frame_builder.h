// Builders of firehose frames for tests and for the stress suite's fake
// upstream hosts: valid frames with real CARs, real commit blocks and correct
// CIDs (signatures are fake bytes — the relay does not verify them), and each
// kind of invalid frame a misbehaving host sends (Defect).
//
// Contract:
//  - With Defect::kNone every builder's output passes check_frame() with the
//    default Limits, and decodes to exactly the fields of its spec.
//  - With a defect, the frame differs from the valid one only in what the
//    defect names, so check_frame() rejects it with the reason listed next to
//    the defect. A defect that does not apply to a frame kind (say
//    kTooManyOps for #identity) is ignored and the frame is valid.
//  - Deterministic: the same spec gives the same bytes. Empty rev/rkeys are
//    derived from seq and the op's index, so they stay valid TIDs.
//  - Speed matters (a fleet of fake hosts calls this ~20,000 times/s): the
//    builder writes canonical DAG-CBOR directly with cbor::Writer in
//    canonical key order; only a user-supplied record goes through Value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "relay/proto/cbor_value.h"
#include "relay/proto/cid.h"

namespace faultline::relay::proto {

enum class Defect : std::uint8_t {
  kNone,
  kBadCbor,             // body: seq in a non-shortest integer form            -> bad-cbor
  kTruncated,           // the frame cut in the middle of the body             -> bad-cbor
  kUnknownType,         // header t "#bogus"                                   -> unknown-type
  kBadDid,              // repo/did "not-a-did"                                -> bad-did
  kTooManyOps,          // 201 ops                                             -> too-many-ops
  kBadOp,               // a create op with a null cid                         -> bad-op
  kBadPath,             // an op path whose record key is invalid              -> bad-path
  kBadCar,              // blocks: the CAR cut inside its last block           -> bad-car
  kBlocksTooLarge,      // blocks over the limit (commit 2 MB, sync 10 kB)    -> blocks-too-large
  kTooLarge,            // the whole frame over 5,000,000 bytes                 -> too-large
  kCommitRootMismatch,  // `commit` names another CID than the CAR's root     -> commit-root-mismatch
  kMissingCommitBlock,  // the CAR lacks the commit block                     -> missing-commit-block
  kCommitCidMismatch,   // commit block altered after its CID was taken       -> commit-cid-mismatch
  kBlockCidMismatch,    // a record/MST block altered after its CID was taken -> block-cid-mismatch
  kDidMismatch,         // the commit object names another DID                -> commit-did-mismatch
  kRevMismatch,         // the commit object has another rev                  -> commit-rev-mismatch
};
inline constexpr int kDefectCount = 17;

const char* defect_name(Defect d);

inline constexpr const char* kDefaultTime = "2025-01-01T00:00:00.000Z";
inline constexpr const char* kDefaultDid = "did:plc:faultlinefaultlinefault";

struct OpSpec {
  enum class Action : std::uint8_t { kCreate, kUpdate, kDelete };
  Action action = Action::kCreate;
  std::string collection = "app.bsky.feed.post";
  std::string rkey;                   // empty: a TID from seq and the op index
  std::optional<cbor::Value> record;  // create/update; empty: a small post
};

struct CommitSpec {
  std::int64_t seq = 1;
  std::string did = kDefaultDid;
  std::string rev;  // empty: a TID derived from seq
  std::optional<std::string> since;
  std::string time = kDefaultTime;
  std::vector<OpSpec> ops;  // may be empty: an empty commit
  std::optional<Cid> prev_data;
  Defect defect = Defect::kNone;
};

struct SyncSpec {
  std::int64_t seq = 1;
  std::string did = kDefaultDid;
  std::string rev;  // empty: a TID derived from seq
  std::string time = kDefaultTime;
  Defect defect = Defect::kNone;
};

struct IdentitySpec {
  std::int64_t seq = 1;
  std::string did = kDefaultDid;
  std::optional<std::string> handle;
  std::string time = kDefaultTime;
  Defect defect = Defect::kNone;
};

struct AccountSpec {
  std::int64_t seq = 1;
  std::string did = kDefaultDid;
  bool active = true;
  std::optional<std::string> status;
  std::string time = kDefaultTime;
  Defect defect = Defect::kNone;
};

std::vector<std::uint8_t> make_commit_frame(const CommitSpec& spec);
std::vector<std::uint8_t> make_sync_frame(const SyncSpec& spec);
std::vector<std::uint8_t> make_identity_frame(const IdentitySpec& spec);
std::vector<std::uint8_t> make_account_frame(const AccountSpec& spec);

// The rev a spec with an empty rev gets (a TID from seq).
std::string default_rev(std::int64_t seq);

}  // namespace faultline::relay::proto
