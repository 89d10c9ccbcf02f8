#include "relay/proto/frame.h"

#include "relay/proto/car.h"
#include "relay/proto/cbor_reader.h"
#include "relay/proto/cbor_writer.h"
#include "relay/proto/commit.h"
#include "relay/proto/syntax.h"

namespace faultline::relay::proto {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kInvalid:
      return "invalid";
    case Kind::kCommit:
      return "#commit";
    case Kind::kSync:
      return "#sync";
    case Kind::kIdentity:
      return "#identity";
    case Kind::kAccount:
      return "#account";
    case Kind::kInfo:
      return "#info";
    case Kind::kError:
      return "error";
    case Kind::kUnknown:
      return "unknown";
  }
  return "invalid";
}

namespace {

using cbor::Value;

// Lexicon checks over one body map; every need_*/opt_* call either succeeds
// or records the failure in the FrameCheck and returns false.
class BodyChecker {
 public:
  BodyChecker(const cbor::Map& body, FrameCheck& r) : body_(body), r_(r) {}

  bool fail(const char* reason, std::string detail) {
    r_.ok = false;
    r_.reason = reason;
    r_.detail = std::move(detail);
    return false;
  }

  const Value* need(std::string_view key) {
    const Value* v = body_.find(key);
    if (v == nullptr) fail("bad-body", "missing required field `" + std::string(key) + "`");
    return v;
  }

  bool wrong_type(std::string_view key, const char* want) {
    return fail("bad-body", "field `" + std::string(key) + "` is not " + want);
  }

  bool need_text(std::string_view key, std::string& out) {
    const Value* v = need(key);
    if (v == nullptr) return false;
    if (!v->is_text()) return wrong_type(key, "text");
    out = v->text();
    return true;
  }

  bool opt_text(std::string_view key, std::optional<std::string>& out) {
    const Value* v = body_.find(key);
    if (v == nullptr) return true;
    if (!v->is_text()) return wrong_type(key, "text");
    out = v->text();
    return true;
  }

  bool need_int(std::string_view key, std::int64_t& out) {
    const Value* v = need(key);
    if (v == nullptr) return false;
    if (!v->is_int()) return wrong_type(key, "an integer");
    out = v->int_value();
    return true;
  }

  bool need_bool(std::string_view key, bool& out) {
    const Value* v = need(key);
    if (v == nullptr) return false;
    if (!v->is_bool()) return wrong_type(key, "a boolean");
    out = v->bool_value();
    return true;
  }

  bool need_link(std::string_view key, std::optional<Cid>& out) {
    const Value* v = need(key);
    if (v == nullptr) return false;
    if (!v->is_link()) return wrong_type(key, "a link");
    out = v->link();
    return true;
  }

  bool opt_link(std::string_view key, std::optional<Cid>& out) {
    const Value* v = body_.find(key);
    if (v == nullptr) return true;
    if (!v->is_link()) return wrong_type(key, "a link");
    out = v->link();
    return true;
  }

  const cbor::Bytes* need_bytes(std::string_view key) {
    const Value* v = need(key);
    if (v == nullptr) return nullptr;
    if (!v->is_bytes()) {
      wrong_type(key, "bytes");
      return nullptr;
    }
    return &v->bytes();
  }

  bool seq() {
    if (!need_int("seq", r_.seq)) return false;
    if (r_.seq < 0) return fail("bad-seq", "seq " + std::to_string(r_.seq) + " is negative");
    return true;
  }

  bool did(std::string_view key) {
    if (!need_text(key, r_.did)) return false;
    if (!is_valid_did(r_.did)) return fail("bad-did", "`" + std::string(key) + "` is not a DID: " + r_.did);
    return true;
  }

  bool time() {
    if (!need_text("time", r_.time)) return false;
    if (!is_valid_datetime(r_.time)) return fail("bad-datetime", "`time` is not a datetime: " + r_.time);
    return true;
  }

  bool tid(std::string_view key, const std::string& value) {
    if (!is_valid_tid(value)) return fail("bad-tid", "`" + std::string(key) + "` is not a TID: " + value);
    return true;
  }

