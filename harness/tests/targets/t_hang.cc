// Test target: deadlocks — the main thread joins two workers that wait forever
// on a condition nobody signals (outcome `hang`). It exports
// faultline_dump_fibers(int fd) the way the io runtime does, so the harness's
// fiber-dump path is exercised too.
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

namespace {
std::mutex mu;
std::condition_variable cv;
bool ready = false;
}  // namespace

extern "C" __attribute__((visibility("default"), used)) void faultline_dump_fibers(int fd) {
  const char text[] = "fiber 1 state=parked on=mutex#1 scheduler=0\nfiber 2 state=runnable scheduler=0\n";
  ssize_t n = write(fd, text, std::strlen(text));
  (void)n;
}

__attribute__((noinline)) void hang_worker_wait() {
  std::unique_lock<std::mutex> lk(mu);
  cv.wait(lk, [] { return ready; });
}

int main() {
  std::thread a(hang_worker_wait), b(hang_worker_wait);
  std::fputs("t_hang: waiting forever\n", stderr);
  a.join();
  b.join();
  return 0;
}
