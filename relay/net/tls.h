// TLS for relay/net: a TlsContext (OpenSSL SSL_CTX: trust and protocol
// settings, shared) and a TlsSession (one TLS connection over an io::Socket).
//
// Contract:
//  - OpenSSL never touches the socket: it works on memory BIOs and the
//    session moves ciphertext with Io::send/recv under the caller's
//    deadlines, so TLS behaves the same on both backends and a fiber parks
//    (never blocks its scheduler thread) while waiting for the peer.
//  - Client contexts verify the peer: the system trust store, plus the PEM
//    CA file given as `ca_file` (for private CAs; additive), the hostname
//    (SSL_set1_host, with SNI) or the IP literal (no SNI, RFC 6066), and
//    TLS >= 1.2. There is deliberately no way to skip verification.
//    TlsContext::client() returns one shared context per `ca_file` for the
//    process (creating one loads the trust store: expensive).
//  - Server contexts (TlsContext::server) exist for loopback test servers:
//    a certificate chain and key in PEM, no client certificates.
//  - Errors: EPROTO with a detail naming the OpenSSL reason
//    ("certificate verify failed: unable to get local issuer certificate"),
//    ETIMEDOUT past the deadline (read(): nothing is lost, retry), ECONNRESET
//    when the peer closes TCP without a close_notify (a truncation is never
//    mistaken for the end of the stream), else the errno of the socket call.
//  - read() from one task at a time; write_all()/close_notify() from any
//    tasks, concurrently with read(): each write's records go out whole and
//    in the order OpenSSL produced them (a record generated inside read(),
//    like a TLS 1.3 KeyUpdate answer, included). The socket is not owned:
//    every call names it, and it must be the one the session was made on.
//  - After any error other than ETIMEDOUT from read() the session is
//    unusable; shut the socket down.
//  - Every call must run inside a task of the Io given.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "io/io.h"
#include "relay/net/result.h"

namespace faultline::relay::net {

class TlsContext {
 public:
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // The process-wide client context for `ca_file` ("" = system trust only).
  static Result<std::shared_ptr<const TlsContext>> client(const std::string& ca_file = {});
  // A server context from a PEM certificate chain (leaf first) and PEM key.
  static Result<std::shared_ptr<const TlsContext>> server(std::string_view cert_chain_pem, std::string_view key_pem);

  bool is_server() const { return server_; }
  void* native() const { return ctx_; }  // SSL_CTX*

 private:
  TlsContext(void* ctx, bool server) : ctx_(ctx), server_(server) {}
  void* ctx_;
  bool server_;
};

class TlsSession {
 public:
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // The client handshake on a connected socket, verifying `host` (a DNS
  // name or an IP literal, IPv6 without brackets) within `timeout`.
  static Result<std::unique_ptr<TlsSession>> connect(io::Io& io, io::Socket& sock,
                                                     std::shared_ptr<const TlsContext> ctx, const std::string& host,
                                                     io::Duration timeout);
  // The server handshake on an accepted socket.
  static Result<std::unique_ptr<TlsSession>> accept(io::Io& io, io::Socket& sock, std::shared_ptr<const TlsContext> ctx,
                                                    io::Duration timeout);

  // Plaintext bytes read (> 0), or 0 once the peer sent close_notify.
  Result<std::size_t> read(io::Socket& sock, std::span<std::byte> buf, io::Duration timeout);
  // Sends all of `data`; returns its size.
  Result<std::size_t> write_all(io::Socket& sock, std::string_view data, io::Duration timeout);
  // Sends our close_notify (once; does not wait for the peer's).
  Result<std::size_t> close_notify(io::Socket& sock, io::Duration timeout);

  // "TLSv1.3" etc. (diagnostics, tests).
  std::string protocol() const;

 private:
  struct State;
  explicit TlsSession(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace faultline::relay::net
