#include "relay/proto/syntax.h"

#include <cstddef>

namespace faultline::relay::proto {
namespace {

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// A DNS-style label: 1..63 of [A-Za-z0-9-], no leading/trailing hyphen.
bool is_label(std::string_view l) {
  if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
  for (char c : l) {
    if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

// Splits at '.' and calls f(segment, index, is_last); stops early on false.
template <typename F>
bool for_each_segment(std::string_view s, F f) {
  std::size_t index = 0;
  for (;;) {
    const std::size_t dot = s.find('.');
    const bool last = dot == std::string_view::npos;
    if (!f(s.substr(0, dot), index, last)) return false;
    if (last) return true;
    s.remove_prefix(dot + 1);
    ++index;
  }
}

std::size_t count_segments(std::string_view s) {
  std::size_t n = 1;
  for (char c : s) n += c == '.';
  return n;
}

int two_digits(std::string_view s, std::size_t at) { return (s[at] - '0') * 10 + (s[at + 1] - '0'); }

}  // namespace

bool is_valid_did(std::string_view s) {
  if (s.size() > 2048 || s.substr(0, 4) != "did:") return false;
  std::size_t i = 4;
  const std::size_t method_start = i;
  while (i < s.size() && is_lower(s[i])) ++i;
  if (i == method_start || i >= s.size() || s[i] != ':') return false;
  ++i;
  if (i >= s.size()) return false;  // empty identifier
  for (std::size_t k = i; k < s.size(); ++k) {
    const char c = s[k];
    if (!is_alnum(c) && c != '.' && c != '_' && c != ':' && c != '%' && c != '-') return false;
  }
  return s.back() != ':' && s.back() != '%';
}

bool is_valid_handle(std::string_view s) {
  if (s.empty() || s.size() > 253 || count_segments(s) < 2) return false;
  return for_each_segment(s, [](std::string_view l, std::size_t, bool last) {
    if (!is_label(l)) return false;
    return !last || is_alpha(l.front());
  });
}

bool is_valid_nsid(std::string_view s) {
  if (s.empty() || s.size() > 317 || count_segments(s) < 3) return false;
  return for_each_segment(s, [](std::string_view seg, std::size_t index, bool last) {
    if (last) {
      if (seg.empty() || seg.size() > 63 || !is_alpha(seg.front())) return false;
      for (char c : seg) {
        if (!is_alnum(c)) return false;
      }
      return true;
    }
    if (!is_label(seg)) return false;
    return index != 0 || is_alpha(seg.front());
  });
}

bool is_valid_record_key(std::string_view s) {
  if (s.empty() || s.size() > 512 || s == "." || s == "..") return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != ':' && c != '~' && c != '-') return false;
  }
  return true;
}

bool is_valid_tid(std::string_view s) {
  if (s.size() != 13) return false;
  auto b32 = [](char c) { return (c >= '2' && c <= '7') || is_lower(c); };
  if (!b32(s[0]) || !((s[0] >= '2' && s[0] <= '7') || (s[0] >= 'a' && s[0] <= 'j'))) return false;
  for (char c : s) {
    if (!b32(c)) return false;
  }
  return true;
}

bool is_valid_datetime(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS = 19 chars, then [.fraction], then zone.
  if (s.size() < 20 || s.size() > 64) return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    if (!is_digit(s[i])) return false;
  }
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return false;
  const int year = two_digits(s, 0) * 100 + two_digits(s, 2);
  const int month = two_digits(s, 5), day = two_digits(s, 8);
  const int hour = two_digits(s, 11), minute = two_digits(s, 14), second = two_digits(s, 17);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  static constexpr int kDays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDays[month - 1] || (month == 2 && day == 29 && !leap)) return false;
  std::size_t i = 19;
  if (s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start || i - start > 20) return false;
  }
  const std::string_view zone = s.substr(i);
  if (zone == "Z") return true;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') return false;
  if (!is_digit(zone[1]) || !is_digit(zone[2]) || !is_digit(zone[4]) || !is_digit(zone[5])) return false;
  if (two_digits(zone, 1) > 23 || two_digits(zone, 4) > 59) return false;
  return zone != "-00:00";
}

bool is_valid_cid_syntax(std::string_view s) {
  if (s.size() < 8 || s.size() > 256 || s.substr(0, 3) == "Qmb") return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '+' && c != '=') return false;
  }
  return true;
}

}  // namespace faultline::relay::proto
