// CARv1 (content-addressable archives): how repository blocks travel in
// `#commit.blocks`, `#sync.blocks` and com.atproto.sync.getRepo.
//
//   varint(len(header)) header    header = DAG-CBOR {roots: [link, ...], version: 1}
//   ( varint(len(cid) + len(data)) cid data )*
//
// Contract:
//  - The reader is strict and never throws on bad input: varints minimal;
//    the header strict DAG-CBOR with exactly the keys `roots` (a non-empty
//    array of links) and `version` (== 1); every section non-empty, holding
//    one complete CIDv1 followed by its data, inside the input; every size
//    within CarLimits. The first malformation ends reading with a reason
//    code and the byte offset of the section it was found in:
//      car-truncated     input ends inside a varint, header or section
//      car-varint        a non-minimal or overflowing varint
//      car-header        header not strict DAG-CBOR, or not {roots, version}
//      car-version       version is not 1
//      car-no-roots      roots is empty
//      car-bad-cid       a section does not start with a complete CIDv1
//      car-too-large     input, header, block count or block size over limit
//      car-cid-mismatch  (verify_cids only) data does not hash to its CID
//                        (non-sha2-256 CIDs cannot be verified: also this)
//  - Blocks are views into the input (no copy): the input must outlive them.
//  - Checking that blocks hash to their CIDs costs a SHA-256 per block and is
//    opt-in (CarLimits::verify_cids); the frame checker does it itself so it
//    can tell the commit block from the others.
//  - write_car() produces the canonical form read_car() accepts; it does not
//    check that blocks match their CIDs (tests rely on writing bad ones).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "relay/proto/cid.h"

namespace faultline::relay::proto {

struct CarLimits {
  std::size_t max_bytes = 5'000'000;
  std::size_t max_header_bytes = 4096;
  std::size_t max_roots = 16;
  std::size_t max_blocks = 100'000;
  std::size_t max_block_bytes = 2'000'000;
  bool verify_cids = false;
};

struct CarBlock {
  Cid cid;
  std::span<const std::uint8_t> data;
};

struct CarContents {
  std::vector<Cid> roots;
  std::vector<CarBlock> blocks;
  // First block with this CID, or nullptr.
  const CarBlock* find(const Cid& cid) const;
};

struct CarResult {
  std::optional<CarContents> car;
  std::string reason;       // "" when ok
  std::size_t offset = 0;   // where the malformation was found
  bool ok() const { return car.has_value(); }
};

// Streaming form: open() reads the header, next() yields one block at a time.
class CarReader {
 public:
  explicit CarReader(std::span<const std::uint8_t> data, const CarLimits& limits = {});

  // Reads the header; false (with reason()) if it is malformed.
  bool open();
  const std::vector<Cid>& roots() const { return roots_; }

  // The next block: true and *block set; false at the end (reason() empty)
  // or on a malformation (reason() set).
  bool next(CarBlock* block);

  const std::string& reason() const { return reason_; }
  std::size_t offset() const { return offset_; }

 private:
  bool fail(const char* reason, std::size_t offset);

  std::span<const std::uint8_t> data_;
  CarLimits limits_;
  std::size_t pos_ = 0;
  std::size_t blocks_ = 0;
  bool opened_ = false;
  bool failed_ = false;
  std::vector<Cid> roots_;
  std::string reason_;
  std::size_t offset_ = 0;
};

CarResult read_car(std::span<const std::uint8_t> data, const CarLimits& limits = {});

std::vector<std::uint8_t> write_car(std::span<const Cid> roots, std::span<const CarBlock> blocks);
// Appends to `out` (the builder's fast path).
void write_car_to(std::span<const Cid> roots, std::span<const CarBlock> blocks, std::vector<std::uint8_t>& out);

}  // namespace faultline::relay::proto
