#include "relay/net/websocket_conn.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <random>
#include <vector>

#include "relay/net/deadline.h"
#include "relay/net/dial.h"
#include "relay/net/http_response.h"
#include "repro/wssplit/handshake_reader.h"
#include "repro/wssplit/legacy_readers.h"

namespace faultline::relay::net {
namespace {

using Clock = std::chrono::steady_clock;

// Unmasked payloads above this go out from the caller's buffer, after their
// header, instead of being copied next to it.
constexpr std::size_t kCopyLimit = 64 * 1024;
// A send buffer grown above this by a big message is released afterwards.
constexpr std::size_t kKeepSendBuffer = 1 << 20;

std::int64_t now_ns() {
  return Clock::now().time_since_epoch().count();
}
Clock::time_point from_ns(std::int64_t ns) {
  return Clock::time_point(Clock::duration(ns));
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// A Sec-WebSocket-Key must decode to exactly 16 bytes: 22 base64 characters,
// the last of which carries only 2 bits (its low 4 bits zero), then "==".
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (std::size_t i = 0; i < 22; ++i)
    if (!is_base64_char(key[i])) return false;
  return std::string_view("AQgw").find(key[21]) != std::string_view::npos;
}

std::uint64_t random_seed() {
  std::uint64_t seed = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1) {
    std::random_device rd;
    seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ static_cast<std::uint64_t>(now_ns());
  }
  return seed == 0 ? 0x9E3779B97F4A7C15ull : seed;
}

// Upgrade refused: a short JSON error and the connection closed.
Result<WebSocket> refuse(io::Io& io, io::Socket& sock, int status, const std::string& reason, io::Duration timeout) {
  Headers extra{{"Connection", "close"}};
  if (status == 426) {
    extra.emplace_back("Upgrade", "websocket");
    extra.emplace_back("Sec-WebSocket-Version", "13");
  }
  std::string resp = write_response(
      status, "application/json", xrpc_error_body(status == 426 ? "UpgradeRequired" : "InvalidRequest", reason), extra);
  io.send_all(sock, resp, timeout);
  io.shutdown(sock, SHUT_RDWR);
  return failure<WebSocket>(EPROTO, "upgrade refused (" + std::to_string(status) + "): " + reason);
}

}  // namespace

int check_upgrade_request(const RequestHead& req, std::string& reason) {
  if (req.method != "GET") {
    reason = "a WebSocket upgrade must be a GET, not " + req.method;
    return 400;
  }
  if (req.version == "HTTP/1.0") {
    reason = "a WebSocket upgrade needs HTTP/1.1";
    return 400;
  }
  if (!req.header("Host")) {
    reason = "missing Host header";
    return 400;
  }
  auto upgrade = req.header("Upgrade");
  if (!upgrade || !has_token(*upgrade, "websocket")) {
    reason = "this endpoint speaks WebSocket only (expected Upgrade: websocket)";
    return 426;
  }
  auto connection = req.header("Connection");
  if (!connection || !has_token(*connection, "Upgrade")) {
    reason = "missing Connection: Upgrade";
    return 400;
  }
  int versions = 0;
  std::string_view version;
  for (const auto& [n, v] : req.headers)
    if (iequals(n, "Sec-WebSocket-Version")) ++versions, version = v;
  if (versions != 1 || version != "13") {
    reason = "unsupported Sec-WebSocket-Version (only 13)";
    return 426;
  }
  int keys = 0;
  std::string_view key;
  for (const auto& [n, v] : req.headers)
    if (iequals(n, "Sec-WebSocket-Key")) ++keys, key = v;
  if (keys != 1 || !valid_key(key)) {
    reason = keys == 1 ? "Sec-WebSocket-Key is not 16 bytes in base64" : "expected exactly one Sec-WebSocket-Key";
    return 400;
  }
  return 0;
}

struct WebSocket::Impl {
  Impl(io::Io& io_, io::Socket s, Role r, std::size_t max_message, io::Duration send_to, io::Duration close_to,
       std::size_t read_buffer, std::string leftover)
      : io(io_),
        sock(std::move(s)),
        role(r),
        parser(r, FrameParserOptions{max_message}),
        rbuf(std::max<std::size_t>({read_buffer, leftover.size(), 512})),
        write_mu(io_.make_mutex("websocket.write")),
        read_mu(io_.make_mutex("websocket.read")),
        closed_ev(io_.make_event("websocket.closed")),
        send_timeout(send_to),
        close_timeout(close_to),
        rng(random_seed()) {
    std::copy(leftover.begin(), leftover.end(), reinterpret_cast<char*>(rbuf.data()));
    rend = leftover.size();
    last_recv_ns = last_send_ns = now_ns();
  }

