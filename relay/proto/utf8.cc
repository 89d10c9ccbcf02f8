#include "relay/proto/utf8.h"

#include <cstring>

namespace faultline::relay::proto {

bool is_valid_utf8(const std::uint8_t* data, std::size_t size) {
  std::size_t i = 0;
  while (i < size) {
    // Eight ASCII bytes at a time.
    if (i + 8 <= size) {
      std::uint64_t word;
      std::memcpy(&word, data + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const std::uint8_t c = data[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n;
    std::uint8_t lo = 0x80, hi = 0xbf;  // bounds of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return false;  // continuation byte, overlong 0xc0/0xc1, or 0xf5+
    }
    if (size - i < n) return false;
    if (data[i + 1] < lo || data[i + 1] > hi) return false;
    for (std::size_t k = 2; k < n; ++k) {
      if ((data[i + k] & 0xc0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace faultline::relay::proto
