// Test target: prints a report shaped exactly like AddressSanitizer's (no ASan
// runtime needed) and exits 1, so the sanitizer parser is tested end to end
// even where clang's runtime is missing.
#include <cstdio>

int main() {
  std::fputs(
      "=================================================================\n"
      "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x55d0c0a1b2c3 bp "
      "0x7ffd0 sp 0x7ffc8\n"
      "READ of size 4 at 0x602000000010 thread T0\n"
      "    #0 0x55d0c0a1b2c3 in Consumer::send(Event const&) /src/relay/broadcast.cc:88:12\n"
      "    #1 0x55d0c0a1b400 in Broadcaster::fan_out() /src/relay/broadcast.cc:140:7\n"
      "    #2 0x7f0000001234 in __libc_start_main (/lib/x86_64-linux-gnu/libc.so.6+0x2724a)\n"
      "\n"
      "0x602000000010 is located 0 bytes inside of 16-byte region [0x602000000010,0x602000000020)\n"
      "freed by thread T0 here:\n"
      "    #0 0x7f00000099aa in operator delete(void*) (/usr/lib/libasan.so.8+0xb7a5a)\n"
      "\n"
      "SUMMARY: AddressSanitizer: heap-use-after-free /src/relay/broadcast.cc:88:12 in Consumer::send(Event const&)\n"
      "==4242==ABORTING\n",
      stderr);
  return 1;
}
