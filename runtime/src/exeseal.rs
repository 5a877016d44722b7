//! CVE-2019-5736: never let a container reach the host's runtime binary
//! through `/proc/PID/exe`.
//!
//! `create`/`run`/`exec` fork the container's init (or the exec'd process)
//! straight from the runtime process, so until that child execve()s the user
//! program its `/proc/PID/exe` is whatever file the runtime itself runs from.
//! A container process can open that magic link (O_PATH) and later reopen it
//! for writing; if it is the host binary, the next runtime invocation on the
//! host runs the attacker's code.
//!
//! [`reexec_sealed`] makes the runtime run from a protected file before it
//! forks anything: when `/proc/self/exe` is not protected already, it
//! re-executes the same argv and environment from
//!
//! 1. the binary seen through a private, read-only, lower-only overlayfs
//!    (`fsopen`/`fsconfig`/`fsmount`): the binary's directory is the top
//!    lower layer and an empty layer sits below it. An overlay without an
//!    upper layer has a read-only superblock, so opening the file for writing
//!    gives EROFS whatever the mount flags say, and the mount is detached (in
//!    no mount namespace), so nobody can remount or unmount it. No copy of
//!    the binary is made: this costs a superblock, not a binary's worth of
//!    memory per container (runc#3973);
//! 2. failing that (no new mount API, no overlayfs, no privilege, a binary
//!    on a layer overlayfs refuses), a sealed memfd copy
//!    (`F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE`, plus
//!    `F_SEAL_EXEC` where the kernel has it): a write through the magic link
//!    fails with EPERM.
//!
//! A binary installed where it can't be written needs neither, and saves the
//! re-exec on every create and exec: on a filesystem that has no writable mode
//! (squashfs, erofs, iso9660, cramfs), or on a read-only bind mount of a
//! writable filesystem. A write through the magic link then meets EROFS, and
//! a container can't remount a mount of the host's namespace. A read-only
//! superblock of a writable kind (an ext4 root mounted ro) is not enough: an
//! attacker can hold an O_PATH fd to the binary until the host remounts its
//! root read-write for maintenance. Likewise an overlayfs counts only when it
//! is ours (an upper layer makes one remountable).
//!
//! Whether the running binary is protected is read from the file itself, not
//! from the environment: a memfd carrying the base seals, or a file on a
//! read-only mount (ours: a read-only overlayfs). An environment marker only tells the re-executed
//! process that it *should* be protected, so that a protection that did not
//! take turns into an error instead of an exec loop; it is removed again
//! before anything else runs.
//!
//! Every descriptor opened here is close-on-exec; none survives the re-exec
//! and none is left open when the binary is already protected.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::logging;

/// Set (to the method's name) in the environment of the re-executed runtime.
const MARKER: &str = "_BERTH_EXESEAL";

/// Where the empty lower layer lives when the kernel cannot take overlayfs
/// layers as file descriptors (before Linux 6.13).
const EMPTY_LOWER: &str = "/run/berth-exeseal";

const MEMFD_NAME: &CStr = c"berth-runtime";

const BASE_SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

// <linux/mount.h>; not in every libc crate release.
const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_SET_FD: libc::c_uint = 5;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;
const MOUNT_ATTR_RDONLY: libc::c_uint = 0x1;
const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;
const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;

/// How the running binary is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seal {
    /// A file on a read-only overlayfs (ours: detached, lower layers only).
    Overlay,
    /// A memfd copy carrying the base seals.
    Memfd,
    /// A file on some other read-only mount: installed that way.
    ReadOnlyMount,
}

impl Seal {
    pub fn name(self) -> &'static str {
        match self {
            Seal::Overlay => "overlayfs",
            Seal::Memfd => "memfd",
            Seal::ReadOnlyMount => "read-only mount",
        }
    }
}

