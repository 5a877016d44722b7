//! The spec's mounts, in order, onto destinations resolved inside the rootfs.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::MsFlags;
use oci_spec::runtime::Mount;

use super::{copyup, fd_path, flags, idmap, mount, SafeRoot};
use crate::error::Context;
use crate::{Error, Result};

/// What mount setup needs to know about the container beyond the mount list.
pub struct Ctx<'a> {
    pub root: &'a SafeRoot,
    pub bundle: &'a Path,
    pub cgroup_path: Option<&'a Path>,
    pub new_cgroupns: bool,
    /// Has the runtime set MOUNT_ATTR_IDMAP on the detached copy of
    /// mounts[i] (rootfs::idmap).
    pub idmap: &'a dyn Fn(usize, BorrowedFd) -> Result<()>,
}

/// How a mount is made. One rule, which rootfs::idmap shares: the runtime
/// expects exactly the idmap requests the init makes.
#[derive(Debug, PartialEq, Eq)]
pub enum Kind {
    Cgroup,
    Bind,
    Fs,
}

pub fn kind(m: &Mount, parsed: &flags::Parsed) -> Kind {
    let typ = m.typ().as_deref().unwrap_or("");
    if typ == "cgroup" || typ == "cgroup2" {
        Kind::Cgroup
    } else if parsed.flags.contains(MsFlags::MS_BIND) || typ == "bind" {
        Kind::Bind
    } else {
        Kind::Fs
    }
}

/// Propagation for the whole tree, then the rootfs bound onto itself so it is
/// a mount point pivot_root accepts.
pub fn prepare(rootfs: &Path, propagation: Option<&str>) -> Result<()> {
    let prop = match propagation {
        Some(p) => flags::propagation(p).ok_or_else(|| {
            Error::field("linux.rootfsPropagation", format!("unknown value {p:?}"))
        })?,
        None => MsFlags::MS_SLAVE | MsFlags::MS_REC,
    };
    // An unbindable tree can't be bound onto itself for pivot_root: start
    // private and make "/" unbindable after pivot_root (set_root_propagation).
    let first = if prop.contains(MsFlags::MS_UNBINDABLE) {
        MsFlags::MS_PRIVATE
    } else {
        prop
    };
    mount(None, Path::new("/"), None, first | MsFlags::MS_REC, None)?;
    // After a recursive slave or private, no mount is shared any more.
    if first.contains(MsFlags::MS_SHARED) {
        make_parent_private(rootfs)?;
    }
    mount(
        Some(rootfs),
        rootfs,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
}

/// After pivot_root: the new "/" gets the propagation the spec asked for
/// (the bind made for pivot_root made it private).
pub fn set_root_propagation(name: &str) -> Result<()> {
    let f = flags::propagation(name).ok_or_else(|| {
        Error::field("linux.rootfsPropagation", format!("unknown value {name:?}"))
    })?;
    // Only "/" itself: per-mount propagation options stay as set.
    mount(None, Path::new("/"), None, f - MsFlags::MS_REC, None)
}

/// pivot_root refuses a new root whose parent mount is shared.
fn make_parent_private(rootfs: &Path) -> Result<()> {
    let info = crate::mountinfo::read().unwrap_or_default();
    let mut best: Option<(&str, bool)> = None;
    for line in info.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() < 7 {
            continue;
        }
        let mp = f[4];
        let shared = f[6..]
            .iter()
            .take_while(|x| **x != "-")
            .any(|x| x.starts_with("shared:"));
        if rootfs.starts_with(mp) && best.is_none_or(|(b, _)| mp.len() >= b.len()) {
            best = Some((mp, shared));
        }
    }
    if let Some((mp, true)) = best {
        mount(None, Path::new(mp), None, MsFlags::MS_PRIVATE, None)?;
    }
    Ok(())
}

pub fn mount_all(ctx: &Ctx, mounts: &[Mount]) -> Result<()> {
    for (i, m) in mounts.iter().enumerate() {
        mount_one(ctx, i, m).map_err(|e| {
            Error::field(
                format!("mounts[{i}] ({})", m.destination().display()),
                e.to_string(),
            )
        })?;
    }
    Ok(())
}

fn mount_one(ctx: &Ctx, i: usize, m: &Mount) -> Result<()> {
    let options = m.options().clone().unwrap_or_default();
    let parsed = flags::parse(&options).map_err(Error::Other)?;
    let typ = m.typ().as_deref().unwrap_or("");
    let dest = m.destination();

    match kind(m, &parsed) {
        Kind::Cgroup => super::cgroupfs::mount_cgroups(ctx, dest, &parsed)?,
        Kind::Bind => bind(ctx, i, m, &parsed)?,
        Kind::Fs => mount_fs(ctx, m, typ, &parsed)?,
    }
    if parsed.has_recursive() {
        let mounted = ctx.root.resolve(dest)?;
        crate::syscall::mount_setattr(mounted.as_fd(), true, &parsed.recursive)
            .ctx(|| "set recursive mount attributes (mount_setattr)".into())?;
    }
    Ok(())
}

/// proc and sysfs only on a real directory: a symlink there would be
/// followed inside the root, so /proc could land where procfs protections
/// (masked paths) don't reach (runc's rule, CVE-2019-19921 class).
fn check_ordinary_dir(ctx: &Ctx, dest: &Path) -> Result<()> {
    let (parent, name) = ctx.root.parent_of(dest)?;
    match nix::sys::stat::fstatat(
        Some(parent.as_raw_fd()),
        &name,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    ) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => Ok(()),
        Ok(st) => {
            let what = if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                "a symlink"
            } else {
                "not a directory"
            };
            Err(Error::Other(format!(
                "must be mounted on an ordinary directory: {} in the rootfs is {what}",
                dest.display()
            )))
        }
        Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(Error::sys(format!("stat {} in rootfs", dest.display()), e)),
    }
}