  MaskKey next_key() {
    // xorshift64*: fast, and seeded from the CSPRNG per connection.
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    std::uint64_t v = rng * 0x2545F4914F6CDD1Dull;
    return {static_cast<std::uint8_t>(v >> 32), static_cast<std::uint8_t>(v >> 40), static_cast<std::uint8_t>(v >> 48),
            static_cast<std::uint8_t>(v >> 56)};
  }

  Result<std::size_t> send_bytes(std::string_view bytes, const Deadline& d) {
    if (tls) return tls->write_all(sock, bytes, d.left());
    std::size_t off = 0;
    while (off < bytes.size()) {
      auto r = io.send(sock, std::as_bytes(std::span(bytes.data() + off, bytes.size() - off)), d.left());
      if (!r) return failure<std::size_t>(r.error, r.error == ETIMEDOUT ? "send timed out" : "send");
      off += r.value;
    }
    return success(off);
  }

  // One whole frame, under the write mutex. Data frames are refused once a
  // close frame is out.
  Result<std::size_t> send_frame(Opcode op, std::string_view payload) {
    io::LockGuard g(*write_mu);
    if (dead) return failure<std::size_t>(ENOTCONN, "the connection is shut down");
    if (!is_control(op) && close_sent) return failure<std::size_t>(ENOTCONN, "a close frame was already sent");
    std::optional<MaskKey> key;
    if (role == Role::client) key = next_key();
    Deadline d(send_timeout);
    const std::size_t total = frame_header_size(payload.size(), key.has_value()) + payload.size();
    sbuf.clear();
    Result<std::size_t> r;
    if (key || payload.size() <= kCopyLimit) {
      append_frame(sbuf, op, payload, true, key);
      r = send_bytes(sbuf, d);
    } else {
      append_frame_header(sbuf, op, payload.size(), true, std::nullopt);
      r = send_bytes(sbuf, d);
      if (r) r = send_bytes(payload, d);
    }
    return finish_send(r, total);
  }

  // Several whole data frames in one write: a relay sender that found many
  // events queued pays one syscall (and wakes its peer once) for all of them.
  Result<std::size_t> send_frames(Opcode op, std::span<const std::span<const std::uint8_t>> payloads) {
    io::LockGuard g(*write_mu);
    if (dead) return failure<std::size_t>(ENOTCONN, "the connection is shut down");
    if (close_sent) return failure<std::size_t>(ENOTCONN, "a close frame was already sent");
    Deadline d(send_timeout);
    sbuf.clear();
    for (auto p : payloads) {
      std::optional<MaskKey> key;
      if (role == Role::client) key = next_key();
      append_frame(sbuf, op, std::string_view(reinterpret_cast<const char*>(p.data()), p.size()), true, key);
    }
    const std::size_t total = sbuf.size();
    return finish_send(send_bytes(sbuf, d), total);
  }

  // The end of every send, under write_mu: `total` bytes were to go out.
  Result<std::size_t> finish_send(Result<std::size_t> r, std::size_t total) {
    if (sbuf.capacity() > kKeepSendBuffer) std::string().swap(sbuf);
    if (!r) {
      // A frame may be half out: the stream is unusable.
      kill();
      return r;
    }
    last_send_ns = now_ns();
    return success(total);
  }

  void kill() {
    if (!dead.exchange(true)) io.shutdown(sock, SHUT_RDWR);
    closed_ev->set();
  }

  void on_peer_close(const Message& m) {
    {
      std::lock_guard lk(info_mu);
      peer_close.emplace(m.close_code(), std::string(m.close_reason()));
    }
    close_received = true;
    if (!close_sent.exchange(true)) {
      std::uint16_t code = m.close_code();
      send_frame(Opcode::close, code == close_code::no_status ? std::string() : close_payload(code, ""));
    }
    closed_ev->set();
    // The server closes TCP first (RFC 6455 §7.1.1), so TIME_WAIT stays there.
    if (role == Role::server) io.shutdown(sock, SHUT_WR);
  }

  void fail_protocol(const ProtocolError& e) {
    {
      std::lock_guard lk(info_mu);
      protocol_failure = e;
    }
    if (!close_sent.exchange(true)) send_frame(Opcode::close, close_payload(e.code, e.reason));
    kill();
  }

  Result<std::size_t> read_some(std::span<std::byte> buf, io::Duration timeout) {
    if (tls) return tls->read(sock, buf, timeout);
    auto r = io.recv(sock, buf, timeout);
    if (!r) return failure<std::size_t>(r.error, "recv");
    return success(r.value);
  }

