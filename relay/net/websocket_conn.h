// WebSocket: one RFC 6455 connection over faultline::io, client or server
// side, on either backend.
//
// Opening:
//  - connect(): TCP connect and, for wss://, the TLS handshake
//    (connect_timeout), the upgrade request
//    (wssplit::write_request with a fresh CSPRNG key), then the server's 101
//    read by wssplit::HandshakeReader, split-safe; bytes that followed the
//    head go to the frame parser first. handshake_reader = buggy swaps in the
//    historical mid-CRLF reader (repro/wssplit/legacy_readers.h, variant
//    buggy) for the relay's `--inject ws-split-bug`: it reads the socket in
//    blocking mode on a bridge worker and can crash the process on a
//    mid-CRLF split — that is the point; never use it otherwise.
//  - accept(): validates an upgrade request (RFC 6455 §4.2.1: GET, HTTP/1.1,
//    Host, Upgrade: websocket, Connection: Upgrade, one 16-byte base64
//    Sec-WebSocket-Key, Sec-WebSocket-Version: 13) and answers 101 with
//    Sec-WebSocket-Accept. No extension is ever accepted (an offered
//    permessage-deflate is declined by not echoing Sec-WebSocket-Extensions)
//    and no subprotocol is selected. An invalid request is answered with 400,
//    or 426 (no Upgrade: websocket, or a version other than 13, with
//    Sec-WebSocket-Version: 13), an XRPC-shaped JSON body, and EPROTO.
//  - wss:// runs a verified TLS handshake first (dial.h, tls.h: system
//    trust store plus ConnectOptions::tls_ca_file) and every byte of the
//    connection then goes through the TLS session. The server side (accept)
//    is plaintext. wss:// with handshake_reader = buggy is EPROTONOSUPPORT.
//
// Messages:
//  - recv() returns the next text, binary or close message. Pings are
//    answered with pongs and pongs are counted, inside recv(). A close from
//    the peer is answered (its code echoed) and returned; recv() after that
//    fails with ENOTCONN. A protocol error (FrameParser) sends a close with
//    its code (1002/1007/1009), shuts the connection down, and fails with
//    EPROTO (EMSGSIZE for 1009); protocol_error() keeps the code and reason. The
//    peer closing TCP without a close frame is ECONNRESET. A timeout is
//    ETIMEDOUT and loses nothing: a partial message stays in the parser.
//  - Clients mask every frame with a key from a per-connection xorshift64*
//    generator seeded from RAND_bytes (one OpenSSL call per connection).
//  - close(code, reason): sends a close frame (once), waits up to
//    close_timeout for the peer's close — reading itself if no task is in
//    recv(), else letting that recv() see it — then shuts the TCP connection
//    down. Returns the peer's close code, or ETIMEDOUT.
//
// Tasks and threads:
//  - Every call must run inside a task of the Io the WebSocket was made with;
//    that Io must outlive the WebSocket.
//  - recv() from one task at a time. Sends may come from any tasks: an
//    internal mutex of the Io's backend keeps each frame whole (automatic
//    pongs and closes from recv() go through it too), but the order of
//    messages sent concurrently by different tasks is unspecified — send
//    from one task at a time when order matters (the relay: one writer task
//    per consumer, one reader task for control frames).
//  - recv() in one task and sends/close()/abort() in another is supported.
//  - Destroy it only when no task is inside one of its calls; the socket is
//    closed then.
//  - last_activity() (last bytes received) and last_send() may be read from
//    any thread: the relay pings consumers idle for too long.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "io/io.h"
#include "relay/net/http_head.h"
#include "relay/net/result.h"
#include "relay/net/url.h"
#include "relay/net/websocket.h"

namespace faultline::relay::net {

enum class HandshakeReaderKind { fixed, buggy };

struct ConnectOptions {
  io::Duration connect_timeout = std::chrono::seconds(10);
  io::Duration handshake_timeout = std::chrono::seconds(10);
  HandshakeReaderKind handshake_reader = HandshakeReaderKind::fixed;
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
  io::Duration send_timeout = std::chrono::seconds(30);  // per frame
  io::Duration close_timeout = std::chrono::seconds(5);
  std::size_t read_buffer_bytes = 16 * 1024;
  std::string tls_ca_file;  // wss://: a PEM CA file trusted besides the system store
};

struct AcceptOptions {
  io::Duration handshake_timeout = std::chrono::seconds(10);  // writing the 101 (or the refusal)
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
  io::Duration send_timeout = std::chrono::seconds(30);
  io::Duration close_timeout = std::chrono::seconds(5);
  std::size_t read_buffer_bytes = 16 * 1024;
};

// Checks an upgrade request (RFC 6455 §4.2.1). Returns 0 when it is valid,
// else the HTTP status to refuse it with (400 or 426) and `reason`.
int check_upgrade_request(const RequestHead& request, std::string& reason);

class WebSocket {
 public:
  using Clock = std::chrono::steady_clock;

  WebSocket();  // not connected: every call fails with ENOTCONN
  ~WebSocket();
  WebSocket(WebSocket&&) noexcept;
  WebSocket& operator=(WebSocket&&) noexcept;

  static Result<WebSocket> connect(io::Io& io, const Url& url, const ConnectOptions& options = {});
  static Result<WebSocket> accept(io::Io& io, io::Socket socket, const RequestHead& request, std::string leftover,
                                  const AcceptOptions& options = {});

  Result<Message> recv(io::Duration timeout = io::kForever);
  // The next message among the bytes recv() has already read, without
  // reading the socket: EWOULDBLOCK when they hold no complete message.
  // Lets a reader take a burst whole. Same rules as recv() otherwise.
  Result<Message> try_recv();

  // Each returns the bytes put on the wire (header included).
  Result<std::size_t> send_binary(std::span<const std::uint8_t> payload);
  Result<std::size_t> send_binary(std::string_view payload);
  // One binary message per payload, written with one send: all of them or,
  // on failure, the connection is shut down like after a failed send_binary.
  Result<std::size_t> send_binary_batch(std::span<const std::span<const std::uint8_t>> payloads);
  Result<std::size_t> send_text(std::string_view payload);  // must be UTF-8 (EINVAL otherwise)
  Result<std::size_t> ping(std::string_view payload = {});  // ≤ 125 bytes
  Result<std::uint16_t> close(std::uint16_t code = close_code::normal, std::string_view reason = {});
  // Shuts the TCP connection down at once (no close handshake); a task
  // blocked in recv() wakes with an error.
  void abort();

  bool valid() const { return impl_ != nullptr; }
  // Neither side has sent a close frame and the connection has not failed.
  bool is_open() const;
  Role role() const;
  Clock::time_point last_activity() const;
  Clock::time_point last_send() const;
  std::uint64_t pongs_received() const;
  // A task is inside recv() right now (diagnostics, tests).
  bool in_recv() const;
  // The protocol error we failed the connection with, if any.
  std::optional<ProtocolError> protocol_error() const;
  // The peer's close frame (code, reason), once received.
  std::optional<std::pair<std::uint16_t, std::string>> peer_close() const;

 private:
  struct Impl;
  explicit WebSocket(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline::relay::net
