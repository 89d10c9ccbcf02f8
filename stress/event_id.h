// What a stress event carries so consumers can measure and attribute it:
//  - `time`: the fleet's emit time as a lexicon datetime with microseconds
//    ("2025-06-01T12:34:56.123456Z", accepted by proto::is_valid_datetime);
//  - the DID: "did:plc:h<host, 5 digits>a<account, 6 digits>", so the host
//    index comes back out of any frame without a lookup table.
// And the cheap scanner consumers use per frame (scan_frame): header op/t,
// body seq, repo/did, time and, for error/#info frames, the name — without
// building values or validating more than it must (the relay validated them;
// a frame the scanner cannot read is counted, not trusted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace faultline::stress {

// Microseconds since the Unix epoch (system clock).
std::int64_t now_unix_us();

// "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC) for `unix_us` ≥ 0.
std::string format_time_us(std::int64_t unix_us);
// Inverse of format_time_us; also accepts 0-9 fraction digits and a 'Z'
// suffix only (what the fleet writes). nullopt otherwise.
std::optional<std::int64_t> parse_time_us(std::string_view s);

inline constexpr std::uint32_t kMaxHosts = 99'999;
inline constexpr std::uint32_t kMaxAccounts = 999'999;

std::string make_did(std::uint32_t host, std::uint32_t account);
// The host index of a DID from make_did, nullopt for any other DID.
std::optional<std::uint32_t> host_of_did(std::string_view did);

struct ScannedFrame {
  bool ok = false;            // header and body readable
  std::int64_t op = 0;        // 1 message, -1 error
  std::string_view type;      // "#commit", ...; empty for op -1
  std::int64_t seq = -1;      // body seq, -1 when absent
  std::string_view did;       // body repo (#commit) or did
  std::string_view time;      // body time
  std::string_view name;      // error name (op -1) or #info name
};

// Views point into `msg`.
ScannedFrame scan_frame(std::span<const std::uint8_t> msg);

}  // namespace faultline::stress