/// How the running binary is protected, if it is. In a process this module
/// re-executed, a protection that did not take is an error, not a second
/// re-exec.
pub fn running_protected() -> Result<Option<Seal>> {
    let exe = open_cloexec(c"/proc/self/exe", libc::O_RDONLY)
        .map_err(|e| Error::sys("exeseal: open /proc/self/exe", e))?;
    let expected = std::env::var_os(MARKER);
    // Only our own overlay is known to be lower-only.
    let trusted = seal_of(exe.as_fd()).filter(|s| *s != Seal::Overlay || expected.is_some());
    match (trusted, expected) {
        (Some(_), Some(_)) => {
            // Single-threaded here: nothing reads the environment concurrently.
            std::env::remove_var(MARKER);
            restore_comm();
        }
        (None, Some(m)) => {
            return Err(Error::Other(format!(
                "exeseal: re-executed from a {} copy of the runtime, but /proc/self/exe is \
                 still unprotected (unset {MARKER} if it leaked from elsewhere)",
                m.to_string_lossy()
            )))
        }
        _ => {}
    }
    Ok(trusted)
}

/// Re-executes the current process (same argv and environment) from a
/// protected copy of its binary; for one that [`running_protected`] found
/// unprotected. Returns only on failure. Call it before forking anything.
pub fn reexec_sealed() -> Result<()> {
    let exe = open_cloexec(c"/proc/self/exe", libc::O_RDONLY)
        .map_err(|e| Error::sys("exeseal: open /proc/self/exe", e))?;
    let (seal, target) = match overlay_exe(exe.as_fd()) {
        Ok(fd) => (Seal::Overlay, fd),
        Err(overlay_err) => {
            logging::debug(&format!(
                "exeseal: overlayfs unavailable ({overlay_err}); falling back to a sealed memfd"
            ));
            match memfd_exe(exe.as_fd()) {
                Ok(fd) => (Seal::Memfd, fd),
                Err(memfd_err) => {
                    return Err(Error::Other(format!(
                        "exeseal: cannot protect the runtime binary (CVE-2019-5736): \
                         overlayfs: {overlay_err}; memfd: {memfd_err}"
                    )))
                }
            }
        }
    };
    drop(exe);
    reexec(target.as_fd(), seal)
}

/// How `fd` (an open file, not O_PATH) is protected against writes, if at all.
pub fn seal_of(fd: BorrowedFd<'_>) -> Option<Seal> {
    // SAFETY: fcntl(F_GET_SEALS) on a valid fd only reads its seal set.
    let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    if seals >= 0 && seals & BASE_SEALS == BASE_SEALS {
        return Some(Seal::Memfd);
    }
    let st = fstatfs(fd).ok()?;
    // f_flags holds both the mount's and the superblock's read-only bit.
    if st.f_flags as u64 & libc::ST_RDONLY == 0 {
        return None;
    }
    let fs = st.f_type as i64;
    if fs == OVERLAYFS_SUPER_MAGIC {
        return Some(Seal::Overlay);
    }
    if IMMUTABLE_FS.contains(&fs) {
        return Some(Seal::ReadOnlyMount);
    }
    let info = crate::mountinfo::read()?;
    ro_mount_of_rw_super(&info, mount_id(fd)?).then_some(Seal::ReadOnlyMount)
}

/// squashfs, erofs, iso9660, cramfs: no read-write mode to remount into.
const IMMUTABLE_FS: &[i64] = &[0x7371_7368, 0xE0F5_E1E2, 0x9660, 0x28cd_3d45];

/// The id of the mount `fd` was opened through (statx STATX_MNT_ID).
fn mount_id(fd: BorrowedFd<'_>) -> Option<u64> {
    const STATX_MNT_ID: libc::c_uint = 0x1000;
    // SAFETY: struct statx is plain data: all zeroes is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: statx with AT_EMPTY_PATH on a valid fd only fills `stx`.
    let r = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            STATX_MNT_ID,
            &mut stx,
        )
    };
    (r == 0 && stx.stx_mask & STATX_MNT_ID != 0).then_some(stx.stx_mnt_id)
}

/// Whether mount `id` in `mountinfo` is read-only over a read-write
/// superblock: a read-only bind mount, writable again only by a remount of
/// that very mount.
fn ro_mount_of_rw_super(mountinfo: &str, id: u64) -> bool {
    mountinfo.lines().any(|l| {
        let Some((pre, post)) = l.split_once(" - ") else {
            return false;
        };
        let mut f = pre.split(' ');
        let is_id = f.next().and_then(|x| x.parse::<u64>().ok()) == Some(id);
        let has = |opts: Option<&str>, o: &str| opts.is_some_and(|v| v.split(',').any(|x| x == o));
        is_id && has(f.nth(4), "ro") && has(post.split(' ').nth(2), "rw")
    })
}