 private:
  const cbor::Map& body_;
  FrameCheck& r_;
};

bool check_op(const Value& op, std::size_t index, BodyChecker& c) {
  const std::string at = "ops[" + std::to_string(index) + "]";
  if (!op.is_map()) return c.fail("bad-body", at + " is not a map");
  const Value* action = op.find("action");
  const Value* path = op.find("path");
  const Value* cid = op.find("cid");
  if (action == nullptr || path == nullptr || cid == nullptr) {
    return c.fail("bad-body", at + " lacks action, path or cid");
  }
  if (!action->is_text() || !path->is_text()) return c.fail("bad-body", at + " action/path not text");
  const std::string& a = action->text();
  const bool is_delete = a == "delete";
  if (!is_delete && a != "create" && a != "update") return c.fail("bad-op", at + " unknown action `" + a + "`");
  if (is_delete ? !cid->is_null() : !cid->is_link()) {
    return c.fail("bad-op", at + (is_delete ? " delete with a non-null cid" : " " + a + " without a cid link"));
  }
  if (const Value* prev = op.find("prev"); prev != nullptr && !prev->is_link()) {
    return c.fail("bad-op", at + " prev is not a link");
  }
  const std::string& p = path->text();
  const std::size_t slash = p.find('/');
  if (slash == std::string::npos || !is_valid_nsid(std::string_view(p).substr(0, slash)) ||
      !is_valid_record_key(std::string_view(p).substr(slash + 1))) {
    return c.fail("bad-path", at + " path is not <nsid>/<rkey>: " + p);
  }
  return true;
}

// Reads blocks as a CAR whose first root is the commit, checks CIDs and the
// commit object, and compares it with the frame's did/rev.
bool check_blocks(const cbor::Bytes& blocks, std::size_t max_bytes, const Limits& limits, FrameCheck& r,
                  BodyChecker& c, bool root_must_equal_commit) {
  r.blocks_bytes = blocks.size();
  if (blocks.size() > max_bytes) {
    return c.fail("blocks-too-large",
                  "blocks is " + std::to_string(blocks.size()) + " bytes, limit " + std::to_string(max_bytes));
  }
  CarLimits cl;
  cl.max_bytes = max_bytes;
  cl.max_block_bytes = max_bytes;
  const CarResult car = read_car(blocks, cl);
  if (!car.ok()) return c.fail("bad-car", car.reason + " at byte " + std::to_string(car.offset) + " of blocks");
  r.block_count = car.car->blocks.size();
  const Cid& root = car.car->roots.front();
  if (root_must_equal_commit) {
    if (!(root == *r.commit)) {
      return c.fail("commit-root-mismatch", "commit " + r.commit->to_string() + " but CAR root " + root.to_string());
    }
  } else {
    r.commit = root;
  }
  const CarBlock* commit_block = nullptr;
  for (const CarBlock& b : car.car->blocks) {
    const bool is_commit = commit_block == nullptr && b.cid == root;
    if (is_commit) commit_block = &b;
    if (!is_commit && !limits.verify_block_cids) continue;
    if (!b.cid.matches(b.data)) {
      return c.fail(is_commit ? "commit-cid-mismatch" : "block-cid-mismatch",
                    "block " + b.cid.to_string() + " does not hash to its CID");
    }
  }
  if (commit_block == nullptr) return c.fail("missing-commit-block", "no block for root " + root.to_string());
  if (root.codec() != kCodecDagCbor) return c.fail("bad-commit", "commit CID codec is not dag-cbor");
  const CommitParse commit = decode_commit(commit_block->data);
  if (!commit.ok()) return c.fail("bad-commit", commit.error);
  if (commit.commit->did != r.did) {
    return c.fail("commit-did-mismatch", "commit.did " + commit.commit->did + " but frame " + r.did);
  }
  if (commit.commit->rev != r.rev) {
    return c.fail("commit-rev-mismatch", "commit.rev " + commit.commit->rev + " but frame " + r.rev);
  }
  return true;
}

bool check_commit(const cbor::Map& body, const Limits& limits, FrameCheck& r) {
  BodyChecker c(body, r);
  if (!c.seq() || !c.did("repo")) return false;
  if (!c.need_text("rev", r.rev) || !c.tid("rev", r.rev)) return false;
  const Value* since = c.need("since");
  if (since == nullptr) return false;
  if (since->is_text()) {
    r.since = since->text();
    if (!c.tid("since", *r.since)) return false;
  } else if (!since->is_null()) {
    return c.wrong_type("since", "text or null");
  }
  if (!c.need_link("commit", r.commit) || !c.time()) return false;
  bool rebase = false;
  if (!c.need_bool("rebase", rebase) || !c.need_bool("tooBig", r.too_big)) return false;
  const Value* blobs = c.need("blobs");
  if (blobs == nullptr) return false;
  if (const cbor::Array* list = blobs->as_array()) {
    for (const Value& b : *list) {
      if (!b.is_link()) return c.wrong_type("blobs", "an array of links");
    }
  } else if (!blobs->is_null()) {
    return c.wrong_type("blobs", "an array of links");
  }
  if (!c.opt_link("prevData", r.prev_data)) return false;
  const Value* ops = c.need("ops");
  if (ops == nullptr) return false;
  if (!ops->is_array()) return c.wrong_type("ops", "an array");
  r.op_count = ops->array().size();
  if (r.op_count > limits.max_ops) {
    return c.fail("too-many-ops",
                  std::to_string(r.op_count) + " ops, limit " + std::to_string(limits.max_ops));
  }
  for (std::size_t i = 0; i < r.op_count; ++i) {
    if (!check_op(ops->array()[i], i, c)) return false;
  }
  const cbor::Bytes* blocks = c.need_bytes("blocks");
  if (blocks == nullptr) return false;
  return check_blocks(*blocks, limits.max_commit_blocks_bytes, limits, r, c, true);
}

bool check_sync(const cbor::Map& body, const Limits& limits, FrameCheck& r) {
  BodyChecker c(body, r);
  if (!c.seq() || !c.did("did")) return false;
  if (!c.need_text("rev", r.rev) || !c.tid("rev", r.rev)) return false;
  if (!c.time()) return false;
  const cbor::Bytes* blocks = c.need_bytes("blocks");
  if (blocks == nullptr) return false;
  return check_blocks(*blocks, limits.max_sync_blocks_bytes, limits, r, c, false);
}

bool check_identity(const cbor::Map& body, FrameCheck& r) {
  BodyChecker c(body, r);
  if (!c.seq() || !c.did("did") || !c.time()) return false;
  if (!c.opt_text("handle", r.handle)) return false;
  if (r.handle && !is_valid_handle(*r.handle)) return c.fail("bad-handle", "`handle` is not a handle: " + *r.handle);
  return true;
}

bool check_account(const cbor::Map& body, FrameCheck& r) {
  BodyChecker c(body, r);
  if (!c.seq() || !c.did("did") || !c.time()) return false;
  if (!c.need_bool("active", r.account_active)) return false;
  std::optional<std::string> status;
  if (!c.opt_text("status", status)) return false;
  r.account_status = status.value_or("");
  return true;
}

bool check_info(const cbor::Map& body, FrameCheck& r) {
  BodyChecker c(body, r);
  std::optional<std::string> message;
  if (!c.need_text("name", r.info_name) || !c.opt_text("message", message)) return false;
  r.info_message = message.value_or("");
  return true;
}

bool check_error(const cbor::Map& body, FrameCheck& r) {
  BodyChecker c(body, r);
  std::optional<std::string> message;
  if (!c.need_text("error", r.error_name) || !c.opt_text("message", message)) return false;
  r.error_message = message.value_or("");
  return true;
}

FrameCheck failed(FrameCheck r, const char* reason, std::string detail) {
  r.ok = false;
  r.reason = reason;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

FrameCheck check_frame(std::span<const std::uint8_t> msg, const Limits& limits) {
  FrameCheck r;
  if (msg.size() > limits.max_frame_bytes) {
    return failed(std::move(r), "too-large",
                  "frame is " + std::to_string(msg.size()) + " bytes, limit " + std::to_string(limits.max_frame_bytes));
  }
  cbor::DecodeOptions opts;
  opts.max_depth = limits.max_depth;
  std::size_t header_len = 0;
  const cbor::DecodeResult header = cbor::decode_prefix(msg, header_len, opts);
  if (!header.ok()) return failed(std::move(r), "bad-cbor", "header: " + header.error.message());
  r.header_bytes = header_len;

  const Value& h = *header.value;
  if (!h.is_map()) return failed(std::move(r), "bad-header", "header is not a map");
  const auto op = h.find("op") ? h.find("op")->as_int() : std::nullopt;
  if (!op) return failed(std::move(r), "bad-header", "header has no integer `op`");
  r.op = *op;
  if (*op == 1) {
    const auto t = h.find("t") ? h.find("t")->as_text() : std::nullopt;
    if (!t) return failed(std::move(r), "bad-header", "op 1 header has no text `t`");
    r.type = std::string(*t);
  } else if (*op != -1) {
    return failed(std::move(r), "bad-header", "header op is " + std::to_string(*op) + ", not 1 or -1");
  }

  if (header_len == msg.size()) return failed(std::move(r), "bad-cbor", "frame has no body");
  cbor::DecodeResult body = cbor::decode(msg.subspan(header_len), opts);
  if (!body.ok()) {
    body.error.offset += header_len;
    return failed(std::move(r), "bad-cbor", "body: " + body.error.message());
  }
  const cbor::Map* b = body.value->as_map();
  if (b == nullptr) return failed(std::move(r), "bad-body", "body is not a map");
  // The body's seq whatever the kind, as peek_header reads it: the relay
  // orders a host's frames (and moves its cursor) by it even for a frame it
  // then rejects, or an #info that happens to carry one.
  if (const Value* seq = b->find("seq"); seq != nullptr && seq->is_int()) r.seq = seq->int_value();

  bool good = false;
  if (*op == -1) {
    r.kind = Kind::kError;
    good = check_error(*b, r);
  } else if (r.type == "#commit") {
    r.kind = Kind::kCommit;
    good = check_commit(*b, limits, r);
  } else if (r.type == "#sync") {
    r.kind = Kind::kSync;
    good = check_sync(*b, limits, r);
  } else if (r.type == "#identity") {
    r.kind = Kind::kIdentity;
    good = check_identity(*b, r);
  } else if (r.type == "#account") {
    r.kind = Kind::kAccount;
    good = check_account(*b, r);
  } else if (r.type == "#info") {
    r.kind = Kind::kInfo;
    good = check_info(*b, r);
  } else {
    r.kind = Kind::kUnknown;
    const Value* did = b->find("repo") ? b->find("repo") : b->find("did");
    if (did != nullptr && did->is_text()) r.did = did->text();
    return failed(std::move(r), "unknown-type", "unknown message type `" + r.type + "`");
  }
  r.ok = good;
  return r;
}

FramePeek peek_header(std::span<const std::uint8_t> msg) {
  FramePeek p;
  cbor::Reader rd(msg);
  const auto n = rd.read_map_header();
  if (!n) return p;
  bool have_op = false;
  for (std::uint64_t i = 0; i < *n; ++i) {
    const auto key = rd.read_text();
    if (!key) return p;
    if (*key == "op") {
      const auto op = rd.read_int();
      if (!op) return p;
      p.op = *op;
      have_op = true;
    } else if (*key == "t") {
      const auto t = rd.read_text();
      if (!t) return p;
      p.type = *t;
    } else if (!rd.skip()) {
      return p;
    }
  }
  p.header_bytes = rd.position();
  if (!have_op || (p.op == 1 && p.type.empty()) || (p.op != 1 && p.op != -1)) return p;
  const auto m = rd.read_map_header();
  if (!m) return p;
  for (std::uint64_t i = 0; i < *m; ++i) {
    const auto key = rd.read_text();
    if (!key) return p;
    // Keys come length-first: past four characters there is no seq/repo/did.
    if (key->size() > 4) break;
    if (*key == "seq") {
      const auto seq = rd.read_int();
      if (!seq) return p;
      p.seq = *seq;
    } else if (*key == "repo" || *key == "did") {
      const auto repo = rd.read_text();
      if (!repo) return p;
      if (p.repo.empty() || *key == "repo") p.repo = *repo;
    } else if (!rd.skip()) {
      return p;
    }
  }
  p.ok = true;
  return p;
}

std::vector<std::uint8_t> rewrite_seq(std::span<const std::uint8_t> msg, std::int64_t new_seq) {
  if (new_seq < 0) return {};
  std::size_t header_len = 0;
  if (cbor::validate_prefix(msg, header_len)) return {};
  const auto body = msg.subspan(header_len);
  if (cbor::validate(body)) return {};
  cbor::Reader rd(body);
  const auto n = rd.read_map_header();
  if (!n) return {};
  for (std::uint64_t i = 0; i < *n; ++i) {
    const auto key = rd.read_text();
    if (!key) return {};
    if (*key != "seq") {
      if (!rd.skip()) return {};
      continue;
    }
    const std::size_t start = rd.position();
    if (!rd.read_int()) return {};
    const std::size_t end = rd.position();
    std::vector<std::uint8_t> out;
    out.reserve(msg.size() + 8);
    out.insert(out.end(), msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(header_len + start));
    cbor::Writer(out).integer(new_seq);
    out.insert(out.end(), body.begin() + static_cast<std::ptrdiff_t>(end), body.end());
    return out;
  }
  return {};
}

std::vector<std::uint8_t> encode_frame(const cbor::Value& header, const cbor::Value& body) {
  std::vector<std::uint8_t> out;
  cbor::encode_to(header, out);
  cbor::encode_to(body, out);
  return out;
}

std::vector<std::uint8_t> encode_message_frame(std::string_view type, const cbor::Value& body) {
  return encode_frame(cbor::Map{{"op", 1}, {"t", type}}, body);
}

std::vector<std::uint8_t> encode_error_frame(std::string_view name, std::string_view message) {
  cbor::Map body{{"error", name}};
  if (!message.empty()) body.set("message", message);
  return encode_frame(cbor::Map{{"op", -1}}, body);
}

std::vector<std::uint8_t> encode_info_frame(std::string_view name, std::string_view message) {
  cbor::Map body{{"name", name}};
  if (!message.empty()) body.set("message", message);
  return encode_message_frame("#info", body);
}

}  // namespace faultline::relay::proto
