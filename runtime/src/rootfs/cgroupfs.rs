//! A "cgroup" mount: the container's own cgroup at /sys/fs/cgroup, for v2,
//! v1 and the hybrid layout (v1 controllers plus a cgroup2 at unified/).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::Mode;

use super::mounts::{remount_bind, Ctx};
use super::{fd_path, flags::Parsed, mount as sys_mount};
use crate::{Error, Result};

pub(crate) struct HostCgroup {
    /// Mount point on the host, e.g. /sys/fs/cgroup/cpu,cpuacct.
    pub(crate) mountpoint: String,
    pub(crate) fstype: String,
    /// Super options: the controllers of a v1 hierarchy.
    options: String,
}

/// The host's cgroup mounts under /sys/fs/cgroup (also what checkpoint and
/// restore name as external mounts). The runtime's table, which the init
/// inherits read: its copy of the namespace has the same cgroup mounts.
pub(crate) fn host_cgroups() -> Vec<HostCgroup> {
    let info = crate::mountinfo::runtime_ns().unwrap_or_default();
    let mut out = Vec::new();
    for line in info.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mp = pre.split(' ').nth(4).unwrap_or("");
        let mut post = post.split(' ');
        let fstype = post.next().unwrap_or("");
        let _src = post.next();
        let options = post.next().unwrap_or("");
        if (fstype == "cgroup" || fstype == "cgroup2") && mp.starts_with("/sys/fs/cgroup") {
            out.push(HostCgroup {
                mountpoint: mp.to_string(),
                fstype: fstype.to_string(),
                options: options.to_string(),
            });
        }
    }
    out
}

pub fn mount_cgroups(ctx: &Ctx, dest: &Path, parsed: &Parsed) -> Result<()> {
    let hosts = host_cgroups();
    let fl = parsed.flags & !MsFlags::MS_BIND;
    let unified_root = hosts
        .iter()
        .find(|h| h.fstype == "cgroup2" && h.mountpoint == "/sys/fs/cgroup");
    if unified_root.is_some() {
        let target = ctx.root.mkdir_all(dest)?;
        return one(ctx, dest, &fd_path(&target), "cgroup2", "", "", fl);
    }
    // v1 or hybrid: a tmpfs holding one directory per hierarchy.
    let target = ctx.root.mkdir_all(dest)?;
    let tp = fd_path(&target);
    let ro = fl.contains(MsFlags::MS_RDONLY);
    sys_mount(
        Some(Path::new("tmpfs")),
        &tp,
        Some("tmpfs"),
        fl - MsFlags::MS_RDONLY,
        Some("mode=755"),
    )?;
    // Our fresh tmpfs: its entries are made with plain *at calls in it, not
    // resolved from the root one component at a time.
    let top = ctx.root.resolve(dest)?;
    for h in &hosts {
        let name = h.mountpoint.trim_start_matches("/sys/fs/cgroup/");
        if name.is_empty() || name.contains('/') {
            continue;
        }
        let sub = subdir(&top, name)?;
        let controllers = if h.fstype == "cgroup2" {
            String::new()
        } else {
            h.options
                .split(',')
                .filter(|o| !matches!(*o, "rw" | "ro"))
                .collect::<Vec<_>>()
                .join(",")
        };
        one(
            ctx,
            &dest.join(name),
            &fd_path(&sub),
            &h.fstype,
            &h.mountpoint,
            &controllers,
            fl,
        )?;
        // cpu,cpuacct also answers to cpu and cpuacct.
        if name.contains(',') {
            for alias in name.split(',') {
                let _ = nix::unistd::symlinkat(name, Some(top.as_raw_fd()), alias);
            }
        }
    }
    if ro {
        remount_tmpfs(&fd_path(&top), fl)?;
    }
    Ok(())
}

/// `name` (no slash) made in the directory `top` and opened O_PATH.
fn subdir(top: &OwnedFd, name: &str) -> Result<OwnedFd> {
    let fail = |e| Error::sys(format!("cgroup mount: directory {name}"), e);
    let dir = Some(top.as_raw_fd());
    match nix::sys::stat::mkdirat(dir, name, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(fail(e)),
    }
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = nix::fcntl::openat(dir, name, flags, Mode::empty()).map_err(fail)?;
    // SAFETY: openat just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn remount_tmpfs(tp: &Path, fl: MsFlags) -> Result<()> {
    sys_mount(None, tp, None, MsFlags::MS_REMOUNT | fl, Some("mode=755"))
}

/// Mounts one hierarchy: a fresh mount inside a new cgroup namespace (the
/// kernel shows the namespace root), else a bind of the container's own
/// cgroup directory.
fn one(
    ctx: &Ctx,
    dest: &Path,
    target: &Path,
    fstype: &str,
    host_mp: &str,
    opts: &str,
    fl: MsFlags,
) -> Result<()> {
    if ctx.new_cgroupns {
        let data = (!opts.is_empty()).then_some(opts);
        return sys_mount(Some(Path::new(fstype)), target, Some(fstype), fl, data);
    }
    let host_mp = if host_mp.is_empty() {
        "/sys/fs/cgroup"
    } else {
        host_mp
    };
    let rel = ctx
        .cgroup_path
        .map(|p| p.strip_prefix("/").unwrap_or(p).to_path_buf())
        .unwrap_or_default();
    let mut src = Path::new(host_mp).join(&rel);
    if !src.exists() {
        src = Path::new(host_mp).to_path_buf();
    }
    sys_mount(
        Some(&src),
        target,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )?;
    let mounted = ctx.root.resolve(dest)?;
    remount_bind(&fd_path(&mounted), fl | MsFlags::MS_BIND)
}
