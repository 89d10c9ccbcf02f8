// The client side of the WebSocket opening handshake (RFC 6455 §4.1): key
// generation, the request writer, and HandshakeReader — the split-safe reader
// of the server's `HTTP/1.1 101` response that the relay uses.
//
// Contract of HandshakeReader:
//  - Feed it the bytes exactly as the socket returned them, in any
//    segmentation (one byte at a time, a read ending between '\r' and '\n',
//    the head and the first frames in one read). The result never depends on
//    where the reads ended: the reader only ever looks at the accumulated
//    bytes, so the mid-CRLF bug of the original reader (DESIGN.md, "handshake
//    split mid-CRLF") cannot happen by construction.
//  - feed() returns need_more until the blank line that ends the head has
//    arrived, then done (head valid) or error (reason in error()). Once done
//    or error the state is final; bytes fed after `done` are appended to the
//    leftover, bytes fed after `error` are ignored.
//  - On done, take_leftover() hands back every byte that followed the head:
//    the start of the frame stream, which the caller must parse before
//    reading from the socket again. Nothing is lost or duplicated.
//  - The head is bounded: more than `max_head_bytes` bytes without the blank
//    line is an error (a server cannot make the client buffer without limit).
//    Memory use is at most max_head_bytes plus the size of one feed().
//  - Validation (RFC 6455 §4.1, client steps 1–6): status 101; `Upgrade`
//    contains the token `websocket`; `Connection` contains the token
//    `Upgrade` (both case-insensitive token lists); exactly one
//    `Sec-WebSocket-Accept` equal to base64(SHA-1(key + GUID)); no
//    `Sec-WebSocket-Extensions` the client did not offer; no
//    `Sec-WebSocket-Protocol` the client did not offer. Lines must end in
//    CRLF; a bare CR or LF, an obsolete folded line or a malformed header is
//    an error, never silently skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::wssplit {

// RFC 6455 §1.3: the GUID appended to the key before hashing.
inline constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// Default bound on the response head; real servers send a few hundred bytes.
inline constexpr std::size_t kDefaultMaxHeadBytes = 8192;

// base64(SHA-1(key + GUID)): the value the server must send back.
std::string compute_accept(std::string_view key);

// Standard base64 with padding (OpenSSL EVP_EncodeBlock).
std::string base64_encode(const std::uint8_t* data, std::size_t len);

// A Sec-WebSocket-Key: 16 random bytes, base64. The first form uses the
// OpenSSL CSPRNG (what a real client must do); the second is deterministic
// for repros and tests that replay a seed.
std::string generate_key();
std::string generate_key(std::mt19937_64& rng);

struct ClientRequest {
  std::string host;  // value of the Host header, with ":port" when not default
  std::string path = "/";
  std::string key;                      // from generate_key()
  std::vector<std::string> protocols;   // Sec-WebSocket-Protocol offers
  std::vector<std::string> extensions;  // Sec-WebSocket-Extensions offers
};

// The GET request with the mandatory upgrade headers, ending in the blank line.
std::string write_request(const ClientRequest& req);

// Case-insensitive membership of `token` in a comma-separated header value.
bool header_has_token(std::string_view value, std::string_view token);

using Headers = std::vector<std::pair<std::string, std::string>>;

// Checks a parsed response (status code + headers) against the request.
// Returns an empty string when valid, else the reason. Shared with the
// legacy readers so that they differ from the fixed one only in how they
// split lines.
std::string validate_response(int status_code, const Headers& headers, const ClientRequest& req);

// Parses "HTTP/1.1 101 Switching Protocols"; returns the code or -1.
int parse_status_line(std::string_view line);

// Splits "Name: value" (OWS trimmed). Returns false if malformed.
bool parse_header_line(std::string_view line, std::string& name, std::string& value);

class HandshakeReader {
 public:
  enum class Status { need_more, done, error };

  explicit HandshakeReader(ClientRequest req, std::size_t max_head_bytes = kDefaultMaxHeadBytes);

  Status feed(std::string_view bytes);
  Status status() const { return status_; }
  const std::string& error() const { return error_; }

  // Valid once done (status code also set on most errors after the head).
  int status_code() const { return status_code_; }
  const Headers& headers() const { return headers_; }
  // First header with this name, case-insensitive.
  std::optional<std::string_view> header(std::string_view name) const;

  // The bytes after the head; empties the reader's copy.
  std::string take_leftover();

 private:
  Status fail(std::string reason);
  Status parse_head(std::string_view head);

  ClientRequest req_;
  std::size_t max_head_;
  std::string buf_;          // head bytes so far (until done), then the leftover
  std::size_t scanned_ = 0;  // bytes of buf_ already known not to end the head
  Status status_ = Status::need_more;
  std::string error_;
  int status_code_ = 0;
  Headers headers_;
};

}  // namespace faultline::wssplit