  // The next text, binary or close message among the bytes already read,
  // answering pings and counting pongs on the way; nullopt when those bytes
  // hold no complete message (the parser keeps a partial one). read_mu held.
  std::optional<Result<Message>> next_buffered() {
    while (rpos < rend) {
      Message m;
      std::size_t used = 0;
      auto st = parser.parse(std::span<const std::uint8_t>(rbuf.data() + rpos, rend - rpos), used, m);
      rpos += used;
      if (st == FrameParser::Status::need_more) break;
      if (st == FrameParser::Status::error) {
        ProtocolError e = parser.error();
        fail_protocol(e);
        return failure<Message>(e.code == close_code::message_too_big ? EMSGSIZE : EPROTO,
                                "WebSocket " + std::to_string(e.code) + ": " + e.reason);
      }
      switch (m.opcode) {
        case Opcode::ping:
          // A failed pong shows up as a failed read next.
          if (!close_sent) send_frame(Opcode::pong, m.payload);
          continue;
        case Opcode::pong:
          pongs.fetch_add(1, std::memory_order_relaxed);
          continue;
        case Opcode::close:
          on_peer_close(m);
          return success(std::move(m));
        default:
          return success(std::move(m));
      }
    }
    rpos = rend = 0;
    return std::nullopt;
  }

  // recv() with read_mu held.
  Result<Message> recv_locked(const Deadline& d) {
    bool read_once = false;
    for (;;) {
      if (close_received) return failure<Message>(ENOTCONN, "the peer closed the WebSocket");
      if (auto m = next_buffered()) return std::move(*m);
      if (dead) return failure<Message>(ENOTCONN, "the connection is shut down");
      if (read_once && d.expired()) return failure<Message>(ETIMEDOUT, "no complete message yet");
      auto r = read_some(std::as_writable_bytes(std::span(rbuf)), d.left());
      read_once = true;
      if (!r) {
        if (r.error == ETIMEDOUT) return failure<Message>(ETIMEDOUT, "no complete message yet");
        if (dead) return failure<Message>(ENOTCONN, "the connection is shut down");
        kill();
        return failure<Message>(r.error, r.detail);
      }
      if (r.value == 0) {
        if (dead) return failure<Message>(ENOTCONN, "the connection is shut down");
        kill();
        return failure<Message>(ECONNRESET, "connection closed without a close frame (1006)");
      }
      rend = r.value;
      last_recv_ns.store(now_ns(), std::memory_order_relaxed);
    }
  }

  io::Io& io;
  io::Socket sock;
  std::unique_ptr<TlsSession> tls;  // wss:// (clients only); frames go through it
  const Role role;
  FrameParser parser;              // under read_mu
  std::vector<std::uint8_t> rbuf;  // under read_mu
  std::size_t rpos = 0, rend = 0;  // under read_mu
  std::unique_ptr<io::Mutex> write_mu;
  std::unique_ptr<io::Mutex> read_mu;
  std::unique_ptr<io::Event> closed_ev;  // the peer's close arrived, or the connection died
  std::atomic<bool> close_sent{false};
  std::atomic<bool> close_received{false};
  std::atomic<bool> dead{false};
  std::atomic<std::int64_t> last_recv_ns{0};
  std::atomic<std::int64_t> last_send_ns{0};
  std::atomic<std::uint64_t> pongs{0};
  std::atomic<bool> reading{false};  // a task holds read_mu in recv()
  io::Duration send_timeout;
  io::Duration close_timeout;
  std::uint64_t rng;  // under write_mu
  std::string sbuf;   // under write_mu
  // A plain mutex: held only to copy these two, never across a park.
  mutable std::mutex info_mu;
  std::optional<ProtocolError> protocol_failure;
  std::optional<std::pair<std::uint16_t, std::string>> peer_close;
};

