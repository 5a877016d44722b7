//! The container's root filesystem: propagation, the spec's mounts, device
//! nodes, pivot_root, then masked and read-only paths.
//!
//! Everything before pivot_root resolves paths inside the rootfs through
//! pathrs (openat2 RESOLVE_IN_ROOT) and mounts onto /proc/self/fd/N, so a
//! symlink in the rootfs can't send a mount or a device outside it
//! (CVE-2021-30465 class). After pivot_root the host is out of reach.

pub mod cgroupfs;
pub mod devices;
pub mod flags;
pub mod mounts;
pub mod paths;
pub mod pivot;

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;
use pathrs::Root;

use crate::error::Context;
use crate::{Error, Result};

/// The rootfs opened for safe resolution.
pub struct SafeRoot {
    pub path: PathBuf,
    pub root: Root,
}

impl SafeRoot {
    pub fn open(path: &Path) -> Result<SafeRoot> {
        let root = Root::open(path)
            .map_err(|e| Error::field("root.path", format!("{}: {e}", path.display())))?;
        Ok(SafeRoot {
            path: path.to_path_buf(),
            root,
        })
    }

    /// Makes (or finds) a directory inside the rootfs; returns an O_PATH handle.
    pub fn mkdir_all(&self, rel: &Path) -> Result<OwnedFd> {
        let rel = relative(rel);
        let h = self
            .root
            .mkdir_all(&rel, &std::fs::Permissions::from_mode(0o755))
            .map_err(|e| {
                Error::Other(format!("create directory {} in rootfs: {e}", rel.display()))
            })?;
        Ok(h.into())
    }

    /// Makes (or finds) a file inside the rootfs, creating its parents.
    pub fn touch(&self, rel: &Path) -> Result<OwnedFd> {
        let rel = relative(rel);
        let (parent, name) = split(&rel)?;
        let dir = self.mkdir_all(parent)?;
        match openat(
            Some(dir.as_raw_fd()),
            name,
            OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_WRONLY,
            Mode::from_bits_truncate(0o644),
        ) {
            Ok(fd) => drop(nix::unistd::close(fd)),
            // An existing symlink or directory: resolve it inside the root below.
            Err(nix::errno::Errno::ELOOP | nix::errno::Errno::EISDIR) => {}
            Err(e) => return Err(Error::sys(format!("create {} in rootfs", rel.display()), e)),
        }
        self.resolve(&rel)
    }

    /// Resolves an existing path inside the rootfs to an O_PATH handle.
    pub fn resolve(&self, rel: &Path) -> Result<OwnedFd> {
        let rel = relative(rel);
        let h = self
            .root
            .resolve(&rel)
            .map_err(|e| Error::Other(format!("resolve {} in rootfs: {e}", rel.display())))?;
        Ok(h.into())
    }

    /// The parent directory handle and final name, for *at() calls.
    pub fn parent_of(&self, rel: &Path) -> Result<(OwnedFd, PathBuf)> {
        let rel = relative(rel);
        let (parent, name) = split(&rel)?;
        Ok((self.mkdir_all(parent)?, name.to_path_buf()))
    }
}

/// "/a/b" -> "a/b", without "." components.
fn relative(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, Component::RootDir | Component::CurDir))
        .collect()
}

fn split(rel: &Path) -> Result<(&Path, &Path)> {
    match (rel.parent(), rel.file_name()) {
        (Some(p), Some(n)) => Ok((p, Path::new(n))),
        _ => Err(Error::Other(format!("{}: not a file path", rel.display()))),
    }
}

/// The path through which an O_PATH handle can be named for mount(2).
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// mount(2) with optional source, type and data.
pub fn mount(
    src: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: nix::mount::MsFlags,
    data: Option<&str>,
) -> Result<()> {
    nix::mount::mount(src, target, fstype, flags, data).ctx(|| {
        format!(
            "mount {} on {} (type {}, flags {:#x})",
            src.map_or("none".into(), |s| s.display().to_string()),
            target.display(),
            fstype.unwrap_or("none"),
            flags.bits()
        )
    })
}
