// wssplit_ws_client: faultline's fixed HandshakeReader against a real
// WebSocket server (the interop test runs it against npm `ws` through
// splitproxy). Per connection it completes the handshake, reads the server's
// greeting (often part of the handshake read: the leftover), sends one masked
// text message, expects it echoed, and closes with 1000.
//
//   wssplit_ws_client HOST PORT CONNECTIONS [GREETING]
// Exit 0 when every connection succeeded, 1 otherwise (reason on stderr).
// Loopback only; every wait is bounded by a 5 s poll timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "repro/wssplit/handshake_reader.h"

namespace ws = faultline::wssplit;

namespace {

constexpr int kTimeoutMs = 5000;

struct Conn {
  int fd = -1;
  std::string in;  // received, not yet parsed
  ~Conn() {
    if (fd >= 0) ::close(fd);
  }
  void fill() {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kTimeoutMs) <= 0) throw std::runtime_error("timed out waiting for data");
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) throw std::runtime_error(n == 0 ? "server closed the connection" : "read failed");
    in.append(buf, static_cast<std::size_t>(n));
  }
  void send(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      off += static_cast<std::size_t>(n);
    }
  }
  // One unfragmented server frame (servers never mask).
  std::pair<int, std::string> frame() {
    for (int reads = 0; reads < 1000; ++reads) {
      if (in.size() >= 2) {
        auto b1 = static_cast<unsigned char>(in[1]);
        if (b1 & 0x80) throw std::runtime_error("server frame is masked");
        std::size_t len = b1 & 0x7f, hdr = 2;
        if (len == 126) {
          hdr = 4;
          if (in.size() >= 4) len = (static_cast<unsigned char>(in[2]) << 8) | static_cast<unsigned char>(in[3]);
        } else if (len == 127) {
          throw std::runtime_error("unexpected 64-bit frame length");
        }
        if (in.size() >= hdr && in.size() >= hdr + len) {
          int opcode = static_cast<unsigned char>(in[0]) & 0x0f;
          std::string payload = in.substr(hdr, len);
          in.erase(0, hdr + len);
          return {opcode, payload};
        }
      }
      fill();
    }
    throw std::runtime_error("frame never completed");
  }
};

std::string masked_frame(int opcode, const std::string& payload, std::mt19937_64& rng) {
  if (payload.size() > 125) throw std::runtime_error("payload too long for this client");
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  f.push_back(static_cast<char>(0x80 | payload.size()));
  unsigned char mask[4];
  for (auto& m : mask) m = static_cast<unsigned char>(rng() & 0xff);
  f.append(reinterpret_cast<char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

void one_connection(const sockaddr_in& addr, const std::string& host, int n, const std::string& greeting) {
  Conn c;
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ws::ClientRequest req;
  req.host = host;
  req.key = ws::generate_key();
  c.send(ws::write_request(req));
  ws::HandshakeReader reader(req);
  for (int reads = 0; reader.status() == ws::HandshakeReader::Status::need_more && reads < 10000; ++reads) {
    c.fill();
    reader.feed(c.in);
    c.in.clear();
  }
  if (reader.status() != ws::HandshakeReader::Status::done) throw std::runtime_error("handshake: " + reader.error());
  c.in = reader.take_leftover();
  auto [op, text] = c.frame();
  if (op != 1 || text != greeting)
    throw std::runtime_error("greeting: got opcode " + std::to_string(op) + " '" + text + "'");
  std::mt19937_64 rng(static_cast<std::uint64_t>(n));
  std::string msg = "faultline-" + std::to_string(n);
  c.send(masked_frame(1, msg, rng));
  auto [op2, echo] = c.frame();
  if (op2 != 1 || echo != msg) throw std::runtime_error("echo: got '" + echo + "', want '" + msg + "'");
  c.send(masked_frame(8, std::string("\x03\xe8", 2), rng));
  auto [op3, body] = c.frame();
  if (op3 != 8) throw std::runtime_error("expected a close frame, got opcode " + std::to_string(op3));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s HOST PORT CONNECTIONS [GREETING]\n", argv[0]);
    return 2;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[2])));
  if (::inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1 || (ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
    std::fprintf(stderr, "%s: %s is not an IPv4 loopback address\n", argv[0], argv[1]);
    return 2;
  }
  const int count = std::atoi(argv[3]);
  const std::string greeting = argc > 4 ? argv[4] : "greeting";
  const std::string host = std::string(argv[1]) + ":" + argv[2];
  int ok = 0;
  for (int i = 1; i <= count; ++i) {
    try {
      one_connection(addr, host, i, greeting);
      ++ok;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "connection %d: %s\n", i, e.what());
    }
  }
  std::fprintf(stderr, "wssplit_ws_client: %d/%d connections completed handshake, greeting, echo and close\n", ok,
               count);
  return ok == count ? 0 : 1;
}
