// libFuzzer: the CARv1 reader. Properties: read_car() never crashes; the
// streaming reader agrees with it; an accepted CAR is rewritten byte-exact
// by write_car() (header and varints are canonical by construction).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "relay/proto/car.h"

namespace proto = faultline::relay::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  proto::CarLimits limits;
  const proto::CarResult r = proto::read_car(in, limits);
  proto::CarReader rd(in, limits);
  std::size_t n = 0;
  if (rd.open()) {
    proto::CarBlock b;
    while (rd.next(&b)) ++n;
  }
  if (r.ok() != rd.reason().empty()) std::abort();
  if (!r.ok()) return 0;
  if (n != r.car->blocks.size() || r.car->roots.empty()) std::abort();
  const auto again = proto::write_car(r.car->roots, r.car->blocks);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  // Hash checking only ever removes acceptance.
  limits.verify_cids = true;
  const proto::CarResult v = proto::read_car(in, limits);
  if (!v.ok() && v.reason != "car-cid-mismatch") std::abort();
  return 0;
}
