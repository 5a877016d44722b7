//! Thin, safe wrappers over the raw syscalls the runtime needs and that nix
//! does not cover (or covers in a shape that costs allocations).

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

/// fork(2) as a raw clone(2) with namespace flags: the child starts in the new
/// namespaces, and (without CLONE_VM) runs on a copy of our memory like fork.
/// Returns 0 in the child and the child's pid in the parent.
pub fn clone_fork(flags: libc::c_int) -> Result<libc::pid_t, Errno> {
    // SAFETY: raw clone without CLONE_VM and with a null stack behaves like
    // fork(2); the runtime is single-threaded, so the child's copy of memory
    // holds no lock owned by another thread.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    Errno::result(ret).map(|r| r as libc::pid_t)
}

/// clone3(2) with CLONE_INTO_CGROUP: `clone_fork`, but the child is born in
/// the cgroup `cgroup` refers to. No cgroup.procs write migrates it later, and
/// a migration waits for an RCU grace period (1 to 30 ms on a busy host).
/// Needs Linux 5.7 and cgroup v2.
pub fn clone_into_cgroup(flags: libc::c_int, cgroup: BorrowedFd<'_>) -> Result<libc::pid_t, Errno> {
    /// struct clone_args of linux/sched.h, up to `cgroup` (CLONE_ARGS_SIZE_VER2).
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let args = CloneArgs {
        flags: u64::from(flags as u32) | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..Default::default()
    };
    // SAFETY: like clone_fork: no CLONE_VM and no stack, so the child runs on
    // a copy of our (single-threaded) memory; `args` outlives the call and its
    // size is passed with it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    Errno::result(ret).map(|r| r as libc::pid_t)
}

/// pidfd_open(2): a handle on a process that is not our child.
pub fn pidfd_open(pid: libc::pid_t) -> Result<OwnedFd, Errno> {
    // SAFETY: plain syscall, the returned fd is fresh and owned by us.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    Errno::result(fd).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// pidfd_send_signal(2): signals exactly the process the pidfd refers to,
/// immune to pid reuse.
pub fn pidfd_send_signal(fd: BorrowedFd<'_>, sig: i32) -> Result<(), Errno> {
    // SAFETY: plain syscall with a valid fd, null siginfo and no flags.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    Errno::result(ret).map(drop)
}

/// Marks every fd from `first` up close-on-exec (CVE-2024-21626: no host fd
/// may reach the container's process).
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes fd flags of this process.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    Errno::result(ret).map(drop)
}

/// Closes every fd from `first` up: the fds a caller leaked to us must not
/// even be open while the init sets up (CVE-2024-21626: a leaked directory fd
/// makes `cwd: /proc/self/fd/N` land on the host).
pub fn close_from(first: u32) -> Result<(), Errno> {
    // SAFETY: close_range closes fds of this process only; nothing in this
    // process holds any of them yet.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) };
    Errno::result(ret).map(drop)
}

/// pivot_root(2) with the same path twice: the old root is stacked on the new
/// one and unmounted afterwards, so no temporary directory is needed.
pub fn pivot_root_dot() -> Result<(), Errno> {
    let dot = c".";
    // SAFETY: both arguments are valid NUL-terminated strings.
    let ret = unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) };
    Errno::result(ret).map(drop)
}

/// setns(2) on an fd.
pub fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> Result<(), Errno> {
    // SAFETY: setns only changes this process's namespaces.
    Errno::result(unsafe { libc::setns(fd.as_raw_fd(), nstype) }).map(drop)
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a fresh session keyring per container
/// so containers don't share the host's keys.
pub fn join_session_keyring(name: &CStr) -> Result<(), Errno> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_int = 1;
    // SAFETY: name is a valid NUL-terminated string.
    let ret =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    Errno::result(ret).map(drop)
}

/// ioprio_set(IOPRIO_WHO_PROCESS, 0, prio).
pub fn ioprio_set(class: i32, level: i32) -> Result<(), Errno> {
    let prio = (class << 13) | level;
    // SAFETY: plain syscall on ourselves.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, prio) };
    Errno::result(ret).map(drop)
}

/// The kernel's sched_attr for sched_setattr(2).
#[repr(C)]
#[derive(Default)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

pub fn sched_setattr(attr: &mut SchedAttr) -> Result<(), Errno> {
    attr.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: attr points to a properly sized, initialised sched_attr.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, attr as *mut SchedAttr, 0) };
    Errno::result(ret).map(drop)
}

