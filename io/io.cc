#include "io/io.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "io/detail/sockets.h"
#include "io/detail/task_state.h"
#include "io/evented/evented_io.h"
#include "io/threaded/threaded_io.h"

namespace faultline::io {

std::string_view to_string(Backend b) {
  return b == Backend::threaded ? "threaded" : "evented";
}

std::optional<Backend> backend_from_string(std::string_view s) {
  if (s == "threaded") return Backend::threaded;
  if (s == "evented") return Backend::evented;
  return std::nullopt;
}

std::string_view to_string(ReactorKind k) {
  switch (k) {
    case ReactorKind::none:
      return "none";
    case ReactorKind::uring:
      return "io_uring";
    case ReactorKind::epoll:
      return "epoll";
  }
  return "?";
}

std::unique_ptr<Io> Io::create(const Options& options) {
  if (options.backend == Backend::threaded) return std::make_unique<threaded::ThreadedIo>(options);
  return std::make_unique<evented::EventedIo>(options);
}

Io::~Io() = default;

TaskId Io::current_task() {
  auto* t = detail::current_task_state();
  return t ? t->id() : 0;
}

void TaskHandle::join() {
  if (!state_) return;
  state_->wait_done();
  if (auto e = state_->error()) std::rethrow_exception(e);
}

void TaskHandle::cancel() {
  if (state_) state_->request_cancel();
}

bool TaskHandle::done() const {
  return !state_ || state_->done();
}

TaskId TaskHandle::id() const {
  return state_ ? state_->id() : 0;
}

namespace detail {
int open_stream_socket(int family) {
  return ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}
void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}
}  // namespace detail

int Io::shutdown(Socket& s, int how) {
  return ::shutdown(s.fd(), how) == 0 ? 0 : errno;
}

void Io::close(Socket& s) {
  if (s.valid()) ::close(s.release());
}

Result<Socket> Io::listen(const Endpoint& at, int backlog) {
  Socket s(detail::open_stream_socket(at.family()));
  if (!s.valid()) return {{}, errno};
  int one = 1;
  ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (at.family() == AF_INET6) ::setsockopt(s.fd(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(s.fd(), at.addr(), at.size()) != 0) return {{}, errno};
  if (::listen(s.fd(), backlog) != 0) return {{}, errno};
  return {std::move(s), 0};
}

Result<std::size_t> Io::send_all(Socket& s, std::span<const std::byte> data, Duration timeout) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    auto r = send(s, data.subspan(sent), timeout);
    if (!r) return {sent, r.error};
    sent += r.value;
  }
  return {sent, 0};
}

Result<std::vector<Endpoint>> Io::resolve(const std::string& host, std::uint16_t port) {
  auto lookup = [&]() -> Result<std::vector<Endpoint>> {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) return {{}, rc == EAI_SYSTEM ? errno : EHOSTUNREACH};
    std::vector<Endpoint> out;
    for (addrinfo* a = res; a; a = a->ai_next) out.push_back(Endpoint::from_sockaddr(a->ai_addr, a->ai_addrlen));
    ::freeaddrinfo(res);
    return {std::move(out), 0};
  };
  // getaddrinfo blocks (files, DNS): on the Evented backend it must not run on
  // a scheduler thread, so it goes through the bridge.
  if (backend() == Backend::evented) return offload(lookup);
  return lookup();
}

}  // namespace faultline::io
