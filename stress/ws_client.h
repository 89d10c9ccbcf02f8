// WsClient: a lean WebSocket client for the stress consumers (and the fleet's
// tests), built from relay/net's codec pieces — wssplit::write_request +
// HandshakeReader for the opening, FrameParser for frames — over a plain
// io::Socket, so the suite can set socket options the relay's WebSocket
// class does not expose (the slow consumer shrinks SO_RCVBUF to make
// ConsumerTooSlow arrive after a predictable number of events).
//
// Contract:
//  - connect(): TCP connect to an IP literal endpoint, the upgrade request,
//    the 101 read split-safely (bytes after the head are kept as the first
//    frame bytes). Errors: the io errno, EPROTO with a detail.
//  - recv(): the next text/binary/close message; pings are answered with a
//    pong (masked, as a client must), pongs are dropped. A close from the
//    server is echoed and returned; recv() afterwards fails with ENOTCONN.
//    The peer closing TCP without a close frame is ECONNRESET. A timeout is
//    ETIMEDOUT and loses nothing.
//  - One task at a time; every call inside a task of the Io.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "io/io.h"
#include "relay/net/result.h"
#include "relay/net/websocket.h"

namespace faultline::stress {

struct WsClientOptions {
  io::Duration connect_timeout = std::chrono::seconds(10);
  io::Duration handshake_timeout = std::chrono::seconds(10);
  int rcvbuf = 0;  // SO_RCVBUF when > 0
  std::size_t max_message_bytes = relay::net::kDefaultMaxMessageBytes;
  std::size_t read_chunk = 64 * 1024;
};

class WsClient {
 public:
  WsClient() = default;
  WsClient(WsClient&&) = default;
  WsClient& operator=(WsClient&&) = default;

  // `endpoint` "127.0.0.1:PORT"; `target` the request target ("/xrpc/...?cursor=5").
  static relay::net::Result<WsClient> connect(io::Io& io, const std::string& endpoint, const std::string& target,
                                              const WsClientOptions& options = {});

  relay::net::Result<relay::net::Message> recv(io::Duration timeout = io::kForever);
  // Sends a close frame (once) and shuts the socket down; no wait.
  void close(std::uint16_t code = relay::net::close_code::normal);
  bool valid() const { return sock_.valid(); }
  std::uint64_t bytes_received() const { return bytes_; }
  int fd() const { return sock_.fd(); }

 private:
  relay::net::Result<std::size_t> send_frame(relay::net::Opcode op, std::string_view payload);

  io::Io* io_ = nullptr;
  io::Socket sock_;
  std::unique_ptr<relay::net::FrameParser> parser_;
  std::vector<char> buf_;  // bytes read, [off_, len_) not yet parsed
  std::size_t off_ = 0;
  std::size_t len_ = 0;
  bool closed_ = false;
  bool close_sent_ = false;
  std::uint64_t bytes_ = 0;
  std::uint64_t mask_state_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace faultline::stress
