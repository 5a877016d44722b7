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

/// Creates the default nodes, the spec's devices, and the /dev symlinks.
pub fn create_all(root: &SafeRoot, devices: &[LinuxDevice], in_userns: bool) -> Result<()> {
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
        create(root, &node, in_userns)?;
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
        create(root, &node, in_userns).map_err(|e| {
            Error::field(
                format!("linux.devices[{i}] ({})", d.path().display()),
                e.to_string(),
            )
        })?;
    }
    for (link, target) in LINKS {
        let (dir, name) = root.parent_of(Path::new(link))?;
        match nix::unistd::symlinkat(*target, Some(dir.as_raw_fd()), &name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Error::sys(format!("symlink {link}"), e)),
        }
    }
    if Path::new("/proc/kcore").exists() {
        let (dir, name) = root.parent_of(Path::new("/dev/core"))?;
        let _ = nix::unistd::symlinkat("/proc/kcore", Some(dir.as_raw_fd()), &name);
    }
    Ok(())
}

fn create(root: &SafeRoot, n: &Node, in_userns: bool) -> Result<()> {
    if in_userns {
        return bind_host_node(root, n);
    }
    let (dir, name) = root.parent_of(n.path)?;
    let dev = makedev(n.major as u64, n.minor as u64);
    // Remove what the rootfs may already hold (a file, a stale node; never
    // following a symlink: unlinkat works on the link itself).
    let _ = nix::unistd::unlinkat(
        Some(dir.as_raw_fd()),
        &name,
        nix::unistd::UnlinkatFlags::NoRemoveDir,
    );
    let old = nix::sys::stat::umask(Mode::empty());
    let r = mknodat(
        Some(dir.as_raw_fd()),
        &name,
        n.kind,
        Mode::from_bits_truncate(n.mode),
        dev,
    );
    nix::sys::stat::umask(old);
    r.ctx(|| format!("mknod {}", n.path.display()))?;
    nix::unistd::fchownat(
        Some(dir.as_raw_fd()),
        &name,
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
