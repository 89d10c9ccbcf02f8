#include "stress/event_id.h"

#include <chrono>
#include <cstdio>

namespace faultline::stress {
namespace {

// Howard Hinnant's civil-from-days / days-from-civil (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool digits(std::string_view s, std::size_t at, std::size_t n, unsigned& out) {
  if (at + n > s.size()) return false;
  unsigned v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[at + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  out = v;
  return true;
}

// ---- a minimal, bounds-checked CBOR walker (no validation beyond framing) ----
struct Walker {
  const std::uint8_t* p;
  const std::uint8_t* end;

  bool head(std::uint8_t& major, std::uint64_t& arg) {
    if (p >= end) return false;
    std::uint8_t b = *p++;
    major = b >> 5;
    std::uint8_t info = b & 0x1f;
    if (info < 24) {
      arg = info;
      return true;
    }
    int n = info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : info == 27 ? 8 : 0;
    if (n == 0 || end - p < n) return false;
    arg = 0;
    for (int i = 0; i < n; ++i) arg = (arg << 8) | *p++;
    return true;
  }
  bool skip(int depth = 0) {
    if (depth > 64) return false;
    std::uint8_t major;
    std::uint64_t arg;
    if (!head(major, arg)) return false;
    switch (major) {
      case 0:
      case 1:
      case 7:
        return true;
      case 2:
      case 3:
        if (static_cast<std::uint64_t>(end - p) < arg) return false;
        p += arg;
        return true;
      case 4:
        for (std::uint64_t i = 0; i < arg; ++i)
          if (!skip(depth + 1)) return false;
        return true;
      case 5:
        for (std::uint64_t i = 0; i < 2 * arg; ++i)
          if (!skip(depth + 1)) return false;
        return true;
      case 6:
        return skip(depth + 1);
    }
    return false;
  }
  bool text(std::string_view& out) {
    std::uint8_t major;
    std::uint64_t arg;
    if (!head(major, arg) || major != 3 || static_cast<std::uint64_t>(end - p) < arg) return false;
    out = std::string_view(reinterpret_cast<const char*>(p), arg);
    p += arg;
    return true;
  }
  // Reads an int if the next item is one; otherwise skips the item.
  bool int_or_skip(std::int64_t& out, bool& is_int) {
    if (p >= end) return false;
    std::uint8_t major = *p >> 5;
    if (major > 1) {
      is_int = false;
      return skip();
    }
    std::uint64_t arg;
    if (!head(major, arg)) return false;
    is_int = true;
    out = major == 0 ? static_cast<std::int64_t>(arg) : -1 - static_cast<std::int64_t>(arg);
    return true;
  }
  bool text_or_skip(std::string_view& out) {
    if (p >= end) return false;
    if ((*p >> 5) != 3) return skip();
    return text(out);
  }
};

}  // namespace

std::int64_t now_unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_time_us(std::int64_t unix_us) {
  if (unix_us < 0) unix_us = 0;
  std::int64_t secs = unix_us / 1'000'000, frac = unix_us % 1'000'000;
  std::int64_t days = secs / 86400, sod = secs % 86400;
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(sod / 3600), static_cast<long long>(sod / 60 % 60),
                static_cast<long long>(sod % 60), static_cast<long long>(frac));
  return buf;
}

std::optional<std::int64_t> parse_time_us(std::string_view s) {
  unsigned y, mo, d, h, mi, se;
  if (s.size() < 20 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || s[10] != 'T' || !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) ||
      s[16] != ':' || !digits(s, 17, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t i = 19;
  std::int64_t frac_us = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t n = 0;
    std::int64_t scale = 100'000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (n < 6) {
        frac_us += (s[i] - '0') * scale;
        scale /= 10;
      }
      ++n;
      ++i;
    }
    if (n == 0 || n > 9) return std::nullopt;
  }
  if (i + 1 != s.size() || s[i] != 'Z') return std::nullopt;
  std::int64_t days = days_from_civil(y, mo, d);
  return (days * 86400 + h * 3600 + mi * 60 + se) * 1'000'000 + frac_us;
}

std::string make_did(std::uint32_t host, std::uint32_t account) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "did:plc:h%05ua%06u", host % (kMaxHosts + 1), account % (kMaxAccounts + 1));
  return buf;
}

std::optional<std::uint32_t> host_of_did(std::string_view did) {
  // did:plc:hNNNNNaNNNNNN
  if (did.size() != 21 || did.substr(0, 9) != "did:plc:h" || did[14] != 'a') return std::nullopt;
  unsigned v;
  if (!digits(did, 9, 5, v)) return std::nullopt;
  unsigned acct;
  if (!digits(did, 15, 6, acct)) return std::nullopt;
  return v;
}

ScannedFrame scan_frame(std::span<const std::uint8_t> msg) {
  ScannedFrame f;
  Walker w{msg.data(), msg.data() + msg.size()};
  std::uint8_t major;
  std::uint64_t n;
  // Header {t, op}.
  if (!w.head(major, n) || major != 5) return f;
  bool have_op = false;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!w.text(key)) return f;
    if (key == "op") {
      bool is_int = false;
      if (!w.int_or_skip(f.op, is_int) || !is_int) return f;
      have_op = true;
    } else if (key == "t") {
      if (!w.text_or_skip(f.type)) return f;
    } else if (!w.skip()) {
      return f;
    }
  }
  if (!have_op) return f;
  // Body.
  if (!w.head(major, n) || major != 5) return f;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!w.text(key)) return f;
    bool ok;
    if (key == "seq") {
      bool is_int = false;
      std::int64_t v = -1;
      ok = w.int_or_skip(v, is_int);
      if (is_int) f.seq = v;
    } else if (key == "repo" || key == "did") {
      ok = w.text_or_skip(f.did);
    } else if (key == "time") {
      ok = w.text_or_skip(f.time);
    } else if (key == "error" || key == "name") {
      ok = w.text_or_skip(f.name);
    } else {
      ok = w.skip();
    }
    if (!ok) return f;
  }
  f.ok = true;
  return f;
}

}  // namespace faultline::stress
