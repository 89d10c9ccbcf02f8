#include "relay/net/dial.h"

#include <cerrno>

#include "relay/net/deadline.h"

namespace faultline::relay::net {

Result<io::Socket> dial(io::Io& io, const Url& url, io::Duration timeout) {
  if (url.tls()) return failure<io::Socket>(EPROTONOSUPPORT, "TLS (" + url.scheme + "://) is not supported");
  Deadline deadline(timeout);
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

}  // namespace faultline::relay::net
