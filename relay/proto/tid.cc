#include "relay/proto/tid.h"

#include <chrono>

#include "relay/proto/syntax.h"

namespace faultline::relay::proto {
namespace {

constexpr char kAlphabet[] = "234567abcdefghijklmnopqrstuvwxyz";
constexpr std::uint64_t kMicrosMask = (std::uint64_t{1} << 53) - 1;

}  // namespace

std::string make_tid(std::uint64_t micros, std::uint32_t clock_id) {
  const std::uint64_t v = ((micros & kMicrosMask) << 10) | (clock_id & 1023u);
  std::string out(13, '2');
  for (int i = 12; i >= 0; --i) out[static_cast<std::size_t>(i)] = kAlphabet[(v >> (5 * (12 - i))) & 31];
  return out;
}

std::optional<TidParts> parse_tid(std::string_view tid) {
  if (!is_valid_tid(tid)) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : tid) {
    const std::uint64_t d = c <= '7' ? static_cast<std::uint64_t>(c - '2') : static_cast<std::uint64_t>(c - 'a' + 6);
    v = (v << 5) | d;
  }
  return TidParts{v >> 10, static_cast<std::uint32_t>(v & 1023)};
}

std::string TidClock::next_at(std::uint64_t now_micros) {
  now_micros &= kMicrosMask;
  if (now_micros <= last_) now_micros = last_ + 1;
  last_ = now_micros;
  return make_tid(now_micros, clock_id_);
}

std::string TidClock::next() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return next_at(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
}

}  // namespace faultline::relay::proto