/// The running binary through a fresh, detached, read-only overlayfs whose
/// top lower layer is the binary's directory. Returns an O_PATH fd to exec.
fn overlay_exe(exe: BorrowedFd<'_>) -> Result<OwnedFd> {
    let link = std::fs::read_link("/proc/self/exe")
        .map_err(|e| Error::io("exeseal: readlink /proc/self/exe", e))?;
    let (dir, name) = match (link.parent(), link.file_name()) {
        (Some(d), Some(n)) if link.is_absolute() => (d, n),
        _ => {
            return Err(Error::Other(format!(
                "exeseal: /proc/self/exe is {link:?}, not an absolute path"
            )))
        }
    };
    let dir_fd = open_cloexec(&cstring(dir.as_os_str())?, libc::O_PATH | libc::O_DIRECTORY)
        .map_err(|e| Error::sys(format!("exeseal: open {}", dir.display()), e))?;
    let mnt = match overlay_with_fd_layers(dir_fd.as_fd()) {
        Ok(m) => m,
        Err(fd_err) => overlay_with_path_layers(dir)
            .map_err(|e| Error::Other(format!("layers as fds: {fd_err}; layers as paths: {e}")))?,
    };
    let name_c = cstring(name)?;
    let fd = openat_cloexec(mnt.as_fd(), &name_c, libc::O_PATH | libc::O_NOFOLLOW)
        .map_err(|e| Error::sys(format!("exeseal: open {name:?} in the overlay"), e))?;
    drop(mnt);
    // The file must be the one we run (a replaced or deleted binary is
    // caught here), and protected the way the re-executed process will check.
    let (a, b) = (fstat(exe), fstat(fd.as_fd()));
    match (a, b) {
        (Ok(a), Ok(b))
            if b.st_mode & libc::S_IFMT == libc::S_IFREG
                && a.st_size == b.st_size
                && a.st_mtime == b.st_mtime
                && a.st_mtime_nsec == b.st_mtime_nsec => {}
        _ => {
            return Err(Error::Other(format!(
                "exeseal: {} in the overlay is not the running binary",
                link.display()
            )))
        }
    }
    let st = fstatfs(fd.as_fd()).map_err(|e| Error::sys("exeseal: fstatfs overlay", e))?;
    if st.f_type as i64 != OVERLAYFS_SUPER_MAGIC || st.f_flags as u64 & libc::ST_RDONLY == 0 {
        return Err(Error::Other("exeseal: the overlay is not read-only".into()));
    }
    Ok(fd)
}

/// Linux 6.13+: layers given as descriptors; the empty bottom layer is a
/// detached tmpfs, so nothing on disk is needed.
fn overlay_with_fd_layers(dir: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    let tmpfs = fsopen(c"tmpfs")?;
    fsconfig_create(tmpfs.as_fd())?;
    let empty = fsmount(
        tmpfs.as_fd(),
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
    )?;
    drop(tmpfs);
    let ovl = fsopen(c"overlay")?;
    fsconfig_fd(ovl.as_fd(), c"lowerdir+", dir)?;
    fsconfig_fd(ovl.as_fd(), c"lowerdir+", empty.as_fd())?;
    finish_overlay(ovl)
}

/// Older kernels: `lowerdir=<binary dir>:<empty dir>` (overlayfs needs two
/// lower layers when there is no upper one).
fn overlay_with_path_layers(dir: &Path) -> Result<OwnedFd> {
    match std::fs::create_dir(EMPTY_LOWER) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(format!("mkdir {EMPTY_LOWER}"), e)),
    }
    let mut lower = escape_lowerdir(dir.as_os_str().as_bytes());
    lower.push(b':');
    lower.extend(escape_lowerdir(EMPTY_LOWER.as_bytes()));
    let lower = CString::new(lower).map_err(|_| Error::Other("NUL in a path".into()))?;
    let ovl = fsopen(c"overlay").map_err(|e| Error::sys("fsopen overlay", e))?;
    fsconfig_string(ovl.as_fd(), c"lowerdir", &lower)
        .map_err(|e| Error::sys(format!("fsconfig lowerdir={lower:?}"), e))?;
    finish_overlay(ovl).map_err(|e| Error::sys("create the overlay", e))
}

