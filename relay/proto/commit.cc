#include "relay/proto/commit.h"

#include "relay/proto/cbor_reader.h"
#include "relay/proto/cbor_writer.h"
#include "relay/proto/syntax.h"

namespace faultline::relay::proto {
namespace {

CommitParse error(std::string msg) {
  CommitParse r;
  r.error = std::move(msg);
  return r;
}

}  // namespace

CommitParse parse_commit(const cbor::Value& v) {
  if (!v.is_map()) return error("commit is not a map");
  Commit c;
  const auto did = v.find("did") ? v.find("did")->as_text() : std::nullopt;
  if (!did) return error("commit.did missing or not text");
  if (!is_valid_did(*did)) return error("commit.did is not a valid DID");
  c.did = std::string(*did);
  const auto version = v.find("version") ? v.find("version")->as_int() : std::nullopt;
  if (!version) return error("commit.version missing or not an integer");
  if (*version != kCommitVersion) return error("commit.version is " + std::to_string(*version) + ", not 3");
  c.version = *version;
  const cbor::Value* data = v.find("data");
  if (data == nullptr || !data->is_link()) return error("commit.data missing or not a link");
  c.data = data->link();
  const auto rev = v.find("rev") ? v.find("rev")->as_text() : std::nullopt;
  if (!rev) return error("commit.rev missing or not text");
  if (!is_valid_tid(*rev)) return error("commit.rev is not a valid TID");
  c.rev = std::string(*rev);
  if (const cbor::Value* prev = v.find("prev")) {
    if (prev->is_link()) {
      c.prev = prev->link();
    } else if (!prev->is_null()) {
      return error("commit.prev is neither a link nor null");
    }
  }
  const cbor::Value* sig = v.find("sig");
  if (sig == nullptr || !sig->is_bytes()) return error("commit.sig missing or not bytes");
  c.sig = sig->bytes();
  CommitParse r;
  r.commit = std::move(c);
  return r;
}

CommitParse decode_commit(std::span<const std::uint8_t> block) {
  cbor::DecodeOptions opts;
  opts.max_depth = 8;
  const cbor::DecodeResult d = cbor::decode(block, opts);
  if (!d.ok()) return error("commit block is not DAG-CBOR: " + d.error.message());
  return parse_commit(*d.value);
}

void encode_commit_to(const Commit& c, std::vector<std::uint8_t>& out) {
  // Canonical key order: did, rev, sig (3 chars), data, prev (4), version (7).
  cbor::Writer w(out);
  w.map_header(6);
  w.text("did");
  w.text(c.did);
  w.text("rev");
  w.text(c.rev);
  w.text("sig");
  w.bytes(c.sig);
  w.text("data");
  w.link(c.data);
  w.text("prev");
  if (c.prev) {
    w.link(*c.prev);
  } else {
    w.null();
  }
  w.text("version");
  w.integer(c.version);
}

std::vector<std::uint8_t> encode_commit(const Commit& c) {
  std::vector<std::uint8_t> out;
  out.reserve(160 + c.did.size() + c.sig.size());
  encode_commit_to(c, out);
  return out;
}

}  // namespace faultline::relay::proto
