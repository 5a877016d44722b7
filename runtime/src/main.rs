//! `runtime`: runc's command line over berth_runtime.
//!
//! No Rust runtime start-up (`no_main`): std's would find the main thread's
//! stack guard through glibc's pthread_getattr_np, which parses
//! /proc/self/maps with scanf — 40 KB of code and a file read on every call
//! of a binary that runs twice per container.  What it did that we need is
//! done here; glibc hands std the arguments through .init_array either way.
#![cfg_attr(not(test), no_main)]

// The unit tests of cli/ run under libtest's main, which leaves ours out.
#[cfg_attr(test, allow(dead_code))]
mod cli;

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: signal(2) with SIG_IGN, before anything else runs. Writes to a
    // closed pipe or socket must fail with EPIPE, as under std's start-up,
    // never kill the runtime halfway through a create; the container's
    // processes get SIGPIPE back at its default (process/exec.rs).
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // exit, not return: it flushes stdout.
    std::process::exit(cli::main());
}