fn finish_overlay(ovl: OwnedFd) -> Result<OwnedFd, Errno> {
    // xino is irrelevant here and, when layers span filesystems, only logs
    // noise to dmesg; older kernels may not know it.
    let _ = fsconfig_string(ovl.as_fd(), c"xino", c"off");
    fsconfig_create(ovl.as_fd())?;
    fsmount(
        ovl.as_fd(),
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
    )
}

/// overlayfs splits lowerdir on ':' and takes '\' as its escape.
fn escape_lowerdir(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len() + 4);
    for &b in path {
        if b == b'\\' || b == b':' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// A sealed memfd copy of the running binary.
fn memfd_exe(exe: BorrowedFd<'_>) -> Result<OwnedFd> {
    let fd = exec_memfd(MEMFD_NAME)?;
    let size = fstat(exe)
        .map_err(|e| Error::sys("fstat /proc/self/exe", e))?
        .st_size;
    copy_all(exe, fd.as_fd(), size as u64)?;
    seal(fd)
}

/// An executable memfd holding `data`, sealed as [`memfd_exe`]'s copy is
/// (the exec trampoline).
pub fn sealed_memfd(name: &CStr, data: &[u8]) -> Result<OwnedFd> {
    let fd = exec_memfd(name)?;
    let mut f = std::fs::File::from(fd);
    std::io::Write::write_all(&mut f, data).map_err(|e| Error::io("write into the memfd", e))?;
    seal(f.into())
}

fn exec_memfd(name: &CStr) -> Result<OwnedFd> {
    match memfd_create(
        name,
        libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING | libc::MFD_EXEC,
    ) {
        // Before 6.3 MFD_EXEC is unknown (and every memfd is executable).
        Err(Errno::EINVAL) => memfd_create(name, libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING),
        r => r,
    }
    .map_err(|e| Error::sys("memfd_create", e))
}

fn seal(fd: OwnedFd) -> Result<OwnedFd> {
    // F_SEAL_EXEC (6.3+) keeps the mode from changing; optional.
    let _ = add_seals(fd.as_fd(), libc::F_SEAL_EXEC);
    add_seals(fd.as_fd(), BASE_SEALS).map_err(|e| Error::sys("fcntl(F_ADD_SEALS)", e))?;
    Ok(fd)
}

fn copy_all(from: BorrowedFd<'_>, to: BorrowedFd<'_>, size: u64) -> Result<()> {
    let mut off: libc::off_t = 0;
    while (off as u64) < size {
        let left = (size - off as u64).min(1 << 30) as usize;
        // SAFETY: sendfile between two valid fds; `off` is a valid off_t the
        // kernel advances by the bytes copied.
        let n = unsafe { libc::sendfile(to.as_raw_fd(), from.as_raw_fd(), &mut off, left) };
        match Errno::result(n) {
            Ok(0) => break,
            Ok(_) => {}
            Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::sys("sendfile into the memfd", e)),
        }
    }
    if off as u64 != size {
        return Err(Error::Other(format!(
            "exeseal: copied {off} of {size} bytes of the runtime binary"
        )));
    }
    Ok(())
}

