// Socket set-up shared by both backends. Every socket of the runtime is
// non-blocking and close-on-exec (the reactors rely on the former), and TCP
// connections send small writes at once (TCP_NODELAY): the repros split
// responses at exact byte offsets and the relay streams small frames.
#pragma once

namespace faultline::io::detail {

// A non-blocking, close-on-exec TCP socket of `family`; -1 and errno on error.
int open_stream_socket(int family);
void set_nodelay(int fd);

}  // namespace faultline::io::detail
