// TIDs (timestamp identifiers: repo revisions and record keys): a 64-bit
// integer — top bit 0, 53 bits of microseconds since the Unix epoch, 10 bits
// of clock id — written as 13 characters of base32-sortable
// ("234567abcdefghijklmnopqrstuvwxyz"), so string order is time order.
//
// Contract: make_tid() masks its inputs to 53 and 10 bits and always returns
// a string is_valid_tid() accepts; parse_tid() inverts it and returns
// nullopt for anything is_valid_tid() rejects. TidClock hands out strictly
// increasing TIDs (it bumps the timestamp by 1 µs when time did not move).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::relay::proto {

struct TidParts {
  std::uint64_t micros = 0;
  std::uint32_t clock_id = 0;
};

std::string make_tid(std::uint64_t micros, std::uint32_t clock_id);
std::optional<TidParts> parse_tid(std::string_view tid);

class TidClock {
 public:
  explicit TidClock(std::uint32_t clock_id = 0) : clock_id_(clock_id & 1023) {}
  // From the system clock.
  std::string next();
  // From a given time (deterministic tests, simulated hosts).
  std::string next_at(std::uint64_t now_micros);

 private:
  std::uint32_t clock_id_;
  std::uint64_t last_ = 0;
};

}  // namespace faultline::relay::proto