WebSocket::WebSocket() = default;
WebSocket::~WebSocket() = default;
WebSocket::WebSocket(WebSocket&&) noexcept = default;
WebSocket& WebSocket::operator=(WebSocket&&) noexcept = default;
WebSocket::WebSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<WebSocket> WebSocket::connect(io::Io& io, const Url& url, const ConnectOptions& options) {
  if (url.scheme != "ws" && url.scheme != "wss")
    return failure<WebSocket>(EINVAL, "a WebSocket URL is ws:// or wss://, not " + url.scheme + "://");
  if (url.tls() && options.handshake_reader == HandshakeReaderKind::buggy)
    return failure<WebSocket>(EPROTONOSUPPORT, "the buggy handshake reader reads the raw socket: ws:// only");
  auto conn = dial(io, url, options.connect_timeout, options.tls_ca_file);
  if (!conn) return failure<WebSocket>(conn.error, conn.detail);
  io::Socket& s = conn.value.sock;

  wssplit::ClientRequest req;
  req.host = url.authority();
  req.path = url.path_and_query;
  req.key = wssplit::generate_key();
  Deadline d(options.handshake_timeout);
  if (auto w = conn.value.send_all(io, wssplit::write_request(req), d.left()); !w)
    return failure<WebSocket>(w.error, "sending the upgrade request: " + w.detail);

  std::string leftover;
  if (options.handshake_reader == HandshakeReaderKind::buggy) {
    // Fault injection (`--inject ws-split-bug`): the historical reader owns
    // its read loop on a blocking fd, so it runs on a bridge worker.
    const int fd = s.fd();
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{};
    if (options.handshake_timeout != io::kForever) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(d.left()).count();
      tv.tv_sec = static_cast<time_t>(us / 1'000'000);
      tv.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
      if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1;
    }
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::vector<char> buf(wssplit::kDefaultMaxHeadBytes), left(wssplit::kDefaultMaxHeadBytes);
    auto res = io.offload([&] { return wssplit::legacy::read_buggy(fd, buf.data(), buf.size(), left.data(), req); });
    timeval none{};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    ::fcntl(fd, F_SETFL, flags);
    if (!res.ok) return failure<WebSocket>(EPROTO, "handshake (buggy reader): " + res.error);
    leftover.assign(left.data(), res.leftover_len);
  } else {
    wssplit::HandshakeReader reader(req);
    std::vector<std::byte> buf(4096);
    while (reader.status() == wssplit::HandshakeReader::Status::need_more) {
      // Over TLS the head arrives in whatever pieces the records cut it
      // into: the split-safe reader is what makes that work.
      auto r = conn.value.recv(io, buf, d.left());
      if (!r)
        return failure<WebSocket>(
            r.error, r.error == ETIMEDOUT ? "waiting for the 101 response" : "handshake recv: " + r.detail);
      if (r.value == 0) return failure<WebSocket>(ECONNRESET, "connection closed during the handshake");
      reader.feed(std::string_view(reinterpret_cast<const char*>(buf.data()), r.value));
    }
    if (reader.status() == wssplit::HandshakeReader::Status::error)
      return failure<WebSocket>(EPROTO, "handshake: " + reader.error());
    leftover = reader.take_leftover();
  }
  auto impl = std::make_unique<Impl>(io, std::move(s), Role::client, options.max_message_bytes, options.send_timeout,
                                     options.close_timeout, options.read_buffer_bytes, std::move(leftover));
  impl->tls = std::move(conn.value.tls);
  return success(WebSocket(std::move(impl)));
}

Result<WebSocket> WebSocket::accept(io::Io& io, io::Socket socket, const RequestHead& request, std::string leftover,
                                    const AcceptOptions& options) {
  std::string reason;
  if (int status = check_upgrade_request(request, reason))
    return refuse(io, socket, status, reason, options.handshake_timeout);
  std::string resp =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
      wssplit::compute_accept(*request.header("Sec-WebSocket-Key")) + "\r\n\r\n";
  if (auto w = io.send_all(socket, resp, options.handshake_timeout); !w)
    return failure<WebSocket>(w.error, "sending the 101 response");
  return success(WebSocket(std::make_unique<Impl>(io, std::move(socket), Role::server, options.max_message_bytes,
                                                  options.send_timeout, options.close_timeout,
                                                  options.read_buffer_bytes, std::move(leftover))));
}

Result<Message> WebSocket::recv(io::Duration timeout) {
  if (!impl_) return failure<Message>(ENOTCONN, "not connected");
  Deadline d(timeout);
  io::LockGuard g(*impl_->read_mu);
  struct Reading {
    std::atomic<bool>& flag;
    explicit Reading(std::atomic<bool>& f) : flag(f) { flag = true; }
    ~Reading() { flag = false; }
  } reading(impl_->reading);
  return impl_->recv_locked(d);
}

Result<Message> WebSocket::try_recv() {
  if (!impl_) return failure<Message>(ENOTCONN, "not connected");
  io::LockGuard g(*impl_->read_mu);
  if (impl_->close_received) return failure<Message>(ENOTCONN, "the peer closed the WebSocket");
  if (auto m = impl_->next_buffered()) return std::move(*m);
  return failure<Message>(EWOULDBLOCK, "no complete message read yet");
}

