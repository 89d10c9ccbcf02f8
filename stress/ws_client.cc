#include "stress/ws_client.h"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "repro/wssplit/handshake_reader.h"

namespace faultline::stress {

namespace net = relay::net;

net::Result<WsClient> WsClient::connect(io::Io& io, const std::string& endpoint, const std::string& target,
                                        const WsClientOptions& options) {
  auto ep = io::Endpoint::parse(endpoint);
  if (!ep) return net::failure<WsClient>(EINVAL, "not an IP:port endpoint: " + endpoint);
  auto c = io.connect(*ep, options.connect_timeout);
  if (!c) return net::failure<WsClient>(c.error, "connecting to " + endpoint);
  WsClient w;
  w.io_ = &io;
  w.sock_ = std::move(c.value);
  if (options.rcvbuf > 0) ::setsockopt(w.sock_.fd(), SOL_SOCKET, SO_RCVBUF, &options.rcvbuf, sizeof options.rcvbuf);
  w.mask_state_ ^= static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) |
                   1;  // masks need not be secret here: our own test traffic
  wssplit::ClientRequest req;
  req.host = endpoint;
  req.path = target;
  req.key = wssplit::generate_key();
  const auto deadline = std::chrono::steady_clock::now() + options.handshake_timeout;
  auto left = [&] {
    auto d = deadline - std::chrono::steady_clock::now();
    return d > io::Duration::zero() ? std::chrono::duration_cast<io::Duration>(d) : io::Duration(1);
  };
  if (auto s = io.send_all(w.sock_, wssplit::write_request(req), left()); !s)
    return net::failure<WsClient>(s.error, "sending the upgrade request");
  wssplit::HandshakeReader reader(req);
  std::vector<std::byte> buf(4096);
  while (reader.status() == wssplit::HandshakeReader::Status::need_more) {
    auto r = io.recv(w.sock_, buf, left());
    if (!r) return net::failure<WsClient>(r.error, "waiting for the 101 response");
    if (r.value == 0) return net::failure<WsClient>(ECONNRESET, "connection closed during the handshake");
    reader.feed(std::string_view(reinterpret_cast<const char*>(buf.data()), r.value));
  }
  if (reader.status() == wssplit::HandshakeReader::Status::error)
    return net::failure<WsClient>(EPROTO, "handshake: " + reader.error() +
                                              (reader.status_code() ? " (status " +
                                                                          std::to_string(reader.status_code()) + ")"
                                                                    : ""));
  std::string leftover = reader.take_leftover();
  w.buf_.resize(std::max(options.read_chunk, leftover.size()));
  std::memcpy(w.buf_.data(), leftover.data(), leftover.size());
  w.len_ = leftover.size();
  net::FrameParserOptions po;
  po.max_message_bytes = options.max_message_bytes;
  w.parser_ = std::make_unique<net::FrameParser>(net::Role::client, po);
  return net::success(std::move(w));
}

net::Result<std::size_t> WsClient::send_frame(net::Opcode op, std::string_view payload) {
  mask_state_ ^= mask_state_ >> 12;
  mask_state_ ^= mask_state_ << 25;
  mask_state_ ^= mask_state_ >> 27;
  std::uint64_t v = mask_state_ * 2685821657736338717ull;
  net::MaskKey key{static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v >> 16),
                   static_cast<std::uint8_t>(v >> 24)};
  std::string out;
  net::append_frame(out, op, payload, true, key);
  auto r = io_->send_all(sock_, out, std::chrono::seconds(5));
  if (!r) return net::failure<std::size_t>(r.error, "send");
  return net::success(out.size());
}

net::Result<net::Message> WsClient::recv(io::Duration timeout) {
  if (!sock_.valid() || closed_) return net::failure<net::Message>(ENOTCONN, "closed");
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    if (off_ < len_) {
      net::Message m;
      std::size_t used = 0;
      auto st = parser_->parse(std::string_view(buf_.data() + off_, len_ - off_), used, m);
      off_ += used;
      if (st == net::FrameParser::Status::error) {
        closed_ = true;
        io_->shutdown(sock_, SHUT_RDWR);
        return net::failure<net::Message>(EPROTO, parser_->error().reason);
      }
      if (st == net::FrameParser::Status::message) {
        if (m.opcode == net::Opcode::ping) {
          send_frame(net::Opcode::pong, m.payload);
          continue;
        }
        if (m.opcode == net::Opcode::pong) continue;
        if (m.opcode == net::Opcode::close) {
          if (!close_sent_) {
            close_sent_ = true;
            send_frame(net::Opcode::close, m.payload.size() >= 2 ? m.payload.substr(0, 2) : std::string());
          }
          closed_ = true;
          io_->shutdown(sock_, SHUT_RDWR);
        }
        return net::success(std::move(m));
      }
      if (off_ < len_) {  // need_more leaves nothing unparsed; anything else is a parser contract break
        closed_ = true;
        return net::failure<net::Message>(EPROTO, "frame parser stopped before the end of its input");
      }
      continue;
    }
    io::Duration left = timeout;
    if (timeout != io::kForever) {
      auto spent = std::chrono::steady_clock::now() - start;
      if (spent >= timeout) return net::failure<net::Message>(ETIMEDOUT, "recv");
      left = std::chrono::duration_cast<io::Duration>(timeout - spent);
    }
    off_ = len_ = 0;
    auto r = io_->recv(sock_, std::as_writable_bytes(std::span(buf_.data(), buf_.size())), left);
    if (!r) return net::failure<net::Message>(r.error, r.error == ETIMEDOUT ? "recv" : "recv failed");
    if (r.value == 0) {
      closed_ = true;
      return net::failure<net::Message>(ECONNRESET, "the server closed the connection without a close frame");
    }
    len_ = r.value;
    bytes_ += r.value;
  }
}

void WsClient::close(std::uint16_t code) {
  if (!sock_.valid()) return;
  if (!close_sent_ && !closed_) {
    close_sent_ = true;
    send_frame(net::Opcode::close, net::close_payload(code, {}));
  }
  closed_ = true;
  io_->shutdown(sock_, SHUT_RDWR);
}

}  // namespace faultline::stress
