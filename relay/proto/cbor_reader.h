// Strict DAG-CBOR decoding, as the atproto data model requires it.
//
// Accepted: unsigned/negative integers in int64 range, byte strings, UTF-8
// text strings, arrays, maps with text keys, tag 42 links (byte string
// 0x00 + binary CIDv1), false, true, null. Everything else is rejected, with
// a stable reason code and the byte offset where the offending item starts:
//
//   truncated          input ends inside an item (or a length exceeds it)
//   trailing-bytes     decode(): bytes left after the one top-level item
//   non-shortest       an integer/length/tag argument not in shortest form
//   indefinite-length  a string/array/map of indefinite length
//   reserved-info      additional information 28..30 (or 31 where invalid)
//   unexpected-break   a lone 0xff
//   int-out-of-range   an integer outside int64
//   float              any float (half, single or double)
//   undefined          the simple value undefined (0xf7)
//   simple-value       any other simple value
//   bad-tag            a tag other than 42
//   bad-link           tag 42 content not a byte string 0x00 + exactly one
//                      CIDv1 (CIDv0 and trailing bytes included)
//   non-text-key       a map key that is not a text string
//   unsorted-keys      map keys not in length-first, bytewise order
//   duplicate-key      the same map key twice
//   bad-utf8           a text string (or key) that is not valid UTF-8
//   too-deep           more nested arrays/maps than DecodeOptions::max_depth
//   unexpected-type    (Reader's element-wise reads only) another major type
//
// Contract:
//  - Nothing here throws on bad input (only std::bad_alloc on exhaustion);
//    results are returned in DecodeResult. Allocation is bounded by the input:
//    declared counts and lengths larger than the bytes left are `truncated`
//    before anything is reserved.
//  - decode() must consume its whole input; decode_prefix() decodes one item
//    from the front and reports how many bytes it used (a firehose frame is
//    two concatenated items).
//  - Recursion depth is at most max_depth + 1 frames of a few hundred bytes.
//  - Whatever decodes re-encodes (cbor_writer.h) to exactly the input bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "relay/proto/cbor_value.h"

namespace faultline::relay::proto::cbor {

struct DecodeOptions {
  std::size_t max_depth = 64;
};

struct DecodeError {
  std::string reason;      // one of the codes above ("" = no error)
  std::size_t offset = 0;  // byte offset of the offending item
  std::string message() const;  // "reason at byte N"
};

struct DecodeResult {
  std::optional<Value> value;  // set iff ok()
  DecodeError error;           // set iff !ok()
  std::size_t consumed = 0;    // bytes of the decoded item
  bool ok() const { return value.has_value(); }
};

DecodeResult decode(std::span<const std::uint8_t> data, const DecodeOptions& opts = {});
DecodeResult decode_prefix(std::span<const std::uint8_t> data, std::size_t& consumed,
                           const DecodeOptions& opts = {});

// The same checks without building a Value (no allocation). nullopt = valid.
std::optional<DecodeError> validate(std::span<const std::uint8_t> data, const DecodeOptions& opts = {});
std::optional<DecodeError> validate_prefix(std::span<const std::uint8_t> data, std::size_t& consumed,
                                           const DecodeOptions& opts = {});

// Streaming access for fast paths (frame peeking, seq rewriting): reads one
// item or one head at a time from a position. Each call either succeeds and
// advances, or fails, leaves the position unchanged and sets error().
// Element-wise reads do not check map key order (read() of a whole map does).
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data, DecodeOptions opts = {}) : data_(data), opts_(opts) {}

  std::size_t position() const { return pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  const DecodeError& error() const { return error_; }

  // One complete item, strictly; into *out, or just validated when out is null.
  bool read(Value* out);
  bool skip() { return read(nullptr); }

  std::optional<std::uint64_t> read_map_header();
  std::optional<std::uint64_t> read_array_header();
  std::optional<std::string_view> read_text();  // a view into the input
  std::optional<std::int64_t> read_int();

 private:
  struct Head {
    std::uint8_t major = 0;
    std::uint8_t info = 0;
    std::uint64_t arg = 0;
  };
  bool fail(const char* reason, std::size_t offset);
  bool read_head(Head& h);
  bool item(std::size_t depth, Value* out);
  bool text_payload(std::size_t start, std::uint64_t len, std::string_view& s);

  std::span<const std::uint8_t> data_;
  DecodeOptions opts_;
  std::size_t pos_ = 0;
  DecodeError error_;
};

}  // namespace faultline::relay::proto::cbor
