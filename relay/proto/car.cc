#include "relay/proto/car.h"

#include "relay/proto/cbor_reader.h"
#include "relay/proto/cbor_writer.h"
#include "relay/proto/varint.h"

namespace faultline::relay::proto {

const CarBlock* CarContents::find(const Cid& cid) const {
  for (const CarBlock& b : blocks) {
    if (b.cid == cid) return &b;
  }
  return nullptr;
}

CarReader::CarReader(std::span<const std::uint8_t> data, const CarLimits& limits) : data_(data), limits_(limits) {}

bool CarReader::fail(const char* reason, std::size_t offset) {
  failed_ = true;
  reason_ = reason;
  offset_ = offset;
  return false;
}

namespace {

const char* varint_reason(VarintError e) { return e == VarintError::kTruncated ? "car-truncated" : "car-varint"; }

}  // namespace

bool CarReader::open() {
  if (opened_ || failed_) return !failed_;
  opened_ = true;
  if (data_.size() > limits_.max_bytes) return fail("car-too-large", 0);
  const VarintRead len = read_uvarint(data_);
  if (!len.ok()) return fail(varint_reason(len.error), 0);
  if (len.value == 0) return fail("car-header", 0);
  if (len.value > limits_.max_header_bytes) return fail("car-too-large", 0);
  if (len.value > data_.size() - len.length) return fail("car-truncated", 0);
  const auto header_bytes = data_.subspan(len.length, static_cast<std::size_t>(len.value));
  cbor::DecodeOptions opts;
  opts.max_depth = 4;
  const cbor::DecodeResult header = cbor::decode(header_bytes, opts);
  if (!header.ok()) return fail("car-header", len.length + header.error.offset);
  const cbor::Map* map = header.value->as_map();
  if (map == nullptr || map->size() != 2) return fail("car-header", len.length);
  const cbor::Value* version = map->find("version");
  const cbor::Value* roots = map->find("roots");
  if (version == nullptr || roots == nullptr || !version->is_int() || !roots->is_array()) {
    return fail("car-header", len.length);
  }
  if (version->int_value() != 1) return fail("car-version", len.length);
  const cbor::Array& list = roots->array();
  if (list.empty()) return fail("car-no-roots", len.length);
  if (list.size() > limits_.max_roots) return fail("car-too-large", len.length);
  roots_.reserve(list.size());
  for (const cbor::Value& r : list) {
    if (!r.is_link()) return fail("car-header", len.length);
    roots_.push_back(r.link());
  }
  pos_ = len.length + header_bytes.size();
  return true;
}

bool CarReader::next(CarBlock* block) {
  if (!opened_ && !open()) return false;
  if (failed_ || pos_ == data_.size()) return false;
  const std::size_t start = pos_;
  if (blocks_ >= limits_.max_blocks) return fail("car-too-large", start);
  const VarintRead len = read_uvarint(data_.subspan(pos_));
  if (!len.ok()) return fail(varint_reason(len.error), start);
  if (len.value == 0) return fail("car-bad-cid", start);
  if (len.value > data_.size() - pos_ - len.length) return fail("car-truncated", start);
  const auto section = data_.subspan(pos_ + len.length, static_cast<std::size_t>(len.value));
  std::size_t cid_len = 0;
  auto cid = Cid::from_bytes(section, &cid_len);
  if (!cid || cid->version() != 1) return fail("car-bad-cid", start);
  const auto payload = section.subspan(cid_len);
  if (payload.size() > limits_.max_block_bytes) return fail("car-too-large", start);
  if (limits_.verify_cids && !cid->matches(payload)) return fail("car-cid-mismatch", start);
  block->cid = *cid;
  block->data = payload;
  pos_ += len.length + section.size();
  ++blocks_;
  return true;
}

CarResult read_car(std::span<const std::uint8_t> data, const CarLimits& limits) {
  CarResult r;
  CarReader reader(data, limits);
  CarContents contents;
  if (reader.open()) {
    contents.roots = reader.roots();
    CarBlock b;
    // Bounded: every iteration consumes >= 2 bytes, and max_blocks.
    while (reader.next(&b)) contents.blocks.push_back(b);
  }
  if (!reader.reason().empty()) {
    r.reason = reader.reason();
    r.offset = reader.offset();
    return r;
  }
  r.car = std::move(contents);
  return r;
}

void write_car_to(std::span<const Cid> roots, std::span<const CarBlock> blocks, std::vector<std::uint8_t>& out) {
  // Header {roots, version: 1}: "roots" sorts before "version".
  std::size_t header_len = 1 + 6 + cbor::head_size(roots.size()) + 8 + 1;
  for (const Cid& r : roots) {
    const std::size_t n = r.raw().size() + 1;
    header_len += 2 + cbor::head_size(n) + n;
  }
  std::size_t total = uvarint_size(header_len) + header_len;
  for (const CarBlock& b : blocks) {
    const std::size_t n = b.cid.raw().size() + b.data.size();
    total += uvarint_size(n) + n;
  }
  out.reserve(out.size() + total);
  append_uvarint(out, header_len);
  cbor::Writer w(out);
  w.map_header(2);
  w.text("roots");
  w.array_header(roots.size());
  for (const Cid& r : roots) w.link(r);
  w.text("version");
  w.integer(1);
  for (const CarBlock& b : blocks) {
    const auto raw = b.cid.raw();
    append_uvarint(out, raw.size() + b.data.size());
    out.insert(out.end(), raw.begin(), raw.end());
    out.insert(out.end(), b.data.begin(), b.data.end());
  }
}

std::vector<std::uint8_t> write_car(std::span<const Cid> roots, std::span<const CarBlock> blocks) {
  std::vector<std::uint8_t> out;
  write_car_to(roots, blocks, out);
  return out;
}

}  // namespace faultline::relay::proto
