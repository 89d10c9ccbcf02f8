// Test target built with clang -fsanitize=address when clang is available: a
// real heap-use-after-free, so the parser meets ASan's actual output.
#include <cstdio>

__attribute__((noinline)) int asan_victim_read(int* p) {
  return *p;
}

int main() {
  int* p = new int(5);
  delete p;
  std::printf("%d\n", asan_victim_read(p));
  return 0;
}
