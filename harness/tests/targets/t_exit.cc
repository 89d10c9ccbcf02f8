// Test target: exits with code 3 (outcome `exit_failure`), or 77 with --skip (outcome `skip`).
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--skip") == 0) {
    std::fputs("t_exit: no such feature here\n", stderr);
    return 77;
  }
  std::fputs("t_exit: failing with 3\n", stderr);
  return 3;
}
