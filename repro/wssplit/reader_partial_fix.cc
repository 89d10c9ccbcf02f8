// Variant `partial-fix`: the first fix of the mid-CRLF bug. It added
// `if (line_start > pos) break;` so the scan no longer runs off the buffer —
// but placed it after the line had been sliced and line_start advanced past
// it. A line whose '\n' had not arrived yet is therefore consumed without
// being applied: a header split that way is silently lost (the handshake then
// fails for lack of Sec-WebSocket-Accept, Upgrade or Connection), a split
// status line makes the next header look like the status line, and a split
// final blank line is never seen, so the reader waits for a head end that
// already went by.
#include <cerrno>
#include <cstring>
#include <string_view>

#include "repro/wssplit/legacy_readers.h"

namespace faultline::wssplit::legacy {

Result read_partial_fix(int fd, char* buf, std::size_t cap, char* leftover, const ClientRequest& req) {
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
      line_start = line_end + 2;
      if (line_start > pos) break;  // the fix, one statement too late: `line` is lost
      if (line.empty()) {
        std::size_t over_read = pos - line_start;
        std::memcpy(leftover, buf + line_start, over_read);
        res.error = validate_response(status, headers, req);
        res.ok = res.error.empty();
        res.leftover_len = over_read;
        res.headers = std::move(headers);
        return res;
      }
      if (!apply_line(line, first, status, headers, res.error)) return res;
    }
  }
  res.error = "response head does not fit the read buffer";
  return res;
}

}  // namespace faultline::wssplit::legacy
