//! The container's root filesystem: propagation, the spec's mounts, device
//! nodes, pivot_root, then masked and read-only paths.
//!
//! Everything before pivot_root resolves paths inside the rootfs with
//! openat2 RESOLVE_IN_ROOT (pathrs where the kernel lacks it) and mounts onto /proc/self/fd/N, so a
//! symlink in the rootfs can't send a mount or a device outside it
//! (CVE-2021-30465 class). After pivot_root the host is out of reach.

pub mod cgroupfs;
pub mod copyup;
pub mod devices;
pub mod flags;
pub mod hostns;
pub mod idmap;
pub mod mounts;
pub mod paths;
pub mod pivot;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;
use pathrs::Root;

use crate::error::Context;
use crate::{Error, Result};

/// The rootfs opened for safe resolution: openat2(RESOLVE_IN_ROOT) in one
/// syscall per path where the kernel has it (5.6+), pathrs otherwise.
pub struct SafeRoot {
    pub path: PathBuf,
    dir: OwnedFd,
    fallback: Option<Root>,
}

fn openat2_in_root(
    dir: &OwnedFd,
    rel: &Path,
    flags: libc::c_int,
) -> std::result::Result<OwnedFd, Errno> {
    let c = std::ffi::CString::new(rel.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    /// The kernel's struct open_how (libc's is non-exhaustive).
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    let how = OpenHow {
        flags: (flags | libc::O_PATH | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: openat2 with a valid dirfd, NUL-terminated path and open_how of the right size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    Errno::result(fd).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

impl SafeRoot {
    pub fn open(path: &Path) -> Result<SafeRoot> {
        let dir: OwnedFd = std::fs::File::open(path)
            .map_err(|e| Error::field("root.path", format!("{}: {e}", path.display())))?
            .into();
        let fallback = match openat2_in_root(&dir, Path::new("."), 0) {
            Err(Errno::ENOSYS) => Some(
                Root::open(path)
                    .map_err(|e| Error::field("root.path", format!("{}: {e}", path.display())))?,
            ),
            _ => None,
        };
        Ok(SafeRoot {
            path: path.to_path_buf(),
            dir,
            fallback,
        })
    }

    /// Makes (or finds) a directory inside the rootfs; returns an O_PATH handle.
    pub fn mkdir_all(&self, rel: &Path) -> Result<OwnedFd> {
        let rel = relative(rel);
        if let Some(root) = &self.fallback {
            let h = root
                .mkdir_all(&rel, &std::fs::Permissions::from_mode(0o755))
                .map_err(|e| {
                    Error::Other(format!("create directory {} in rootfs: {e}", rel.display()))
                })?;
            return Ok(h.into());
        }
        self.mkdir_in_root(&rel)
            .map_err(|e| Error::sys(format!("create directory {} in rootfs", rel.display()), e))
    }

    /// mkdir_all with openat2: the deepest existing ancestor is found from
    /// the end, each missing component is made with mkdirat in a directory
    /// resolved inside the root, and every result is resolved again from the
    /// root (a component swapped for a symlink meanwhile still resolves inside).
    fn mkdir_in_root(&self, rel: &Path) -> std::result::Result<OwnedFd, Errno> {
        if rel.as_os_str().is_empty() {
            return openat2_in_root(&self.dir, Path::new("."), libc::O_DIRECTORY);
        }
        match openat2_in_root(&self.dir, rel, libc::O_DIRECTORY) {
            Err(Errno::ENOENT) => {}
            r => return r,
        }
        let (parent, name) = match (rel.parent(), rel.file_name()) {
            (Some(p), Some(n)) => (self.mkdir_in_root(p)?, n),
            // A path ending in "..": resolved inside the root, it exists.
            _ => return openat2_in_root(&self.dir, rel, libc::O_DIRECTORY),
        };
        match nix::sys::stat::mkdirat(
            Some(parent.as_raw_fd()),
            name,
            Mode::from_bits_truncate(0o755),
        ) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
        openat2_in_root(&self.dir, rel, libc::O_DIRECTORY)
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
        if let Some(root) = &self.fallback {
            let h = root
                .resolve(&rel)
                .map_err(|e| Error::Other(format!("resolve {} in rootfs: {e}", rel.display())))?;
            return Ok(h.into());
        }
        openat2_in_root(&self.dir, &rel, 0)
            .map_err(|e| Error::sys(format!("resolve {} in rootfs", rel.display()), e))
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
