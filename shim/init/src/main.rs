//! berth-init: PID 1 for `shim run --init` (docker's tini role).
//!
//! `berth-init [--] CMD [ARGS...]` runs CMD as its child, passes every
//! signal it gets on to it, reaps every zombie reparented to it, and exits
//! as the child did: its code, or 128 + the signal that ended it.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "--") {
        args.remove(0);
    }
    if args.is_empty() {
        eprintln!("berth-init: usage: berth-init [--] CMD [ARGS...]");
        std::process::exit(2);
    }
    let argv: Vec<CString> = match args
        .into_iter()
        .map(|a| CString::new(a.into_vec()))
        .collect()
    {
        Ok(v) => v,
        Err(_) => fatal(2, "an argument holds a NUL byte"),
    };
    std::process::exit(run(&argv));
}

fn fatal(code: i32, msg: &str) -> ! {
    eprintln!("berth-init: {msg}");
    std::process::exit(code);
}

fn run(argv: &[CString]) -> i32 {
    let all = full_set();
    // SAFETY: plain syscalls on valid, initialised signal sets.
    unsafe {
        libc::sigprocmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
        // Outside a pid namespace of its own it still reaps its orphans.
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    // SAFETY: fork in a single-threaded process; the child only calls
    // async-signal-safe functions before exec.
    let child = unsafe { libc::fork() };
    if child < 0 {
        fatal(1, &format!("fork: {}", std::io::Error::last_os_error()));
    }
    if child == 0 {
        exec(argv, &all);
    }
    supervise(child, &all)
}

fn full_set() -> libc::sigset_t {
    // SAFETY: sigfillset initialises the zeroed set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        set
    }
}

/// In the child: the signal mask back to none, then the command.
fn exec(argv: &[CString], all: &libc::sigset_t) -> ! {
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: ptrs is a NULL-terminated array of valid C strings that
    // outlive the call; sigprocmask takes a valid set.
    let err = unsafe {
        libc::sigprocmask(libc::SIG_UNBLOCK, all, std::ptr::null_mut());
        // Rust's runtime ignores SIGPIPE, and exec keeps what is ignored.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::execvp(ptrs[0], ptrs.as_ptr());
        std::io::Error::last_os_error()
    };
    let code = match err.raw_os_error() {
        Some(libc::ENOENT) => 127,
        _ => 126,
    };
    eprintln!("berth-init: exec {}: {err}", argv[0].to_string_lossy());
    // SAFETY: leave the forked child without running the parent's atexit.
    unsafe { libc::_exit(code) }
}

/// Waits for signals: SIGCHLD reaps, the rest go to the child. Returns the
/// child's exit status once it has ended.
fn supervise(child: libc::pid_t, all: &libc::sigset_t) -> i32 {
    loop {
        // SAFETY: siginfo is written by the kernel; the set is valid.
        let sig = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::sigwaitinfo(all, &mut info)
        };
        match sig {
            -1 => continue, // EINTR
            libc::SIGCHLD => {
                if let Some(code) = reap(child) {
                    return code;
                }
            }
            // Job control from a terminal would stop PID 1 itself.
            libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => {}
            s => {
                // SAFETY: kill on our own child's pid.
                unsafe { libc::kill(child, s) };
            }
        }
    }
}

/// Reaps every exited child; the main child's status once it is among them.
fn reap(child: libc::pid_t) -> Option<i32> {
    let mut result = None;
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes status.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return result;
        }
        if pid == child {
            result = Some(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            });
        }
    }
}
