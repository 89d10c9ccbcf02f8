// Utf8Validator: incremental UTF-8 validation (Unicode §3.9, table 3-7: no
// overlong forms, no surrogates, nothing above U+10FFFF) for WebSocket text
// messages, which may arrive split across frames and reads at any byte.
//
// Contract: feed() the bytes in order in any segmentation; it returns false
// at the first byte that can never be part of valid UTF-8 (then the state is
// final). complete() is true when the bytes so far end on a character
// boundary. ASCII runs are checked eight bytes at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace faultline::relay::net {

class Utf8Validator {
 public:
  bool feed(const std::uint8_t* p, std::size_t n);
  bool feed(std::string_view s) { return feed(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }
  bool complete() const { return need_ == 0 && !failed_; }
  bool failed() const { return failed_; }
  void reset() { *this = Utf8Validator(); }

 private:
  std::uint8_t need_ = 0;               // continuation bytes still expected
  std::uint8_t lo_ = 0x80, hi_ = 0xBF;  // allowed range of the next continuation byte
  bool failed_ = false;
};

// Whole-string check.
bool is_valid_utf8(std::string_view s);

}  // namespace faultline::relay::net
