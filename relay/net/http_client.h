// http_get(): a minimal HTTP/1.1 client — one GET per connection
// ("Connection: close") — for the relay's com.atproto.sync.listHosts
// bootstrap and for tests of its XRPC endpoints.
//
// Contract:
//  - Dials the URL's host (see dial.h: https:// runs a verified TLS
//    handshake, trusting the system store plus options.tls_ca_file; a
//    verification failure is EPROTO naming the reason), sends the request, reads the response head with
//    ResponseHeadReader (interim 1xx responses are skipped) and the body as
//    the head frames it: chunked, Content-Length, or until the server closes.
//  - `timeout` bounds the whole exchange; past it: ETIMEDOUT.
//  - Bounded: a head above max_head_bytes or a body above max_body_bytes is
//    EMSGSIZE; a malformed head or chunked body is EPROTO (detail says why);
//    a connection closed before the body is complete is ECONNRESET.
//  - Any HTTP status is a successful exchange: check Response::status.
//  - Must run inside a task of `io`.
#pragma once

#include <cstddef>
#include <string>

#include "io/io.h"
#include "relay/net/http_head.h"
#include "relay/net/http_response.h"
#include "relay/net/result.h"
#include "relay/net/url.h"

namespace faultline::relay::net {

struct HttpGetOptions {
  std::size_t max_head_bytes = kDefaultMaxHttpHeadBytes;
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  Headers headers;  // extra request headers ("Accept: application/json", ...)
  std::string tls_ca_file;  // https://: a PEM CA file trusted besides the system store
};

Result<Response> http_get(io::Io& io, const Url& url, io::Duration timeout, const HttpGetOptions& options = {});

}  // namespace faultline::relay::net
