//! The exec trampoline (runtime/src/exeseal.rs): a container's init execs
//! this small program from a sealed memfd, and it execs the user's program,
//! so that no execve in the container is made by a process whose
//! /proc/self/exe is the runtime binary (`#!/proc/self/exe` reaches this
//! sealed copy instead), and the runtime needs no re-exec of its own.
//!
//! argv: [WAIT_FD, REPORT_FD, PATH, ARGV0, ARGS...], envp: the program's.
//! Unless WAIT_FD is "-", waits for `start` (a byte or EOF on it) and marks
//! it close-on-exec (the writer sees it close when the program runs). Unless
//! REPORT_FD is "-" (then it is the exec'ing runtime's channel), marks it
//! close-on-exec too and reports a failed exec there as one packet: 'x' and
//! the errno (4 bytes, native order); else as one line on stderr, as the
//! init writes its own errors. Either way, exit status 127.
//!
//! Built by runtime/build.rs with rustc alone: no std, no libc, static.
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};

const SYS_READ: usize = 0;
const SYS_WRITE: usize = 1;
const SYS_FCNTL: usize = 72;
const SYS_EXECVE: usize = 59;
const SYS_EXIT_GROUP: usize = 231;
const F_SETFD: usize = 2;
const FD_CLOEXEC: usize = 1;
const EINTR: isize = 4;

// The kernel starts us with argc at the stack pointer, then argv, NULL, envp.
global_asm!(
    ".globl _start",
    "_start:",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {main}",
    "ud2",
    main = sym main,
);

unsafe fn syscall3(n: usize, a: usize, b: usize, c: usize) -> isize {
    let r: isize;
    // SAFETY: a raw Linux syscall; the caller passes valid arguments for `n`.
    unsafe {
        asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a, in("rsi") b,
             in("rdx") c, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    r
}

fn exit(code: usize) -> ! {
    // SAFETY: exit_group takes a plain integer and does not return.
    unsafe { syscall3(SYS_EXIT_GROUP, code, 0, 0) };
    loop {}
}

fn write_all(b: &[u8]) {
    let mut off = 0;
    while off < b.len() {
        // SAFETY: writes bytes of a live slice to stderr.
        let n = unsafe { syscall3(SYS_WRITE, 2, b.as_ptr() as usize + off, b.len() - off) };
        if n == -EINTR {
            continue;
        }
        if n <= 0 {
            return;
        }
        off += n as usize;
    }
}

/// A NUL-terminated string as a slice.
unsafe fn c_str<'a>(p: *const u8) -> &'a [u8] {
    let mut n = 0;
    // SAFETY: the kernel passes NUL-terminated argv strings.
    while unsafe { core::ptr::read_volatile(p.add(n)) } != 0 {
        n += 1;
    }
    // SAFETY: the n bytes before the NUL are part of the string.
    unsafe { core::slice::from_raw_parts(p, n) }
}

fn parse_fd(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    let mut v = 0usize;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as usize;
    }
    Some(v)
}

/// strerror's text for what an execve commonly fails with.
fn describe(errno: isize) -> &'static [u8] {
    match errno {
        1 => b"Operation not permitted",
        2 => b"No such file or directory",
        7 => b"Argument list too long",
        8 => b"Exec format error",
        9 => b"Bad file descriptor",
        12 => b"Cannot allocate memory",
        13 => b"Permission denied",
        20 => b"Not a directory",
        21 => b"Is a directory",
        26 => b"Text file busy",
        36 => b"File name too long",
        40 => b"Too many levels of symbolic links",
        80 => b"Accessing a corrupted shared library",
        _ => b"Unknown error",
    }
}

/// "runtime: container init: WHAT: <strerror> (os error N)", then exit 127.
fn fail(what: &[&[u8]], errno: isize) -> ! {
    write_all(b"runtime: container init: ");
    for w in what {
        write_all(w);
    }
    write_all(b": ");
    write_all(describe(errno));
    write_all(b" (os error ");
    let mut digits = [0u8; 20];
    let (mut i, mut v) = (digits.len(), errno.unsigned_abs());
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    write_all(&digits[i..]);
    write_all(b")\n");
    exit(127)
}

/// argv[i] as an fd number; None for "-"; exits on anything else.
unsafe fn fd_arg(argv: *const *const u8, i: usize) -> Option<usize> {
    // SAFETY: the caller checked that argv[i] exists.
    let s = unsafe { c_str(*argv.add(i)) };
    if s == b"-" {
        return None;
    }
    match parse_fd(s) {
        Some(fd) => Some(fd),
        None => not_ours(),
    }
}

fn not_ours() -> ! {
    write_all(b"runtime: exec trampoline: not started by the runtime's init\n");
    exit(127)
}

fn cloexec(fd: usize) {
    // SAFETY: fcntl on an fd number; harmless if it is not open.
    unsafe { syscall3(SYS_FCNTL, fd, F_SETFD, FD_CLOEXEC) };
}

fn wait_for_start(fd: usize) {
    let mut b = 0u8;
    loop {
        // SAFETY: reads one byte into a live stack variable.
        let n = unsafe { syscall3(SYS_READ, fd, &mut b as *mut u8 as usize, 1) };
        if n == -EINTR {
            continue;
        }
        if n < 0 {
            fail(&[b"wait on exec fifo"], -n);
        }
        return;
    }
}

unsafe extern "C" fn main(sp: *const usize) -> ! {
    // SAFETY: the layout the kernel sets up at process entry.
    let (argc, argv) = unsafe { (*sp, sp.add(1) as *const *const u8) };
    if argc < 4 {
        not_ours();
    }
    // SAFETY: argv[argc] is NULL, envp follows it; argv[0] and [1] exist.
    let (envp, wait, report) = unsafe { (argv.add(argc + 1), fd_arg(argv, 0), fd_arg(argv, 1)) };
    if let Some(fd) = wait {
        wait_for_start(fd);
        cloexec(fd);
    }
    if let Some(fd) = report {
        cloexec(fd);
    }
    // SAFETY: argv[2] is the path, argv[3..] the NULL-terminated argv, envp as given.
    let (path, r) = unsafe {
        let path = *argv.add(2);
        (
            path,
            syscall3(
                SYS_EXECVE,
                path as usize,
                argv.add(3) as usize,
                envp as usize,
            ),
        )
    };
    if let Some(fd) = report {
        let errno = (-r) as i32;
        let mut packet = [b'x', 0, 0, 0, 0];
        packet[1..].copy_from_slice(&errno.to_ne_bytes());
        // SAFETY: writes a live stack buffer to the channel.
        unsafe { syscall3(SYS_WRITE, fd, packet.as_ptr() as usize, packet.len()) };
        exit(127)
    }
    // SAFETY: path is NUL-terminated (argv[2]).
    let path = unsafe { c_str(path) };
    fail(&[b"exec \"", path, b"\""], -r)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(127)
}
