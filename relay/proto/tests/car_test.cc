// Unit tests of the CARv1 reader and writer: round trip, streaming, and one
// test per malformation reason.
#include <gtest/gtest.h>

#include "relay/proto/car.h"
#include "relay/proto/cbor.h"
#include "relay/proto/varint.h"

namespace proto = faultline::relay::proto;
namespace cbor = faultline::relay::proto::cbor;
using proto::Cid;
using Bytes = std::vector<std::uint8_t>;

namespace {

struct Sample {
  std::vector<Bytes> data;
  std::vector<Cid> cids;
  std::vector<proto::CarBlock> blocks;
};

Sample sample(int n) {
  Sample s;
  s.data.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    s.data.push_back(cbor::encode(cbor::Map{{"i", i}, {"text", std::string(static_cast<std::size_t>(i) * 7, 'x')}}));
    s.cids.push_back(Cid::compute(proto::kCodecDagCbor, s.data.back()));
  }
  for (int i = 0; i < n; ++i) s.blocks.push_back({s.cids[static_cast<std::size_t>(i)], s.data[static_cast<std::size_t>(i)]});
  return s;
}

// A CAR with a hand-made header.
Bytes car_with_header(const cbor::Value& header, const Bytes& tail = {}) {
  const Bytes h = cbor::encode(header);
  Bytes out;
  proto::append_uvarint(out, h.size());
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

std::string reason(const Bytes& car, proto::CarLimits limits = {}) {
  const auto r = proto::read_car(car, limits);
  return r.ok() ? "ok" : r.reason;
}

TEST(Car, RoundTrip) {
  const Sample s = sample(5);
  const Bytes car = proto::write_car(std::span(s.cids).first(1), s.blocks);
  proto::CarLimits verify;
  verify.verify_cids = true;
  const auto r = proto::read_car(car, verify);
  ASSERT_TRUE(r.ok()) << r.reason;
  ASSERT_EQ(r.car->roots.size(), 1u);
  EXPECT_EQ(r.car->roots[0], s.cids[0]);
  ASSERT_EQ(r.car->blocks.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(r.car->blocks[i].cid, s.cids[i]);
    EXPECT_TRUE(std::equal(r.car->blocks[i].data.begin(), r.car->blocks[i].data.end(), s.data[i].begin(),
                           s.data[i].end()));
    EXPECT_EQ(r.car->find(s.cids[i]), &r.car->blocks[i]);
  }
  EXPECT_EQ(r.car->find(Cid::compute(proto::kCodecRaw, Bytes{})), nullptr);
  // Re-writing what was read gives the same bytes.
  EXPECT_EQ(proto::write_car(r.car->roots, r.car->blocks), car);
}

TEST(Car, HeaderIsCanonicalDagCbor) {
  const Sample s = sample(1);
  const Bytes car = proto::write_car(s.cids, s.blocks);
  const auto len = proto::read_uvarint(car);
  ASSERT_TRUE(len.ok());
  const auto header = cbor::decode(std::span(car).subspan(len.length, len.value));
  ASSERT_TRUE(header.ok()) << header.error.message();
  EXPECT_EQ(*header.value, (cbor::Value(cbor::Map{{"roots", cbor::Array{s.cids[0]}}, {"version", 1}})));
}

TEST(Car, Streaming) {
  const Sample s = sample(3);
  const Bytes car = proto::write_car(s.cids, s.blocks);
  proto::CarReader rd(car);
  ASSERT_TRUE(rd.open());
  EXPECT_EQ(rd.roots().size(), 3u);
  proto::CarBlock b;
  int n = 0;
  while (rd.next(&b) && n < 10) ++n;
  EXPECT_EQ(n, 3);
  EXPECT_TRUE(rd.reason().empty());
}

TEST(Car, HeaderOnlyIsValid) {
  const Sample s = sample(1);
  const auto r = proto::read_car(proto::write_car(s.cids, {}));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.car->blocks.empty());
}

