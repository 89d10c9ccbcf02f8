// dial(): a TCP connection to the host of a URL, for the WebSocket client and
// http_get.
//
// Contract:
//  - An IP literal host is used as is; a name is resolved with Io::resolve
//    (a bridge job on the Evented backend) and every address is tried in
//    order until one connects.
//  - `timeout` bounds the whole call (resolution + every attempt).
//  - wss:// and https:// fail with EPROTONOSUPPORT ("TLS is not supported"):
//    the relay reports it instead of speaking plaintext to a TLS port.
//  - Must run inside a task of `io` (a fiber on Evented).
#pragma once

#include "io/io.h"
#include "relay/net/result.h"
#include "relay/net/url.h"

namespace faultline::relay::net {

Result<io::Socket> dial(io::Io& io, const Url& url, io::Duration timeout);

}  // namespace faultline::relay::net
