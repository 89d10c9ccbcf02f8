// The original handshake reader (variant `buggy`), plus the helpers the three
// legacy readers share. Real-world bug: the relay's client scanned
// buf[line_start..pos] for '\r', then set line_start = line_end + 2. When a
// TCP read ended between '\r' and '\n', line_start became pos + 1; the next
// slice had start > end — a bounds panic in safe builds and, in fast builds,
// a length that wrapped to ~2^64, so the scan ran off the buffer and the
// process died with SIGSEGV every 30–90 minutes across ~2,800 reconnecting
// connections. The arithmetic below is the original's, on size_t.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "repro/wssplit/legacy_readers.h"

namespace faultline::wssplit::legacy {

long read_some(int fd, char* dst, std::size_t n) {
  for (int tries = 0; tries < 1000; ++tries) {
    ssize_t r = ::read(fd, dst, n);
    if (r >= 0) return static_cast<long>(r);
    if (errno != EINTR) return -1;
  }
  return -1;
}

bool apply_line(std::string_view line, bool& first, int& status, Headers& headers, std::string& error) {
  if (first) {
    first = false;
    status = parse_status_line(line);
    if (status < 0) {
      error = "malformed status line '" + std::string(line) + "'";
      return false;
    }
    return true;
  }
  std::string name, value;
  if (parse_header_line(line, name, value)) headers.emplace_back(std::move(name), std::move(value));
  return true;
}

Result read_buggy(int fd, char* buf, std::size_t cap, char* leftover, const ClientRequest& req) {
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
      // start > end after a mid-CRLF split: the length wraps.
      std::string_view region(buf + line_start, pos - line_start);
      std::size_t r = region.find('\r');
      if (r == std::string_view::npos) break;
      std::size_t line_end = line_start + r;
      std::string_view line(buf + line_start, line_end - line_start);
      if (line.empty()) {
        std::size_t over_read = pos - (line_start + 2);
        std::memcpy(leftover, buf + line_start + 2, over_read);
        res.error = validate_response(status, headers, req);
        res.ok = res.error.empty();
        res.leftover_len = over_read;
        res.headers = std::move(headers);
        return res;
      }
      if (!apply_line(line, first, status, headers, res.error)) return res;
      line_start = line_end + 2;
    }
  }
  res.error = "response head does not fit the read buffer";
  return res;
}

}  // namespace faultline::wssplit::legacy