TEST(Car, RejectsBadHeaders) {
  const Sample s = sample(1);
  const cbor::Array roots{s.cids[0]};
  EXPECT_EQ(reason({}), "car-truncated");
  EXPECT_EQ(reason({0x80}), "car-truncated");
  EXPECT_EQ(reason({0x81, 0x00}), "car-varint");
  EXPECT_EQ(reason({0x00}), "car-header");
  EXPECT_EQ(reason({0x05, 0xa0}), "car-truncated");
  EXPECT_EQ(reason(car_with_header(cbor::Map{{"roots", roots}, {"version", 2}})), "car-version");
  EXPECT_EQ(reason(car_with_header(cbor::Map{{"roots", cbor::Array{}}, {"version", 1}})), "car-no-roots");
  EXPECT_EQ(reason(car_with_header(cbor::Map{{"version", 1}})), "car-header");
  EXPECT_EQ(reason(car_with_header(cbor::Map{{"roots", roots}, {"version", 1}, {"extra", 1}})), "car-header");
  EXPECT_EQ(reason(car_with_header(cbor::Map{{"roots", cbor::Array{"not a link"}}, {"version", 1}})), "car-header");
  EXPECT_EQ(reason(car_with_header(cbor::Array{1})), "car-header");
  // Header bytes that are not strict DAG-CBOR (unsorted keys).
  Bytes unsorted = {0x11, 0xa2, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01, 0x65, 'r', 'o', 'o', 't', 's', 0x80};
  EXPECT_EQ(reason(unsorted), "car-header");
  proto::CarLimits small;
  small.max_header_bytes = 8;
  EXPECT_EQ(reason(proto::write_car(s.cids, {}), small), "car-too-large");
}

TEST(Car, RejectsBadSections) {
  const Sample s = sample(2);
  const Bytes good = proto::write_car(std::span(s.cids).first(1), s.blocks);
  // Cut anywhere inside the blocks: truncated (or, at a section boundary, fine).
  const Bytes header_only = proto::write_car(std::span(s.cids).first(1), {});
  for (std::size_t n = header_only.size() + 1; n < good.size(); ++n) {
    const std::string r = reason(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)));
    const bool at_boundary = n == header_only.size() + 1 + s.cids[0].raw().size() + s.data[0].size();
    if (at_boundary) {
      EXPECT_EQ(r, "ok") << n;
    } else {
      EXPECT_TRUE(r == "car-truncated" || r == "car-bad-cid") << n << " " << r;
    }
  }
  Bytes zero = header_only;
  zero.push_back(0x00);  // an empty section
  EXPECT_EQ(reason(zero), "car-bad-cid");
  Bytes nonmin = header_only;
  nonmin.insert(nonmin.end(), {0x81, 0x00});
  EXPECT_EQ(reason(nonmin), "car-varint");
  Bytes garbage = header_only;  // a section whose CID is garbage
  garbage.insert(garbage.end(), {0x04, 0x07, 0x07, 0x07, 0x07});
  EXPECT_EQ(reason(garbage), "car-bad-cid");
  Bytes v0 = header_only;  // a CIDv0 section
  v0.push_back(35);
  v0.insert(v0.end(), {0x12, 0x20});
  v0.resize(v0.size() + 33, 0x01);
  EXPECT_EQ(reason(v0), "car-bad-cid");
}

TEST(Car, LimitsAndVerification) {
  const Sample s = sample(4);
  const Bytes car = proto::write_car(std::span(s.cids).first(1), s.blocks);
  proto::CarLimits l;
  l.max_blocks = 3;
  EXPECT_EQ(reason(car, l), "car-too-large");
  l = {};
  l.max_block_bytes = 10;
  EXPECT_EQ(reason(car, l), "car-too-large");
  l = {};
  l.max_bytes = car.size() - 1;
  EXPECT_EQ(reason(car, l), "car-too-large");
  l = {};
  l.max_roots = 0;
  EXPECT_EQ(reason(car, l), "car-too-large");
  // A block whose bytes do not match its CID: read fine, caught when verifying.
  std::vector<proto::CarBlock> swapped = s.blocks;
  swapped[1].data = s.data[2];
  const Bytes bad = proto::write_car(std::span(s.cids).first(1), swapped);
  EXPECT_EQ(reason(bad), "ok");
  l = {};
  l.verify_cids = true;
  EXPECT_EQ(reason(bad, l), "car-cid-mismatch");
  const auto r = proto::read_car(bad, l);
  EXPECT_GT(r.offset, 0u);
}

}  // namespace
