// Sockets, endpoints and results for faultline::io. Plain values: an Endpoint
// is an IPv4 or IPv6 address + port; a Socket owns one file descriptor.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace faultline::io {

using Duration = std::chrono::nanoseconds;
inline constexpr Duration kForever = Duration::max();

// A value or an errno. `error` is a positive errno value (ETIMEDOUT when a
// timeout expired, ECANCELED never: cancellation throws io::Cancelled).
template <class T>
struct Result {
  T value{};
  int error = 0;
  bool ok() const { return error == 0; }
  explicit operator bool() const { return ok(); }
  std::string message() const;
};
std::string errno_message(int error);
template <class T>
std::string Result<T>::message() const {
  return errno_message(error);
}

class Endpoint {
 public:
  Endpoint() = default;
  static Endpoint loopback_v4(std::uint16_t port);
  static Endpoint loopback_v6(std::uint16_t port);
  // "127.0.0.1:80", "[::1]:80", "localhost:80" is not accepted (use resolve).
  static std::optional<Endpoint> parse(std::string_view text);
  static Endpoint from_sockaddr(const sockaddr* sa, socklen_t len);

  const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* addr() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const { return len_; }
  int family() const { return storage_.ss_family; }
  std::uint16_t port() const;
  std::string to_string() const;

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

// Owns a file descriptor; closes it on destruction (plain close(2): by then no
// operation can be in flight on it, since operations park their task).
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket();

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  // The locally bound endpoint (for a listener bound to port 0).
  Endpoint local_endpoint() const;

 private:
  int fd_ = -1;
};

}  // namespace faultline::io
