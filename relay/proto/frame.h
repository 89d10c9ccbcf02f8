// Firehose frames of com.atproto.sync.subscribeRepos: one binary WebSocket
// message = DAG-CBOR header {op, t} + DAG-CBOR body, concatenated.
//
//   op  1, t "#commit" | "#sync" | "#identity" | "#account" | "#info"  — a message
//   op -1 (no t), body {error: name, message?: text}                   — an error;
//                                                                        the stream then closes
//
// check_frame() is the relay's gate for frames from upstream hosts. It never
// throws on any input and reports the first problem as a short, stable reason
// code (FrameCheck::reason) plus a human-readable detail:
//
//   too-large             the message is over Limits::max_frame_bytes (5,000,000)
//   bad-cbor              header or body not strict DAG-CBOR, body missing, or
//                         bytes after the body
//   bad-header            header not a map, `op` not 1 or -1, `t` missing/not text
//   unknown-type          op 1 with a `t` other than the five above (see below)
//   bad-body              body not a map, a required field missing or of the
//                         wrong type (lexicon), a wrong-typed optional field
//   bad-seq               seq < 0
//   bad-did               repo/did is not a DID
//   bad-handle            #identity handle is not a handle
//   bad-tid               rev/since is not a TID
//   bad-datetime          time is not a lexicon datetime
//   too-many-ops          more than Limits::max_ops (200) ops
//   bad-op                op action not create|update|delete; cid not a link for
//                         create/update or not null for delete; prev not a link
//   bad-path              op path not "<NSID>/<record key>"
//   blocks-too-large      #commit.blocks over 2,000,000 bytes (#sync: 10,000)
//   bad-car               blocks is not a well-formed CARv1 (detail: car.h reason)
//   commit-root-mismatch  #commit.commit differs from the CAR's first root
//   missing-commit-block  the CAR has no block for its first root
//   commit-cid-mismatch   the commit block's bytes do not hash to its CID
//   block-cid-mismatch    another block's bytes do not hash to its CID
//                         (Limits::verify_block_cids, default on)
//   bad-commit            the commit block is not a v3 commit object (commit.h)
//   commit-did-mismatch   commit.did differs from the frame's repo/did
//   commit-rev-mismatch   commit.rev differs from the frame's rev
//
// Decisions:
//  - Unknown `t` (including the retired #handle, #migrate, #tombstone):
//    ok == false, kind kUnknown, reason "unknown-type", seq/did filled in when
//    present. The relay drops them, as indigo does — it cannot vouch for
//    what it cannot check.
//  - Error frames (op -1) that are well formed are ok, kind kError.
//  - Lenient where real hosts differ from the lexicon and indigo accepts it:
//    `blobs` may be null; `prev` in a commit object may be absent. Record
//    blocks named by ops are not required to be in the CAR, and signatures
//    and MST structure are not checked here (the relay core's business).
//  - The fields of FrameCheck are filled as far as checking got, so even a
//    rejected frame tells the caller its kind, seq and did when known.
//
// peek_header() is the cheap path for per-host ordering: it reads op/t and
// the body's seq and repo/did without lexicon or CAR checks. It walks the
// header and the body's first keys item by item (each item strictly) and
// stops at the first key longer than four characters, relying on canonical
// key order; it does not prove the frame valid. rewrite_seq() replaces the
// body's `seq` for the relay's sequencer; see below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relay/proto/cbor_value.h"
#include "relay/proto/cid.h"

namespace faultline::relay::proto {

inline constexpr std::string_view kErrorFutureCursor = "FutureCursor";
inline constexpr std::string_view kErrorConsumerTooSlow = "ConsumerTooSlow";
inline constexpr std::string_view kInfoOutdatedCursor = "OutdatedCursor";

enum class Kind : std::uint8_t { kInvalid, kCommit, kSync, kIdentity, kAccount, kInfo, kError, kUnknown };

// "invalid", "#commit", "#sync", "#identity", "#account", "#info", "error", "unknown".
const char* kind_name(Kind k);

struct Limits {
  std::size_t max_frame_bytes = 5'000'000;
  std::size_t max_commit_blocks_bytes = 2'000'000;
  std::size_t max_sync_blocks_bytes = 10'000;
  std::size_t max_ops = 200;
  std::size_t max_depth = 64;     // DAG-CBOR nesting in header and body
  bool verify_block_cids = true;  // hash every CAR block, not only the commit
};

struct FrameCheck {
  bool ok = false;
  std::string reason;  // a code from the list above; "" when ok
  std::string detail;  // human-readable, for logs
  Kind kind = Kind::kInvalid;
  std::int64_t op = 0;
  std::string type;          // header `t` as sent
  std::size_t header_bytes = 0;
  std::int64_t seq = -1;     // body seq (-1 when absent)
  std::string did;           // #commit repo, else did
  std::string time;
  // #commit / #sync
  std::string rev;
  std::optional<std::string> since;  // #commit; nullopt when null
  std::optional<Cid> commit;         // #commit field / #sync first root
  std::optional<Cid> prev_data;
  std::size_t op_count = 0;
  std::size_t blocks_bytes = 0;
  std::size_t block_count = 0;
  bool too_big = false;
  // #identity
  std::optional<std::string> handle;
  // #account
  bool account_active = false;
  std::string account_status;  // "" when absent
  // op -1
  std::string error_name;
  std::string error_message;
  // #info
  std::string info_name;
  std::string info_message;
};

FrameCheck check_frame(std::span<const std::uint8_t> msg, const Limits& limits = {});

struct FramePeek {
  bool ok = false;          // header readable with op 1 (+ t) or -1, body a map
  std::int64_t op = 0;
  std::string_view type;    // view into msg; empty for op -1
  std::int64_t seq = -1;    // -1 when the body has no integer seq
  std::string_view repo;    // body repo (#commit) or did; view into msg
  std::size_t header_bytes = 0;
};

// Views point into `msg`, which must outlive the result.
FramePeek peek_header(std::span<const std::uint8_t> msg);

// The same frame with the body's `seq` replaced by new_seq: the header
// bytes are kept verbatim and the body is re-encoded canonically. As keys do
// not change, canonical re-encoding only re-writes the seq value, which is
// what this does after strictly validating header and body. Returns an empty
// vector if the frame is not strict DAG-CBOR, its body has no integer seq,
// or new_seq < 0.
std::vector<std::uint8_t> rewrite_seq(std::span<const std::uint8_t> msg, std::int64_t new_seq);

// Encoders for frames the relay sends.
std::vector<std::uint8_t> encode_frame(const cbor::Value& header, const cbor::Value& body);
// {op: 1, t: type} + body.
std::vector<std::uint8_t> encode_message_frame(std::string_view type, const cbor::Value& body);
// {op: -1} + {error: name, message?}; an empty message is omitted.
std::vector<std::uint8_t> encode_error_frame(std::string_view name, std::string_view message = {});
// {op: 1, t: "#info"} + {name, message?}; an empty message is omitted.
std::vector<std::uint8_t> encode_info_frame(std::string_view name, std::string_view message = {});

}  // namespace faultline::relay::proto

// Builders of valid and deliberately invalid frames (tests, fake hosts).
#include "relay/proto/frame_builder.h"