Result<std::size_t> WebSocket::send_binary(std::span<const std::uint8_t> payload) {
  return send_binary(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
}

Result<std::size_t> WebSocket::send_binary(std::string_view payload) {
  if (!impl_) return failure<std::size_t>(ENOTCONN, "not connected");
  return impl_->send_frame(Opcode::binary, payload);
}

Result<std::size_t> WebSocket::send_binary_batch(std::span<const std::span<const std::uint8_t>> payloads) {
  if (!impl_) return failure<std::size_t>(ENOTCONN, "not connected");
  if (payloads.empty()) return success(std::size_t{0});
  return impl_->send_frames(Opcode::binary, payloads);
}

Result<std::size_t> WebSocket::send_text(std::string_view payload) {
  if (!impl_) return failure<std::size_t>(ENOTCONN, "not connected");
  if (!is_valid_utf8(payload)) return failure<std::size_t>(EINVAL, "a text message must be UTF-8");
  return impl_->send_frame(Opcode::text, payload);
}

Result<std::size_t> WebSocket::ping(std::string_view payload) {
  if (!impl_) return failure<std::size_t>(ENOTCONN, "not connected");
  if (payload.size() > kMaxControlPayload) return failure<std::size_t>(EINVAL, "a ping payload is at most 125 bytes");
  if (impl_->close_sent) return failure<std::size_t>(ENOTCONN, "a close frame was already sent");
  return impl_->send_frame(Opcode::ping, payload);
}

Result<std::uint16_t> WebSocket::close(std::uint16_t code, std::string_view reason) {
  if (!impl_) return failure<std::uint16_t>(ENOTCONN, "not connected");
  if (!is_valid_close_code(code)) return failure<std::uint16_t>(EINVAL, "close code " + std::to_string(code));
  Impl& s = *impl_;
  if (!s.close_sent.exchange(true)) {
    auto r = s.send_frame(Opcode::close, close_payload(code, reason));
    if (!r) {
      s.kill();
      return failure<std::uint16_t>(r.error, "sending the close frame: " + r.detail);
    }
  }
  int error = ETIMEDOUT;
  if (!s.close_received && !s.dead) {
    Deadline d(s.close_timeout);
    if (s.read_mu->try_lock()) {
      // Nobody is reading: wait for the peer's close here, dropping data
      // that was already in flight. Bounded by the deadline.
      for (;;) {
        auto m = s.recv_locked(d);
        if (!m) {
          error = m.error;
          break;
        }
        if (m.value.opcode == Opcode::close) break;
      }
      s.read_mu->unlock();
    } else {
      s.closed_ev->wait_for(s.close_timeout);
    }
  }
  std::optional<std::uint16_t> peer_code;
  {
    std::lock_guard lk(s.info_mu);
    if (s.peer_close) peer_code = s.peer_close->first;
  }
  // Best effort: tells the peer the stream ended on purpose, not truncated.
  if (s.tls && !s.dead) s.tls->close_notify(s.sock, s.close_timeout);
  s.kill();
  if (peer_code) return success(*peer_code);
  return failure<std::uint16_t>(error == ENOTCONN ? ECONNRESET : error, "the peer did not answer the close frame");
}

void WebSocket::abort() {
  if (impl_) impl_->kill();
}

bool WebSocket::is_open() const {
  return impl_ && !impl_->close_sent && !impl_->close_received && !impl_->dead;
}

Role WebSocket::role() const {
  return impl_ ? impl_->role : Role::client;
}

WebSocket::Clock::time_point WebSocket::last_activity() const {
  return impl_ ? from_ns(impl_->last_recv_ns.load(std::memory_order_relaxed)) : Clock::time_point{};
}

WebSocket::Clock::time_point WebSocket::last_send() const {
  return impl_ ? from_ns(impl_->last_send_ns.load(std::memory_order_relaxed)) : Clock::time_point{};
}

bool WebSocket::in_recv() const {
  return impl_ && impl_->reading.load();
}

std::uint64_t WebSocket::pongs_received() const {
  return impl_ ? impl_->pongs.load() : 0;
}

std::optional<ProtocolError> WebSocket::protocol_error() const {
  if (!impl_) return std::nullopt;
  std::lock_guard lk(impl_->info_mu);
  return impl_->protocol_failure;
}

std::optional<std::pair<std::uint16_t, std::string>> WebSocket::peer_close() const {
  if (!impl_) return std::nullopt;
  std::lock_guard lk(impl_->info_mu);
  return impl_->peer_close;
}

}  // namespace faultline::relay::net
