//! `tmpcopyup` (runc's, podman's default for --tmpfs): a tmpfs mounted over
//! a directory of the image starts with that directory's contents.
//!
//! The directory is opened before the mount hides it; the copy goes
//! fd-relative (*at calls, no path resolution), so nothing in the rootfs can
//! point it outside either tree.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode};

use crate::{Error, Result};

/// Opens a directory for reading from an O_PATH handle (or any dir fd).
pub fn open_dir(at: RawFd, name: &OsStr) -> std::result::Result<OwnedFd, Errno> {
    let fd = nix::fcntl::openat(
        Some(at),
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // SAFETY: openat returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Copies the tree under `from` into `to` (both directory fds): files,
/// directories, symlinks and special files, with owners and modes.
pub fn copy_tree(from: &OwnedFd, to: &OwnedFd) -> Result<()> {
    copy_dir(from, to).map_err(|(name, e)| Error::sys(format!("tmpcopyup: copy {name}"), e))
}

type CopyResult = std::result::Result<(), (String, Errno)>;

fn copy_dir(from: &OwnedFd, to: &OwnedFd) -> CopyResult {
    let dup = nix::unistd::dup(from.as_raw_fd()).map_err(|e| (".".into(), e))?;
    let mut dir = Dir::from_fd(dup).map_err(|e| (".".into(), e))?;
    for entry in dir.iter() {
        let entry = entry.map_err(|e| (".".into(), e))?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name == "." || name == ".." {
            continue;
        }
        copy_entry(from, to, name).map_err(|e| (name.to_string_lossy().into_owned(), e))?;
    }
    Ok(())
}

fn copy_entry(from: &OwnedFd, to: &OwnedFd, name: &OsStr) -> std::result::Result<(), Errno> {
    let (f, t) = (from.as_raw_fd(), to.as_raw_fd());
    let st = fstatat(Some(f), name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    let perm = Mode::from_bits_truncate(st.st_mode & 0o7777);
    let owner = |flags: AtFlags| {
        nix::unistd::fchownat(
            Some(t),
            name,
            Some(st.st_uid.into()),
            Some(st.st_gid.into()),
            flags,
        )
    };
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => {
            nix::sys::stat::mkdirat(Some(t), name, perm)?;
            let (src, dst) = (open_dir(f, name)?, open_dir(t, name)?);
            copy_dir(&src, &dst).map_err(|(_, e)| e)?;
        }
        libc::S_IFREG => {
            let src = openat_file(f, name, OFlag::O_RDONLY, Mode::empty())?;
            let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL;
            let dst = openat_file(t, name, flags, perm)?;
            std::io::copy(&mut std::fs::File::from(src), &mut std::fs::File::from(dst))
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        }
        libc::S_IFLNK => {
            let target = nix::fcntl::readlinkat(Some(f), name)?;
            let c = CString::new(target.as_bytes()).map_err(|_| Errno::EINVAL)?;
            nix::unistd::symlinkat(c.as_c_str(), Some(t), name)?;
            return owner(AtFlags::AT_SYMLINK_NOFOLLOW);
        }
        _ => {
            let kind = nix::sys::stat::SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
            nix::sys::stat::mknodat(Some(t), name, kind, perm, st.st_rdev)?;
        }
    }
    owner(AtFlags::empty())?;
    // chown clears setuid/setgid bits: the mode goes last.
    nix::sys::stat::fchmodat(
        Some(t),
        name,
        perm,
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
}

fn openat_file(
    at: RawFd,
    name: &OsStr,
    flags: OFlag,
    mode: Mode,
) -> std::result::Result<OwnedFd, Errno> {
    let fd = nix::fcntl::openat(
        Some(at),
        name,
        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        mode,
    )?;
    // SAFETY: openat returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
