//! Device nodes: linux.devices plus the defaults every container gets, and
//! the /dev symlinks. In a user namespace mknod is refused, so the host's
//! node is bound onto an empty file instead, as runc does.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::{fd_path, mount, SafeRoot};
use crate::error::Context;
use crate::{Error, Result};

struct Node<'a> {
    path: &'a Path,
    kind: SFlag,
    major: i64,
    minor: i64,
    mode: u32,
    uid: u32,
    gid: u32,
}

const DEFAULTS: &[(&str, i64, i64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

const LINKS: &[(&str, &str)] = &[
    ("/dev/fd", "/proc/self/fd"),
    ("/dev/stdin", "/proc/self/fd/0"),
    ("/dev/stdout", "/proc/self/fd/1"),
    ("/dev/stderr", "/proc/self/fd/2"),
    ("/dev/ptmx", "pts/ptmx"),
];

/// The parent directory of the last node or link made: they nearly all lie
/// in /dev, resolved inside the root once instead of once each.
struct Parents<'r> {
    root: &'r SafeRoot,
    last: Option<(std::path::PathBuf, OwnedFd)>,
}

impl Parents<'_> {
    /// The handle of `path`'s parent and its last component.
    fn of<'p>(&mut self, path: &'p Path) -> Result<(std::os::fd::RawFd, &'p Path)> {
        let (parent, name) = super::split(path)?;
        if let Some((p, dir)) = &self.last {
            if p == parent {
                return Ok((dir.as_raw_fd(), name));
            }
        }
        let dir = self.root.mkdir_all(parent)?;
        let fd = dir.as_raw_fd();
        self.last = Some((parent.to_path_buf(), dir));
        Ok((fd, name))
    }
}

/// The process umask, 0 while the nodes are made (their modes are exact).
struct NoUmask(Mode);

impl NoUmask {
    fn set() -> NoUmask {
        NoUmask(nix::sys::stat::umask(Mode::empty()))
    }
}

impl Drop for NoUmask {
    fn drop(&mut self) {
        nix::sys::stat::umask(self.0);
    }
}

/// Creates the default nodes, the spec's devices, and the /dev symlinks.
pub fn create_all(root: &SafeRoot, devices: &[LinuxDevice], in_userns: bool) -> Result<()> {
    let mut parents = Parents { root, last: None };
    let _umask = NoUmask::set();
    for (path, major, minor) in DEFAULTS {
        if devices.iter().any(|d| d.path() == Path::new(path)) {
            continue;
        }
        let node = Node {
            path: Path::new(path),
            kind: SFlag::S_IFCHR,
            major: *major,
            minor: *minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        };
        create(&mut parents, &node, in_userns)?;
    }
    for (i, d) in devices.iter().enumerate() {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(Error::field(
                    format!("linux.devices[{i}].type"),
                    "\"a\" is only valid in device cgroup rules",
                ))
            }
        };
        let node = Node {
            path: d.path(),
            kind,
            major: d.major(),
            minor: d.minor(),
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        create(&mut parents, &node, in_userns).map_err(|e| {
            Error::field(
                format!("linux.devices[{i}] ({})", d.path().display()),
                e.to_string(),
            )
        })?;
    }
    for (link, target) in LINKS {
        let (dir, name) = parents.of(Path::new(link))?;
        match nix::unistd::symlinkat(*target, Some(dir), name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Error::sys(format!("symlink {link}"), e)),
        }
    }
    if Path::new("/proc/kcore").exists() {
        let (dir, name) = parents.of(Path::new("/dev/core"))?;
        let _ = nix::unistd::symlinkat("/proc/kcore", Some(dir), name);
    }
    Ok(())
}

fn create(parents: &mut Parents, n: &Node, in_userns: bool) -> Result<()> {
    if in_userns {
        return bind_host_node(parents.root, n);
    }
    let (dir, name) = parents.of(n.path)?;
    let dev = makedev(n.major as u64, n.minor as u64);
    let mode = Mode::from_bits_truncate(n.mode);
    let mut r = mknodat(Some(dir), name, n.kind, mode, dev);
    if r == Err(Errno::EEXIST) {
        // What the rootfs already holds there (a file, a stale node) goes;
        // unlinkat removes a symlink itself, never what it points to.
        let _ = nix::unistd::unlinkat(Some(dir), name, nix::unistd::UnlinkatFlags::NoRemoveDir);
        r = mknodat(Some(dir), name, n.kind, mode, dev);
    }
    r.ctx(|| format!("mknod {}", n.path.display()))?;
    nix::unistd::fchownat(
        Some(dir),
        name,
        Some(nix::unistd::Uid::from_raw(n.uid)),
        Some(nix::unistd::Gid::from_raw(n.gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .ctx(|| format!("chown {}", n.path.display()))
}

fn bind_host_node(root: &SafeRoot, n: &Node) -> Result<()> {
    let target: OwnedFd = root.touch(n.path)?;
    mount(
        Some(n.path),
        &fd_path(&target),
        None,
        MsFlags::MS_BIND,
        None,
    )
}
