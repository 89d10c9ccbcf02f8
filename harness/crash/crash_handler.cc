// The signal handler of libfaultline_crash (contract in crash_handler.h, wire
// format in crash_format.h). Everything reachable from the handler is
// async-signal-safe: fixed static buffers, write(2), read(2), open(2),
// syscall(2), libunwind's local unwinder (which does not allocate once
// initialised on a signal frame), and the io runtime's two accessors.
#include "harness/crash/crash_handler.h"

#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <fcntl.h>
#include <libunwind.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "harness/crash/crash_format.h"

namespace {

using faultline::crash::kMaxFrames;

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};
constexpr std::size_t kAltStackSize = 64 * 1024;

std::atomic<int> g_fd{-1};
struct sigaction g_prev[NSIG];
bool g_installed = false;

using FiberIdFn = std::uint64_t (*)();
using SchedFn = int (*)();
FiberIdFn g_fiber_id = nullptr;
SchedFn g_sched = nullptr;

// One crash is written at a time; a second faulting thread waits (bounded) so
// the first one's block is not cut short by the process dying.
std::atomic<long> g_owner_tid{0};
// Set while the owning thread unwinds: a fault there jumps back here instead
// of killing the process half-way through the block.
sigjmp_buf g_unwind_jmp;
volatile sig_atomic_t g_unwinding = 0;

pthread_key_t g_stack_key;
bool g_key_ok = false;

long gettid_raw() {
  return syscall(SYS_gettid);
}

// ---- async-signal-safe output -------------------------------------------
struct Out {
  char buf[4096];
  std::size_t len = 0;
  int fd = -1;

  void flush() {
    std::size_t off = 0;
    while (off < len) {
      ssize_t n = ::write(fd, buf + off, len - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the reader is gone; nothing better to do here
      off += static_cast<std::size_t>(n);
    }
    len = 0;
  }
  void put(const char* s, std::size_t n) {
    while (n > 0) {
      if (len == sizeof buf) flush();
      std::size_t k = sizeof buf - len < n ? sizeof buf - len : n;
      std::memcpy(buf + len, s, k);
      len += k;
      s += k;
      n -= k;
    }
  }
  void str(const char* s) { put(s, std::strlen(s)); }
  void hex(std::uint64_t v) {
    char t[19];
    int i = 18;
    t[i] = 0;
    do {
      t[--i] = "0123456789abcdef"[v & 15];
      v >>= 4;
    } while (v != 0);
    t[--i] = 'x';
    t[--i] = '0';
    str(t + i);
  }
  void dec(long long v) {
    char t[24];
    int i = 23;
    t[i] = 0;
    bool neg = v < 0;
    unsigned long long u = neg ? 0ull - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
    do {
      t[--i] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (neg) t[--i] = '-';
    str(t + i);
  }
  void kv_dec(const char* k, long long v) {
    str(k);
    str(" ");
    dec(v);
    str("\n");
  }
  void kv_hex(const char* k, std::uint64_t v) {
    str(k);
    str(" ");
    hex(v);
    str("\n");
  }
};
Out g_out;

struct RegName {
  const char* name;
  int index;
};
constexpr RegName kRegs[] = {
    {"rax", REG_RAX},       {"rbx", REG_RBX},         {"rcx", REG_RCX},    {"rdx", REG_RDX},       {"rsi", REG_RSI},
    {"rdi", REG_RDI},       {"rbp", REG_RBP},         {"rsp", REG_RSP},    {"r8", REG_R8},         {"r9", REG_R9},
    {"r10", REG_R10},       {"r11", REG_R11},         {"r12", REG_R12},    {"r13", REG_R13},       {"r14", REG_R14},
    {"r15", REG_R15},       {"rip", REG_RIP},         {"eflags", REG_EFL}, {"csgsfs", REG_CSGSFS}, {"err", REG_ERR},
    {"trapno", REG_TRAPNO}, {"oldmask", REG_OLDMASK}, {"cr2", REG_CR2},
};

void write_maps(Out& o) {
  o.str(faultline::crash::kMapsBegin);
  o.str("\n");
  int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char chunk[1024];
    // Bounded: a process with an absurd number of mappings still terminates.
    for (int i = 0; i < 4096; ++i) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      o.put(chunk, static_cast<std::size_t>(n));
    }
    ::close(fd);
  }
  o.str(faultline::crash::kMapsEnd);
  o.str("\n");
}

