// Result<T>: the outcome of a relay::net operation — a value, or an errno plus
// a sentence saying why. It has the members of io::Result (value, error, ok(),
// message()) and adds `detail`, because an errno alone cannot say which header
// of a handshake was wrong.
//
// The errno values used across relay/net:
//   ETIMEDOUT        the deadline passed (no data is lost: retry the call)
//   EPROTO           the peer broke HTTP/1.1, RFC 6455 or TLS, or its
//                    certificate failed verification (detail says how)
//   EPROTONOSUPPORT  wss:// with the fault-injected (buggy) handshake reader
//   EINVAL           a bad argument (URL, state)
//   EMSGSIZE         a head, body or message above its configured bound
//   ECONNRESET       the peer closed the connection mid-exchange
//   ENOTCONN         the WebSocket is closed (close handshake done)
//   anything else    the errno of the failed socket call
#pragma once

#include <string>
#include <utility>

#include "io/net.h"

namespace faultline::relay::net {

template <class T>
struct Result {
  T value{};
  int error = 0;
  std::string detail;

  bool ok() const { return error == 0; }
  explicit operator bool() const { return ok(); }
  // "Connection timed out" or "Protocol error: missing Sec-WebSocket-Accept".
  std::string message() const {
    std::string m = io::errno_message(error);
    if (!detail.empty()) m += ": " + detail;
    return m;
  }
};

template <class T>
Result<T> success(T value) {
  Result<T> r;
  r.value = std::move(value);
  return r;
}

template <class T>
Result<T> failure(int error, std::string detail = {}) {
  Result<T> r;
  r.error = error;
  r.detail = std::move(detail);
  return r;
}

}  // namespace faultline::relay::net
