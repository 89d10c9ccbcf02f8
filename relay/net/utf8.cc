#include "relay/net/utf8.h"

#include <cstring>

namespace faultline::relay::net {

bool Utf8Validator::feed(const std::uint8_t* p, std::size_t n) {
  if (failed_) return false;
  std::size_t i = 0;
  while (i < n) {
    if (need_ == 0) {
      // Fast path: eight ASCII bytes at once.
      while (i + 8 <= n) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull) break;
        i += 8;
      }
      if (i >= n) break;
      std::uint8_t b = p[i++];
      if (b < 0x80) continue;
      if (b >= 0xC2 && b <= 0xDF) {
        need_ = 1, lo_ = 0x80, hi_ = 0xBF;
      } else if (b == 0xE0) {
        need_ = 2, lo_ = 0xA0, hi_ = 0xBF;  // no overlong 3-byte forms
      } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
        need_ = 2, lo_ = 0x80, hi_ = 0xBF;
      } else if (b == 0xED) {
        need_ = 2, lo_ = 0x80, hi_ = 0x9F;  // no surrogates
      } else if (b == 0xF0) {
        need_ = 3, lo_ = 0x90, hi_ = 0xBF;  // no overlong 4-byte forms
      } else if (b >= 0xF1 && b <= 0xF3) {
        need_ = 3, lo_ = 0x80, hi_ = 0xBF;
      } else if (b == 0xF4) {
        need_ = 3, lo_ = 0x80, hi_ = 0x8F;  // nothing above U+10FFFF
      } else {
        failed_ = true;
        return false;
      }
    } else {
      std::uint8_t b = p[i++];
      if (b < lo_ || b > hi_) {
        failed_ = true;
        return false;
      }
      lo_ = 0x80, hi_ = 0xBF;
      --need_;
    }
  }
  return true;
}

bool is_valid_utf8(std::string_view s) {
  Utf8Validator v;
  return v.feed(s) && v.complete();
}

}  // namespace faultline::relay::net
