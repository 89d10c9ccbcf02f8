// Test target: allocates and touches memory until allocation fails; under
// `--memory-limit` that ends in std::bad_alloc -> abort (outcome `oom`).
// Bounded: stops after 64 GiB of requests in any case.
#include <cstdio>
#include <cstring>
#include <vector>

int main() {
  std::vector<char*> blocks;
  for (int i = 0; i < 4096; ++i) {
    char* b = new char[16 << 20];
    std::memset(b, 1, 16 << 20);
    blocks.push_back(b);
  }
  std::puts("t_oom: never ran out of memory");
  return 0;
}