/// execveat(fd, "", argv, envp + marker, AT_EMPTY_PATH); returns only on error.
fn reexec(fd: BorrowedFd<'_>, seal: Seal) -> Result<()> {
    let argv: Vec<CString> = std::env::args_os()
        .map(|a| cstring(&a))
        .collect::<Result<_>>()?;
    let mut envp: Vec<CString> = Vec::new();
    for (k, v) in std::env::vars_os() {
        let mut kv = k.into_vec();
        kv.push(b'=');
        kv.extend(v.into_vec());
        envp.push(cstring(&OsString::from_vec(kv))?);
    }
    envp.push(cstring(OsStr::new(&format!("{MARKER}={}", seal.name())))?);
    let argv_p: Vec<*const libc::c_char> = argv
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let envp_p: Vec<*const libc::c_char> = envp
        .iter()
        .map(|e| e.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    // SAFETY: argv_p/envp_p are NULL-terminated arrays of pointers to
    // NUL-terminated strings that outlive the call; the fd is valid. The
    // call returns only on failure.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv_p.as_ptr(),
            envp_p.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    let e = Errno::result(ret).err().unwrap_or(Errno::UnknownErrno);
    Err(Error::sys(
        format!("exeseal: re-executing from the {} copy", seal.name()),
        e,
    ))
}

/// An exec through a descriptor names the task after the descriptor on older
/// kernels ("3"); give it back the name of argv[0].
fn restore_comm() {
    let Some(arg0) = std::env::args_os().next() else {
        return;
    };
    let base = Path::new(&arg0)
        .file_name()
        .map(|b| b.as_bytes())
        .unwrap_or(b"runtime");
    let mut name = [0u8; 16];
    let n = base.len().min(15);
    name[..n].copy_from_slice(&base[..n]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes;
    // `name` is 16 bytes with at least the last one zero.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

// ---- syscalls -------------------------------------------------------------

fn cstring(s: &OsStr) -> Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| Error::Other(format!("exeseal: NUL byte in {s:?}")))
}

fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: only called with a descriptor a syscall just returned to us.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

fn open_cloexec(path: &CStr, flags: libc::c_int) -> Result<OwnedFd, Errno> {
    // SAFETY: `path` is NUL-terminated; the result is a fresh fd we own.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    Errno::result(fd).map(|fd| owned(fd as libc::c_long))
}

fn openat_cloexec(dir: BorrowedFd<'_>, path: &CStr, flags: libc::c_int) -> Result<OwnedFd, Errno> {
    // SAFETY: valid dirfd and NUL-terminated path; the result is a fresh fd.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), path.as_ptr(), flags | libc::O_CLOEXEC) };
    Errno::result(fd).map(|fd| owned(fd as libc::c_long))
}

fn fstat(fd: BorrowedFd<'_>) -> Result<libc::stat, Errno> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat fills the buffer on success; it is read only then.
    let r = unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) };
    // SAFETY: r == 0 means the kernel initialised `st`.
    Errno::result(r).map(|_| unsafe { st.assume_init() })
}

/// fstatfs64: unlike `libc::statfs`, `statfs64` exposes `f_flags`.
fn fstatfs(fd: BorrowedFd<'_>) -> Result<libc::statfs64, Errno> {
    let mut st = std::mem::MaybeUninit::<libc::statfs64>::uninit();
    // SAFETY: fstatfs64 fills the buffer on success; it is read only then.
    let r = unsafe { libc::fstatfs64(fd.as_raw_fd(), st.as_mut_ptr()) };
    // SAFETY: r == 0 means the kernel initialised `st`.
    Errno::result(r).map(|_| unsafe { st.assume_init() })
}

fn fsopen(fstype: &CStr) -> Result<OwnedFd, Errno> {
    // SAFETY: NUL-terminated fs name; the result is a fresh fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) };
    Errno::result(fd).map(owned)
}

fn fsconfig_string(fc: BorrowedFd<'_>, key: &CStr, value: &CStr) -> Result<(), Errno> {
    // SAFETY: valid fs context fd, NUL-terminated key and value.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fc.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    };
    Errno::result(r).map(drop)
}

fn fsconfig_fd(fc: BorrowedFd<'_>, key: &CStr, fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: valid fs context fd, NUL-terminated key, value passed as aux fd.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fc.as_raw_fd(),
            FSCONFIG_SET_FD,
            key.as_ptr(),
            std::ptr::null::<libc::c_void>(),
            fd.as_raw_fd(),
        )
    };
    Errno::result(r).map(drop)
}

fn fsconfig_create(fc: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: valid fs context fd; CMD_CREATE takes no key or value.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fc.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    Errno::result(r).map(drop)
}

fn fsmount(fc: BorrowedFd<'_>, attrs: libc::c_uint) -> Result<OwnedFd, Errno> {
    // SAFETY: valid fs context fd; the result is a fresh (detached) mount fd.
    let fd = unsafe { libc::syscall(libc::SYS_fsmount, fc.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) };
    Errno::result(fd).map(owned)
}