// The unwinding loop proper; returns why it stopped.
__attribute__((noinline)) const char* unwind_frames(Out& o, ucontext_t* uc) {
  unw_cursor_t cursor;
  if (unw_init_local2(&cursor, reinterpret_cast<unw_context_t*>(uc), UNW_INIT_SIGNAL_FRAME) < 0) return "init-failed";
  unw_word_t prev_sp = 0;
  for (int frames = 0; frames < kMaxFrames; ++frames) {
    unw_word_t ip = 0, sp = 0;
    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) return "null-ip";
    unw_get_reg(&cursor, UNW_REG_SP, &sp);
    // The stack grows down: an older frame never has a lower sp.
    if (frames > 0 && sp < prev_sp) return "sp-not-increasing";
    prev_sp = sp;
    o.str("frame ");
    o.dec(frames);
    o.str(" ");
    o.hex(ip);
    o.str(" ");
    o.hex(sp);
    o.str("\n");
    int r = unw_step(&cursor);
    if (r == 0) return "end";
    if (r < 0) return "step-error";
  }
  return "limit";
}

void write_backtrace(Out& o, ucontext_t* uc) {
  const char* volatile stop = "fault";  // the unwinder touched an unreadable address and we jumped back
  g_unwinding = 1;
  if (sigsetjmp(g_unwind_jmp, 1) == 0) stop = unwind_frames(o, uc);
  g_unwinding = 0;
  o.str("unwind-stop ");
  o.str(const_cast<const char*>(stop));
  o.str("\n");
}

void handler(int sig, siginfo_t* info, void* ctx) {
  const int saved_errno = errno;
  const long tid = gettid_raw();
  if (g_unwinding && g_owner_tid.load() == tid) siglongjmp(g_unwind_jmp, 1);

  long expected = 0;
  if (!g_owner_tid.compare_exchange_strong(expected, tid)) {
    if (expected == tid) {
      // A fault while writing (not while unwinding): give up on the block.
      signal(sig, SIG_DFL);
      raise(sig);
      return;
    }
    // Another thread is writing its crash: wait up to ~2 s for the process to die.
    for (int i = 0; i < 200; ++i) {
      struct timespec ts {
        0, 10 * 1000 * 1000
      };
      nanosleep(&ts, nullptr);
    }
  } else {
    auto* uc = static_cast<ucontext_t*>(ctx);
    Out& o = g_out;
    o.fd = g_fd.load();
    o.len = 0;
    o.str(faultline::crash::kBegin);
    o.str("\n");
    o.kv_dec("signal", sig);
    o.kv_dec("code", info->si_code);
    o.kv_dec("errno", info->si_errno);
    o.kv_hex("addr", reinterpret_cast<std::uint64_t>(info->si_addr));
    if (info->si_code <= 0) o.kv_dec("sender_pid", info->si_pid);
    o.kv_dec("pid", getpid());
    o.kv_dec("tid", tid);
    o.kv_dec("fiber", g_fiber_id ? static_cast<long long>(g_fiber_id()) : 0);
    o.kv_dec("scheduler", g_sched ? g_sched() : -1);
    const greg_t* g = uc->uc_mcontext.gregs;
    o.kv_hex("pc", static_cast<std::uint64_t>(g[REG_RIP]));
    o.kv_hex("sp", static_cast<std::uint64_t>(g[REG_RSP]));
    for (const auto& r : kRegs) {
      o.str("reg ");
      o.str(r.name);
      o.str(" ");
      o.hex(static_cast<std::uint64_t>(g[r.index]));
      o.str("\n");
    }
    stack_t ss;
    if (sigaltstack(nullptr, &ss) == 0) {
      o.kv_hex("altstack", reinterpret_cast<std::uint64_t>(ss.ss_sp));
      o.kv_dec("altstack_size", static_cast<long long>(ss.ss_size));
    }
    o.flush();  // the essentials are out before the riskier parts
    write_backtrace(o, uc);
    o.flush();
    write_maps(o);
    o.str(faultline::crash::kEnd);
    o.str("\n");
    o.flush();
  }

  // Hand the signal back: previous handler, or default action.
  sigaction(sig, &g_prev[sig], nullptr);
  const bool hardware_fault = info->si_code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE);
  errno = saved_errno;
  if (!hardware_fault) raise(sig);  // sent signals and SIGTRAP (int3 does not re-trap) are re-raised
  // A hardware fault re-executes the faulting instruction on return and is
  // delivered to the restored disposition, so a core shows the real fault.
}