/// A filesystem mount (proc, tmpfs, sysfs, mqueue, ...).
fn mount_fs(ctx: &Ctx, m: &Mount, typ: &str, parsed: &flags::Parsed) -> Result<()> {
    let dest = m.destination();
    if typ == "proc" || typ == "sysfs" {
        check_ordinary_dir(ctx, dest)?;
    }
    // tmpcopyup: hold the directory the tmpfs will hide.
    let lower = match (parsed.copy_up && typ == "tmpfs").then(|| ctx.root.resolve(dest)) {
        Some(Ok(h)) => {
            Some(copyup::open_dir(h.as_raw_fd(), ".".as_ref()).ctx(|| "tmpcopyup".into())?)
        }
        _ => None,
    };
    let target = ctx.root.mkdir_all(dest)?;
    let tp = fd_path(&target);
    let src = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
    let data = parsed.data.join(",");
    let data = (!data.is_empty()).then_some(data.as_str());
    let fl = parsed.flags;
    match mount(Some(&src), &tp, Some(typ), fl, data) {
        // Without its own network namespace a container can't mount sysfs:
        // bind the host's instead, as runc does.
        Err(Error::Sys {
            errno: Errno::EPERM,
            ..
        }) if typ == "sysfs" => {
            mount(
                Some(Path::new("/sys")),
                &tp,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            )?;
            let mounted = ctx.root.resolve(dest)?;
            remount_bind(&fd_path(&mounted), fl)?;
        }
        // mqueue needs its own ipc namespace; fall back the same way.
        Err(Error::Sys {
            errno: Errno::EPERM,
            ..
        }) if typ == "mqueue" => {
            mount(
                Some(Path::new("/dev/mqueue")),
                &tp,
                None,
                MsFlags::MS_BIND,
                None,
            )?;
            let mounted = ctx.root.resolve(dest)?;
            remount_bind(&fd_path(&mounted), fl)?;
        }
        other => other?,
    }
    if lower.is_none() && parsed.propagation.is_empty() {
        return Ok(());
    }
    // The handle still names the directory under the new mount: re-resolve.
    let mounted = ctx.root.resolve(dest)?;
    if let Some(lower) = lower {
        let upper =
            copyup::open_dir(mounted.as_raw_fd(), ".".as_ref()).ctx(|| "tmpcopyup".into())?;
        copyup::copy_tree(&lower, &upper)?;
    }
    apply_propagation(&fd_path(&mounted), parsed.propagation)
}

fn bind(ctx: &Ctx, i: usize, m: &Mount, parsed: &flags::Parsed) -> Result<()> {
    let src = m
        .source()
        .as_ref()
        .ok_or_else(|| Error::Other("bind mount without a source".into()))?;
    let src = if src.is_absolute() {
        src.clone()
    } else {
        ctx.bundle.join(src)
    };
    let meta = std::fs::metadata(&src)
        .map_err(|e| Error::Other(format!("source {}: {e}", src.display())))?;
    let target = if meta.is_dir() {
        ctx.root.mkdir_all(m.destination())?
    } else {
        ctx.root.touch(m.destination())?
    };
    if let Some(o) = parsed.data.first() {
        return Err(Error::Other(format!(
            "option {o:?}: bind mounts take no filesystem options"
        )));
    }
    let rec = parsed.flags.contains(MsFlags::MS_REC);
    if idmap::wanted(m, parsed) {
        idmap::bind(&src, rec, target.as_fd(), &|tree| (ctx.idmap)(i, tree))?;
    } else {
        let base = MsFlags::MS_BIND | (parsed.flags & MsFlags::MS_REC);
        mount(Some(&src), &fd_path(&target), None, base, None)?;
    }
    if remount_flags(parsed.flags).is_empty() && parsed.propagation.is_empty() {
        return Ok(());
    }
    // Keep the handle open while its /proc/self/fd path is in use.
    let mounted = ctx.root.resolve(m.destination())?;
    remount_bind(&fd_path(&mounted), parsed.flags)?;
    apply_propagation(&fd_path(&mounted), parsed.propagation)
}

/// The flags beyond the bind itself, which only a remount applies.
fn remount_flags(fl: MsFlags) -> MsFlags {
    fl - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT)
}

/// Bind mounts ignore flags on the first call: a remount applies them.
/// In a user namespace the kernel locks some flags, so keep those set.
pub fn remount_bind(target: &Path, fl: MsFlags) -> Result<()> {
    let extra = remount_flags(fl);
    if extra.is_empty() {
        return Ok(());
    }
    let want = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | extra;
    match mount(None, target, None, want, None) {
        Err(Error::Sys {
            errno: Errno::EPERM,
            ..
        }) => {
            let locked = current_flags(target);
            mount(None, target, None, want | locked, None)
        }
        other => other,
    }
}

/// The mount flags statvfs reports for a path (those a remount must keep).
pub fn current_flags(path: &Path) -> MsFlags {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(s) = statvfs(path) else {
        return MsFlags::empty();
    };
    let f = s.flags();
    let mut out = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            out |= ms;
        }
    }
    out
}

fn apply_propagation(target: &Path, prop: MsFlags) -> Result<()> {
    // Each propagation type is its own mount(2) call.
    for f in [
        MsFlags::MS_SHARED,
        MsFlags::MS_SLAVE,
        MsFlags::MS_PRIVATE,
        MsFlags::MS_UNBINDABLE,
    ] {
        if prop.contains(f) {
            mount(None, target, None, f | (prop & MsFlags::MS_REC), None)?;
        }
    }
    Ok(())
}