fn memfd_create(name: &CStr, flags: libc::c_uint) -> Result<OwnedFd, Errno> {
    // SAFETY: NUL-terminated name; the result is a fresh fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), flags) };
    Errno::result(fd).map(owned)
}

fn add_seals(fd: BorrowedFd<'_>, seals: libc::c_int) -> Result<(), Errno> {
    // SAFETY: fcntl(F_ADD_SEALS) on a valid memfd.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) };
    Errno::result(r).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// O_WRONLY through /proc/self/fd/N of an O_PATH fd, as the CVE's attacker does.
    fn reopen_for_write(fd: BorrowedFd<'_>) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/self/fd/{}", fd.as_raw_fd()))
    }

    fn overlay_allowed() -> bool {
        match fsopen(c"overlay") {
            Ok(_) => true,
            Err(e) => {
                eprintln!("skipped: fsopen(overlay): {e}");
                false
            }
        }
    }

    #[test]
    fn the_overlay_copy_is_the_binary_and_refuses_writes() {
        if !overlay_allowed() {
            return;
        }
        let exe = open_cloexec(c"/proc/self/exe", libc::O_RDONLY).unwrap();
        let fd = overlay_exe(exe.as_fd()).unwrap();
        let ro = std::fs::File::open(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
        assert_eq!(seal_of(ro.as_fd()), Some(Seal::Overlay));
        let e = reopen_for_write(fd.as_fd()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EROFS));
    }

    #[test]
    fn the_path_layer_overlay_refuses_writes() {
        if !overlay_allowed() {
            return;
        }
        let link = std::fs::read_link("/proc/self/exe").unwrap();
        let mnt = overlay_with_path_layers(link.parent().unwrap()).unwrap();
        let name = cstring(link.file_name().unwrap()).unwrap();
        let fd = openat_cloexec(mnt.as_fd(), &name, libc::O_PATH).unwrap();
        let e = reopen_for_write(fd.as_fd()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EROFS));
    }

    #[test]
    fn read_only_bind_mounts_count_and_read_only_superblocks_do_not() {
        let info = "\
22 1 254:0 / / ro,relatime shared:1 - ext4 /dev/vda rw\n\
23 22 254:0 /usr/bin /opt/bin ro,nosuid master:2 - ext4 /dev/vda rw,errors=remount-ro\n\
24 22 254:1 / /ro-root ro,relatime - ext4 /dev/vdb ro\n\
25 22 0:5 / /rw rw - tmpfs tmpfs rw\n";
        assert!(ro_mount_of_rw_super(info, 22));
        assert!(ro_mount_of_rw_super(info, 23));
        assert!(
            !ro_mount_of_rw_super(info, 24),
            "a ro superblock can be remounted rw"
        );
        assert!(!ro_mount_of_rw_super(info, 25));
        assert!(!ro_mount_of_rw_super(info, 99));
    }

    #[test]
    fn lowerdir_escaping() {
        assert_eq!(escape_lowerdir(b"/usr/bin"), b"/usr/bin");
        assert_eq!(escape_lowerdir(b"/a:b\\c"), b"/a\\:b\\\\c");
    }

    #[test]
    fn a_sealed_memfd_is_recognised_and_a_plain_file_is_not() {
        let exe = open_cloexec(c"/proc/self/exe", libc::O_RDONLY).unwrap();
        let copy = memfd_exe(exe.as_fd()).unwrap();
        assert_eq!(seal_of(copy.as_fd()), Some(Seal::Memfd));
        let data = b"x";
        // SAFETY: write to a valid fd from a valid buffer.
        let r = unsafe { libc::write(copy.as_raw_fd(), data.as_ptr().cast(), 1) };
        assert_eq!(Errno::result(r).err(), Some(Errno::EPERM));
        let f = std::fs::File::open("/proc/self/exe").unwrap();
        let on_tmp = f.metadata().unwrap();
        assert_eq!(on_tmp.len(), fstat(copy.as_fd()).unwrap().st_size as u64);
        // Unless the test binary itself sits on a read-only mount.
        if fstatfs(f.as_fd()).unwrap().f_type as i64 != OVERLAYFS_SUPER_MAGIC {
            assert_eq!(seal_of(f.as_fd()), None);
        }
    }
}
