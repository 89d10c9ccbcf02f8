// Incremental, split-safe readers of HTTP/1.1 message heads (RFC 9112 §2-§6):
// RequestHeadReader for the relay's HTTP server, ResponseHeadReader for its
// small HTTP client.
//
// Contract (both readers, the same as wssplit::HandshakeReader):
//  - feed() the bytes exactly as the socket returned them, in any
//    segmentation; the outcome never depends on where reads ended (the reader
//    only looks at the accumulated bytes).
//  - feed() returns need_more until the blank line that ends the head, then
//    done or error. The state is then final: bytes fed after done are
//    appended to the leftover, bytes fed after error are ignored.
//  - take_leftover() hands back every byte after the head (a body, the next
//    pipelined request, the first WebSocket frames); nothing lost or doubled.
//  - The head is bounded: more than max_head_bytes without the blank line is
//    an error (status 431 for requests). Memory: max_head_bytes + one feed().
//  - Strict framing: every line ends in CRLF; a bare CR or LF, an obsolete
//    folded line, whitespace before a header's colon, a control byte in a
//    field, or a malformed start line is an error, never skipped. Requests
//    may be preceded by empty lines (RFC 9112 §2.2), which are skipped.
//  - Body framing is checked here once for both directions: Content-Length
//    must be decimal digits, repeated only with the same value;
//    Transfer-Encoding must be exactly "chunked" (else 501) and must not come
//    with Content-Length (400: a request-smuggling vector). HTTP/1.1 requests
//    need exactly one Host header (400).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::relay::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::size_t kDefaultMaxHttpHeadBytes = 16 * 1024;

// ASCII case-insensitive comparison (header names, tokens).
bool iequals(std::string_view a, std::string_view b);
// First header named `name` (case-insensitive).
std::optional<std::string_view> find_header(const Headers& h, std::string_view name);
// Case-insensitive membership of `token` in a comma-separated header value
// ("keep-alive, Upgrade" has "upgrade").
bool has_token(std::string_view value, std::string_view token);

struct RequestHead {
  std::string method;   // "GET"
  std::string target;   // "/xrpc/com.atproto.sync.subscribeRepos?cursor=5"
  std::string version;  // "HTTP/1.1"
  Headers headers;      // in order, names as sent, values OWS-trimmed
  std::optional<std::uint64_t> content_length;
  bool chunked = false;  // Transfer-Encoding: chunked

  std::optional<std::string_view> header(std::string_view name) const { return find_header(headers, name); }
  // The target up to '?' (origin form; for an absolute-form target the path).
  std::string_view path() const;
  // The target after '?' ("" when none), fragment excluded.
  std::string_view query() const;
  // Persistent connection: HTTP/1.1 unless "Connection: close"; HTTP/1.0
  // only with "Connection: keep-alive".
  bool keep_alive() const;
};

struct ResponseHead {
  std::string version;  // "HTTP/1.1"
  int status = 0;       // 100..999
  std::string reason;
  Headers headers;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;

  std::optional<std::string_view> header(std::string_view name) const { return find_header(headers, name); }
};

enum class HeadStatus { need_more, done, error };

namespace detail {
// The split-safe accumulation shared by both readers: finds the end of the
// head byte by byte, rejecting a bare CR or LF at once.
class HeadScanner {
 public:
  explicit HeadScanner(std::size_t max_head_bytes, bool skip_leading_empty_lines)
      : max_(max_head_bytes), skip_empty_(skip_leading_empty_lines) {}
  // need_more, done (head() valid) or error (error() says why).
  HeadStatus feed(std::string_view bytes);
  std::string_view head() const { return std::string_view(buf_).substr(0, head_len_); }
  std::string take_leftover();
  const std::string& error() const { return error_; }
  bool too_large() const { return too_large_; }
  HeadStatus status() const { return status_; }

 private:
  std::size_t max_;
  bool skip_empty_;
  std::string buf_;
  std::size_t scanned_ = 0;
  std::size_t skipped_ = 0;  // leading empty-line bytes dropped
  std::size_t head_len_ = 0;
  HeadStatus status_ = HeadStatus::need_more;
  std::string error_;
  bool too_large_ = false;
};
}  // namespace detail

class RequestHeadReader {
 public:
  using Status = HeadStatus;
  explicit RequestHeadReader(std::size_t max_head_bytes = kDefaultMaxHttpHeadBytes);

  Status feed(std::string_view bytes);
  Status status() const { return status_; }
  const std::string& error() const { return error_; }
  // The status a server should answer an error with: 400, 431 (head too
  // large), 501 (unsupported Transfer-Encoding) or 505 (not HTTP/1.x).
  int error_status() const { return error_status_; }
  // The error is the head bound (431).
  bool too_large() const { return scan_.too_large(); }
  // Valid once done.
  const RequestHead& head() const { return head_; }
  RequestHead take_head() { return std::move(head_); }
  // Bytes that followed the head; empties the reader's copy.
  std::string take_leftover() { return scan_.take_leftover(); }

 private:
  Status fail(int status, std::string reason);
  Status parse();

  detail::HeadScanner scan_;
  Status status_ = Status::need_more;
  std::string error_;
  int error_status_ = 0;
  RequestHead head_;
};

class ResponseHeadReader {
 public:
  using Status = HeadStatus;
  explicit ResponseHeadReader(std::size_t max_head_bytes = kDefaultMaxHttpHeadBytes);

  Status feed(std::string_view bytes);
  Status status() const { return status_; }
  const std::string& error() const { return error_; }
  // The error is the head bound.
  bool too_large() const { return scan_.too_large(); }
  const ResponseHead& head() const { return head_; }
  ResponseHead take_head() { return std::move(head_); }
  std::string take_leftover() { return scan_.take_leftover(); }

 private:
  Status fail(std::string reason);
  Status parse();

  detail::HeadScanner scan_;
  Status status_ = Status::need_more;
  std::string error_;
  ResponseHead head_;
};

}  // namespace faultline::relay::net
