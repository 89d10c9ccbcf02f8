// faultline_fcontext_land: the function every fiber switch runs "on top" of
// the context it lands in (Boost.Context's ontop_fcontext, scheduler.cc).
//
// ontop_fcontext(to, slot, fn) saves the caller's registers, switches to
// `to`'s stack, restores its registers and jumps to fn with the target's
// return address still on the stack and (rdi, rsi) = (the suspended caller's
// context, slot). This function:
//   1. stores the suspended context in *slot — the jumper's Fiber::ctx or
//      the loop's loop_ctx_ — so nothing has to run after the landing;
//   2. returns into the target with `pop; jmp` instead of `ret`.
// Why (2): the target's return address is the call site of *its* yield,
// while the return-stack predictor holds the call sites of the fiber that
// just left; a `ret` there mispredicts on every switch, which doubled the
// cost of a yield round trip (bench/switch). An indirect jump is predicted
// from the branch history instead, as in Boost's own jump_fcontext, which
// lands the same way. rax:rdx is the transfer_t jump_fcontext would return.
#if defined(__x86_64__) && defined(__ELF__)
    .text
    .globl faultline_fcontext_land
    .hidden faultline_fcontext_land
    .type faultline_fcontext_land, @function
    .align 16
faultline_fcontext_land:
    .cfi_startproc
    movq %rdi, (%rsi)
    movq %rdi, %rax
    movq %rsi, %rdx
    popq %r8
    .cfi_adjust_cfa_offset -8
    .cfi_register %rip, %r8
    jmp *%r8
    .cfi_endproc
    .size faultline_fcontext_land, .-faultline_fcontext_land
#endif
    .section .note.GNU-stack, "", %progbits
