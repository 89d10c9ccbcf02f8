// libFuzzer: firehose frame checking. Properties: check_frame(),
// peek_header() and rewrite_seq() never crash; a frame check_frame accepts
// is also readable by peek_header with the same op/seq; a frame with a seq
// that check_frame accepts can be re-sequenced, and the result is accepted
// with the new seq and otherwise identical fields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "relay/proto/frame.h"

namespace proto = faultline::relay::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  const proto::FrameCheck r = proto::check_frame(in);
  const proto::FramePeek p = proto::peek_header(in);
  const auto rewritten = proto::rewrite_seq(in, 123456789);
  if (r.ok != r.reason.empty()) std::abort();
  if (!r.ok) return 0;
  if (!p.ok || p.op != r.op || p.seq != r.seq) std::abort();
  const bool has_seq = r.kind == proto::Kind::kCommit || r.kind == proto::Kind::kSync ||
                       r.kind == proto::Kind::kIdentity || r.kind == proto::Kind::kAccount;
  if (!has_seq) return 0;
  if (rewritten.empty()) std::abort();
  if (rewritten.size() > proto::Limits{}.max_frame_bytes) return 0;  // grew past the limit
  const proto::FrameCheck r2 = proto::check_frame(rewritten);
  if (!r2.ok || r2.seq != 123456789 || r2.kind != r.kind || r2.did != r.did || r2.rev != r.rev) std::abort();
  return 0;
}
