// ChunkedDecoder: the incremental decoder of the chunked transfer coding
// (RFC 9112 §7.1), for HTTP/1.1 bodies in either direction.
//
// Contract:
//  - feed() consumes bytes in any segmentation and appends the decoded body
//    to `body`; `consumed` says how many bytes of `in` it used. It stops right
//    after the final CRLF (status done), leaving any further bytes (the next
//    pipelined message) unconsumed.
//  - Chunk extensions are accepted and ignored; trailer fields are skipped.
//  - Bounded: a body above max_body_bytes, a size line or trailer line longer
//    than 4 KiB, or more than 64 KiB of trailers is an error; a chunk size
//    that is not 1-16 hex digits, or a chunk not followed by CRLF, too.
//  - Once done or error the state is final (feed consumes nothing more).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace faultline::relay::net {

class ChunkedDecoder {
 public:
  enum class Status { need_more, done, error };

  explicit ChunkedDecoder(std::size_t max_body_bytes);

  Status feed(std::string_view in, std::size_t& consumed, std::string& body);
  Status status() const { return status_; }
  const std::string& error() const { return error_; }
  // True when the failure was the body bound (a server answers 413).
  bool too_large() const { return too_large_; }

 private:
  enum class State { size_line, data, data_cr, data_lf, trailer_line };
  Status fail(std::string reason);
  bool finish_size_line();

  std::size_t max_;
  std::size_t total_ = 0;
  State state_ = State::size_line;
  Status status_ = Status::need_more;
  std::string line_;             // the size line or trailer line so far
  std::uint64_t remaining_ = 0;  // bytes left in the current chunk
  std::size_t trailer_bytes_ = 0;
  std::string error_;
  bool too_large_ = false;
};

}  // namespace faultline::relay::net
