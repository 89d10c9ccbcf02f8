// dial(): a connection to the host of a URL — TCP, and TLS over it for
// wss:// and https:// — for the WebSocket client and http_get.
//
// Contract:
//  - An IP literal host is used as is; a name is resolved with Io::resolve
//    (a bridge job on the Evented backend) and every address is tried in
//    order until one connects.
//  - `timeout` bounds the whole call (resolution, every attempt and the TLS
//    handshake).
//  - wss:// and https:// run a verified TLS handshake (see tls.h): the
//    system trust store plus `tls_ca_file` when given, the URL's host as
//    the name to verify. A failed verification is EPROTO, with the reason.
//  - Must run inside a task of `io` (a fiber on Evented).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "io/io.h"
#include "relay/net/result.h"
#include "relay/net/tls.h"
#include "relay/net/url.h"

namespace faultline::relay::net {

// A dialled connection: the socket, and the TLS session over it if any.
// recv/send_all go through TLS when it is there; the socket stays reachable
// for shutdown (which wakes a task parked in recv).
struct Connection {
  io::Socket sock;
  std::unique_ptr<TlsSession> tls;

  // Partial read; 0 at the end of the stream.
  Result<std::size_t> recv(io::Io& io, std::span<std::byte> buf, io::Duration timeout);
  Result<std::size_t> send_all(io::Io& io, std::string_view data, io::Duration timeout);
};

Result<Connection> dial(io::Io& io, const Url& url, io::Duration timeout, const std::string& tls_ca_file = {});

}  // namespace faultline::relay::net