/// struct mount_attr of linux/mount.h (MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

/// mount_setattr(2) on the mount an O_PATH fd names; `recursive` applies the
/// change to every mount below it too (AT_RECURSIVE). Linux 5.12.
pub fn mount_setattr(fd: BorrowedFd<'_>, recursive: bool, attr: &MountAttr) -> Result<(), Errno> {
    let mut flags = libc::AT_EMPTY_PATH;
    if recursive {
        flags |= libc::AT_RECURSIVE;
    }
    // SAFETY: a valid fd, an empty NUL-terminated path, and a mount_attr that
    // outlives the call, passed with its size.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(ret).map(drop)
}

/// open_tree(2) flags of linux/mount.h.
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

/// open_tree(2) with OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC: a detached copy
/// of the mount at `path` (with every mount below it when `recursive`), in
/// an anonymous mount namespace of its own until move_mount attaches it.
/// Closing the fd of a tree never attached unmounts it. Linux 5.2.
pub fn open_tree_clone(path: &Path, recursive: bool) -> Result<OwnedFd, Errno> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: a NUL-terminated path and plain flags; the returned fd is
    // fresh and owned by us.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) };
    Errno::result(fd).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// move_mount(2) of the (detached) tree `from` onto the directory or file
/// `to` names (an O_PATH fd resolved inside the rootfs). Linux 5.2.
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: two valid fds with empty NUL-terminated paths.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    Errno::result(ret).map(drop)
}

/// pidfd_getfd(2): a duplicate of fd `target` of the process `pidfd` names
/// (needs ptrace rights over it: ours over the init we cloned). Linux 5.6.
pub fn pidfd_getfd(pidfd: BorrowedFd<'_>, target: RawFd) -> Result<OwnedFd, Errno> {
    // SAFETY: plain syscall; the returned fd (CLOEXEC) is fresh and ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), target, 0) };
    Errno::result(fd).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// set_mempolicy(2) with a node mask of `maxnode` bits (empty: no mask).
pub fn set_mempolicy(
    mode: libc::c_int,
    mask: &[libc::c_ulong],
    maxnode: usize,
) -> Result<(), Errno> {
    let ptr = if mask.is_empty() {
        std::ptr::null()
    } else {
        mask.as_ptr()
    };
    // SAFETY: mask holds at least `maxnode` bits (or is null with an empty set).
    let ret = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    Errno::result(ret).map(drop)
}

/// sched_setaffinity(2) on ourselves with a CPU mask (one bit per CPU).
pub fn set_affinity(mask: &[libc::c_ulong]) -> Result<(), Errno> {
    // SAFETY: the mask is valid for its length in bytes.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_sched_setaffinity,
            0,
            std::mem::size_of_val(mask),
            mask.as_ptr(),
        )
    };
    Errno::result(ret).map(drop)
}

/// sched_getaffinity(2) of ourselves, as a mask of up to 8192 CPUs.
pub fn get_affinity() -> Result<Vec<libc::c_ulong>, Errno> {
    let mut mask = vec![0 as libc::c_ulong; 8192 / libc::c_ulong::BITS as usize];
    // SAFETY: the kernel writes at most the buffer's size in bytes.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_sched_getaffinity,
            0,
            std::mem::size_of_val(mask.as_slice()),
            mask.as_mut_ptr(),
        )
    };
    Errno::result(ret).map(|_| mask)
}

/// personality(2): the execution domain (PER_LINUX, PER_LINUX32).
pub fn personality(persona: libc::c_ulong) -> Result<(), Errno> {
    // SAFETY: personality only changes this process's execution domain.
    let ret = unsafe { libc::personality(persona) };
    Errno::result(ret).map(drop)
}

/// Brings `lo` up (IFF_UP) in our network namespace, with an ioctl on a
/// datagram socket as crun does: one syscall, no netlink round trip.
pub fn loopback_up() -> Result<(), Errno> {
    // SAFETY: socket(2) returns a fresh fd, owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    let sock = Errno::result(fd).map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })?;
    // SAFETY: an all-zero ifreq is valid; the name fits IFNAMSIZ.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *s as libc::c_char;
    }
    req.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    // SAFETY: SIOCSIFFLAGS reads a valid ifreq for this socket.
    let ret = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) };
    Errno::result(ret).map(drop)
}
