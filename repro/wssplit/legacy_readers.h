// The three historical handshake readers of the relay, kept broken on purpose
// (DESIGN.md, "handshake split mid-CRLF"). Each lives in its own file and
// reproduces the original line-splitting arithmetic on size_t exactly; they
// differ from the fixed HandshakeReader only in how they cut lines, and share
// its header validation (validate_response) so a failure can only come from
// the splitting.
//
// Contract shared by all three:
//  - They own the read loop, like the original: read(fd, buf + pos, cap - pos)
//    into the caller's buffer, then scan buf[line_start..pos] for '\r'.
//  - On success they copy the bytes that followed the head into `leftover`
//    WITHOUT checking its size, as the original did (it trusted the over-read
//    to be smaller than a read). That is where an underflowed length turns
//    into a crash.
//  - Header lines without a colon are skipped, as in the original (it only
//    looked for the headers it needed); that is what made a dropped line silent.
//  - Only ever run them in a disposable process (the sweep forks one per
//    attempt): `buggy` and `blank-line-underflow` read or write far out of
//    bounds on a mid-CRLF split.
#pragma once

#include <cstddef>
#include <string>

#include "repro/wssplit/handshake_reader.h"

namespace faultline::wssplit::legacy {

struct Result {
  bool ok = false;
  std::string error;             // why the handshake failed
  std::size_t leftover_len = 0;  // bytes copied into `leftover` on success
  Headers headers;               // the header lines the reader applied
};

// The original: `line_start = line_end + 2` with no check. A read ending
// between '\r' and '\n' leaves line_start == pos + 1, and the next slice
// buf[line_start..pos] has length pos - line_start == SIZE_MAX.
Result read_buggy(int fd, char* buf, std::size_t cap, char* leftover, const ClientRequest& req);

// First fix: `if (line_start > pos) break;` — but placed after the line was
// sliced and line_start advanced, so the line split that way is dropped.
Result read_partial_fix(int fd, char* buf, std::size_t cap, char* leftover, const ClientRequest& req);

// Second fix: waits for the '\n' of header lines, but tests for the blank line
// first, where `over_read = pos - (line_start + 2)` underflows when the read
// ended between the final '\r' and '\n'.
Result read_blank_line_underflow(int fd, char* buf, std::size_t cap, char* leftover, const ClientRequest& req);

// One read() as the original did it: retries EINTR, returns 0 on EOF and
// -1 on error (errno kept).
long read_some(int fd, char* dst, std::size_t n);

// Applies one complete head line to the parse state shared by the three.
// Returns false with `error` set when the status line is malformed.
bool apply_line(std::string_view line, bool& first, int& status, Headers& headers, std::string& error);

}  // namespace faultline::wssplit::legacy
