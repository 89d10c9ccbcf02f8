// Variant `blank-line-underflow`: the second fix. Header lines are now safe —
// when the '\r' is the last byte read, the reader leaves line_start on the
// line and waits for the '\n'. But the blank line that ends the head is
// recognised before that guard, and its over-read length
// `pos - (line_start + 2)` underflows to SIZE_MAX when the read ended between
// the final '\r' and '\n'; the unchecked copy of the "leftover" then runs far
// out of bounds. Exactly one offset of a response triggers it, which is why it
// survived testing.
#include <cerrno>
#include <cstring>
#include <string_view>

#include "repro/wssplit/legacy_readers.h"

namespace faultline::wssplit::legacy {

Result read_blank_line_underflow(int fd, char* buf, std::size_t cap, char* leftover, const ClientRequest& req) {
  Result res;
  std::size_t pos = 0;
  std::size_t line_start = 0;
  bool first = true;
  int status = -1;
  Headers headers;
  while (pos < cap) {
    long n = read_some(fd, buf + pos, cap - pos);
    if (n <= 0) {
      res.error = n == 0 ? "connection closed before the end of the head" : std::string("read: ") + strerror(errno);
      return res;
    }
    pos += static_cast<std::size_t>(n);
    for (;;) {
      std::string_view region(buf + line_start, pos - line_start);
      std::size_t r = region.find('\r');
      if (r == std::string_view::npos) break;
      std::size_t line_end = line_start + r;
      std::string_view line(buf + line_start, line_end - line_start);
      if (line.empty()) {
        std::size_t over_read = pos - (line_start + 2);  // SIZE_MAX if the '\n' is not here yet
        std::memcpy(leftover, buf + line_start + 2, over_read);
        res.error = validate_response(status, headers, req);
        res.ok = res.error.empty();
        res.leftover_len = over_read;
        res.headers = std::move(headers);
        return res;
      }
      if (line_end + 2 > pos) break;  // the header fix: keep the line until its '\n' arrives
      if (!apply_line(line, first, status, headers, res.error)) return res;
      line_start = line_end + 2;
    }
  }
  res.error = "response head does not fit the read buffer";
  return res;
}

}  // namespace faultline::wssplit::legacy