void free_thread_stack(void* p) {
  stack_t cur;
  if (sigaltstack(nullptr, &cur) == 0 && cur.ss_sp == p) {
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
  }
  munmap(p, kAltStackSize);
}

int install_altstack() {
  stack_t cur;
  if (sigaltstack(nullptr, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) && cur.ss_sp != nullptr) return 0;
  void* mem = mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return -1;
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = kAltStackSize;
  if (sigaltstack(&ss, nullptr) != 0) {
    munmap(mem, kAltStackSize);
    return -1;
  }
  if (g_key_ok) pthread_setspecific(g_stack_key, mem);
  return 0;
}

// ---- pthread_create interposition: an alternate stack for every new thread
struct Trampoline {
  void* (*start)(void*);
  void* arg;
};

void* trampoline(void* p) {
  Trampoline t = *static_cast<Trampoline*>(p);
  std::free(p);
  if (g_installed) install_altstack();
  return t.start(t.arg);
}

__attribute__((constructor)) void auto_install() {
  const char* env = std::getenv("FAULTLINE_CRASH_FD");
  if (env == nullptr || *env == 0) return;
  char* end = nullptr;
  long fd = std::strtol(env, &end, 10);
  if (end == env || *end != 0 || fd < 0 || fcntl(static_cast<int>(fd), F_GETFD) < 0) return;
  faultline_crash_install(static_cast<int>(fd));
}

}  // namespace

extern "C" {

int faultline_crash_thread_init(void) {
  return install_altstack();
}

int faultline_crash_install(int fd) {
  g_fd.store(fd);
  if (g_installed) return 0;
  if (!g_key_ok) g_key_ok = pthread_key_create(&g_stack_key, free_thread_stack) == 0;
  g_fiber_id = reinterpret_cast<FiberIdFn>(dlsym(RTLD_DEFAULT, "faultline_current_fiber_id"));
  g_sched = reinterpret_cast<SchedFn>(dlsym(RTLD_DEFAULT, "faultline_current_scheduler_thread"));
  // Prime libunwind (it may lazily allocate on its first use) outside a handler.
  unw_context_t uc;
  unw_cursor_t cursor;
  if (unw_getcontext(&uc) == 0 && unw_init_local(&cursor, &uc) == 0) unw_step(&cursor);
  if (install_altstack() != 0) return -1;
  for (int sig : kSignals) {
    struct sigaction sa {};
    sa.sa_sigaction = handler;
    sigemptyset(&sa.sa_mask);
    // SA_NODEFER: a fault inside the unwinder must reach the handler again
    // (it jumps back); with the signal blocked the kernel would kill us.
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    if (sigaction(sig, &sa, &g_prev[sig]) != 0) return -1;
  }
  g_installed = true;
  return 0;
}

// Interposed so that threads started after install get an alternate stack.
int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg) {
  using Fn = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "pthread_create"));
  if (real == nullptr) return EAGAIN;
  if (!g_installed) return real(thread, attr, start, arg);
  auto* t = static_cast<Trampoline*>(std::malloc(sizeof(Trampoline)));
  if (t == nullptr) return real(thread, attr, start, arg);
  t->start = start;
  t->arg = arg;
  int r = real(thread, attr, trampoline, t);
  if (r != 0) std::free(t);
  return r;
}

}  // extern "C"
