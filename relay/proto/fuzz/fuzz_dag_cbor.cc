// libFuzzer: the strict DAG-CBOR decoder. Properties checked on every input:
//  - decode() never crashes, and agrees with validate() on accept/reject;
//  - whatever decodes re-encodes byte-exact (strictness means one encoding
//    per value), and decoding that again gives an equal Value;
//  - decode_prefix() accepts every input whose first item decode() would,
//    and reports the item's length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "relay/proto/cbor.h"

namespace cbor = faultline::relay::proto::cbor;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  const cbor::DecodeResult r = cbor::decode(in);
  const bool valid = !cbor::validate(in).has_value();
  if (r.ok() != valid) std::abort();
  std::size_t used = 0;
  const cbor::DecodeResult p = cbor::decode_prefix(in, used);
  if (r.ok() && (!p.ok() || used != size)) std::abort();
  if (!r.ok()) {
    if (r.error.reason.empty() || r.error.offset > size) std::abort();
    return 0;
  }
  const auto again = cbor::encode(*r.value);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  const cbor::DecodeResult back = cbor::decode(again);
  if (!back.ok() || !(*back.value == *r.value)) std::abort();
  return 0;
}
