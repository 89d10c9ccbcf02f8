#include "relay/net/dial.h"

#include <cerrno>

#include "relay/net/deadline.h"

namespace faultline::relay::net {
namespace {

Result<io::Socket> dial_tcp(io::Io& io, const Url& url, const Deadline& deadline) {
  std::vector<io::Endpoint> endpoints;
  std::string literal = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (auto ep = io::Endpoint::parse(literal + ":" + std::to_string(url.port))) {
    endpoints.push_back(*ep);
  } else {
    auto r = io.resolve(url.host, url.port);
    if (!r) return failure<io::Socket>(r.error, "cannot resolve " + url.host);
    endpoints = std::move(r.value);
  }
  if (endpoints.empty()) return failure<io::Socket>(EHOSTUNREACH, "no address for " + url.host);
  int last_error = EHOSTUNREACH;
  for (const auto& ep : endpoints) {
    if (deadline.expired()) return failure<io::Socket>(ETIMEDOUT, "connecting to " + url.authority());
    auto s = io.connect(ep, deadline.left());
    if (s) return success(std::move(s.value));
    last_error = s.error;
  }
  return failure<io::Socket>(last_error, "connecting to " + url.authority());
}

}  // namespace

Result<std::size_t> Connection::recv(io::Io& io, std::span<std::byte> buf, io::Duration timeout) {
  if (tls) return tls->read(sock, buf, timeout);
  auto r = io.recv(sock, buf, timeout);
  if (!r) return failure<std::size_t>(r.error, r.error == ETIMEDOUT ? "timed out" : "recv");
  return success(r.value);
}

Result<std::size_t> Connection::send_all(io::Io& io, std::string_view data, io::Duration timeout) {
  if (tls) return tls->write_all(sock, data, timeout);
  auto r = io.send_all(sock, data, timeout);
  if (!r) return failure<std::size_t>(r.error, r.error == ETIMEDOUT ? "send timed out" : "send");
  return success(r.value);
}

Result<Connection> dial(io::Io& io, const Url& url, io::Duration timeout, const std::string& tls_ca_file) {
  Deadline deadline(timeout);
  std::shared_ptr<const TlsContext> ctx;
  if (url.tls()) {
    // Before connecting: a bad CA file is a configuration error, not a
    // reason to open a connection.
    auto c = TlsContext::client(tls_ca_file);
    if (!c) return failure<Connection>(c.error, c.detail);
    ctx = std::move(c.value);
  }
  auto s = dial_tcp(io, url, deadline);
  if (!s) return failure<Connection>(s.error, s.detail);
  Connection conn;
  conn.sock = std::move(s.value);
  if (ctx) {
    auto t = TlsSession::connect(io, conn.sock, std::move(ctx), url.host, deadline.left());
    if (!t) return failure<Connection>(t.error, t.detail);
    conn.tls = std::move(t.value);
  }
  return success(std::move(conn));
}

}  // namespace faultline::relay::net
