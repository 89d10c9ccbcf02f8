// libfaultline_crash: in-process crash capture for `faultline run`.
//
// Contract:
//  - Loaded by LD_PRELOAD (the harness does this) or linked into a target.
//    When the environment variable FAULTLINE_CRASH_FD names an open file
//    descriptor, a constructor installs handlers for SIGSEGV, SIGBUS, SIGILL,
//    SIGFPE, SIGABRT and SIGTRAP on an alternate signal stack. Without the
//    variable the library does nothing unless faultline_crash_install() is
//    called explicitly.
//  - The main thread gets an alternate stack at install time. Threads created
//    afterwards through pthread_create get one too, because the library
//    interposes pthread_create (only effective when the library precedes libc
//    in symbol lookup: LD_PRELOAD or linked before libc). Threads created in
//    other ways (raw clone) or before install call faultline_crash_thread_init()
//    themselves; the io runtime installs its own sigaltstack on its scheduler
//    threads, which the library leaves alone.
//  - The handler writes, with write(2) only (no malloc, no stdio), the text
//    block described in harness/crash/crash_format.h, then restores the
//    previous disposition and lets the process die of the original signal
//    (a hardware fault re-executes the instruction, a sent signal is re-raised),
//    so wait status, core dumps and parent handlers behave as without it.
//  - The fiber id and scheduler thread come from the io runtime's exported
//    functions faultline_current_fiber_id() / faultline_current_scheduler_thread(),
//    looked up once at install time with dlsym(RTLD_DEFAULT).
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

// Installs the handlers writing to `fd`. Returns 0 on success, -1 on error.
// Idempotent: a second call only changes the descriptor.
int faultline_crash_install(int fd);

// Gives the calling thread an alternate signal stack unless it already has one.
// Returns 0 on success or when one is already present.
int faultline_crash_thread_init(void);

#ifdef __cplusplus
}
#endif
