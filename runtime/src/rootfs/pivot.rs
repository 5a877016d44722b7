//! Switching to the new root: pivot_root, MS_MOVE + chroot with --no-pivot,
//! or chroot alone in the host's mount namespace.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use nix::mount::{umount2, MntFlags, MsFlags};
use nix::unistd::{chdir, chroot, fchdir};

use super::mount;
use crate::error::Context;
use crate::syscall::pivot_root_dot;
use crate::Result;

/// pivot_root(".", "."): the old root ends up stacked on "/" and is detached
/// right away, so no directory inside the rootfs is needed for it.
pub fn pivot(rootfs: &Path) -> Result<()> {
    let old = File::open("/").ctx(|| "open /".into())?;
    let new = File::open(rootfs).ctx(|| format!("open rootfs {}", rootfs.display()))?;
    fchdir(new.as_raw_fd()).ctx(|| "chdir to rootfs".into())?;
    pivot_root_dot().ctx(|| format!("pivot_root to {}", rootfs.display()))?;
    fchdir(old.as_raw_fd()).ctx(|| "chdir to old root".into())?;
    // Keep unmount events of the old root from reaching the host.
    mount(
        None,
        Path::new("."),
        None,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None,
    )?;
    umount2(".", MntFlags::MNT_DETACH).ctx(|| "detach old root".into())?;
    chdir("/").ctx(|| "chdir /".into())
}

pub fn move_root(rootfs: &Path) -> Result<()> {
    chdir(rootfs).ctx(|| format!("chdir {}", rootfs.display()))?;
    mount(Some(rootfs), Path::new("/"), None, MsFlags::MS_MOVE, None)?;
    chroot(".").ctx(|| "chroot".into())?;
    chdir("/").ctx(|| "chdir /".into())
}

/// chroot alone, for a container in the host's mount namespace: the host's
/// "/" stays where it is.
pub fn chroot_only(rootfs: &Path) -> Result<()> {
    chdir(rootfs).ctx(|| format!("chdir {}", rootfs.display()))?;
    chroot(".").ctx(|| "chroot".into())?;
    chdir("/").ctx(|| "chdir /".into())
}
