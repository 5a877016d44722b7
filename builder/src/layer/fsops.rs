//! Operations on one name inside a directory handle that pathrs resolved
//! in the root. The name is a single component (never `.`, `..` or with a
//! `/`), and no operation follows a symlink at it, so nothing here can
//! reach outside the directory the handle names.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{self, FchmodatFlags, FileStat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, linkat, symlinkat, Gid, Uid};

use super::tarread::Time;
use super::xattr;

fn io(e: nix::Error) -> io::Error {
    io::Error::from(e)
}

/// `name` in the directory `dir`.
pub(crate) struct At<'a> {
    pub dir: RawFd,
    pub name: &'a OsStr,
}

impl At<'_> {
    fn fd(&self) -> Option<RawFd> {
        Some(self.dir) // never None: that would mean AT_FDCWD
    }

    /// lstat; None when nothing is there.
    pub(crate) fn stat(&self) -> io::Result<Option<FileStat>> {
        match stat::fstatat(self.fd(), self.name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(s) => Ok(Some(s)),
            Err(nix::Error::ENOENT) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    pub(crate) fn mkdir(&self) -> io::Result<()> {
        stat::mkdirat(self.fd(), self.name, Mode::from_bits_truncate(0o700)).map_err(io)
    }

    pub(crate) fn symlink(&self, target: &OsStr) -> io::Result<()> {
        symlinkat(target, self.fd(), self.name).map_err(io)
    }

    pub(crate) fn mknod(&self, kind: SFlag, dev: libc::dev_t) -> io::Result<()> {
        stat::mknodat(self.fd(), self.name, kind, Mode::empty(), dev).map_err(io)
    }

    /// A new regular file, opened for writing; never through a symlink.
    pub(crate) fn create_file(&self) -> io::Result<File> {
        let flags =
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd =
            openat(self.fd(), self.name, flags, Mode::from_bits_truncate(0o600)).map_err(io)?;
        // SAFETY: openat just returned this fd; nothing else owns it.
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// A hardlink here to `from` (not following a symlink `from` names).
    pub(crate) fn link_from(&self, from: &At<'_>) -> io::Result<()> {
        linkat(from.fd(), from.name, self.fd(), self.name, AtFlags::empty()).map_err(io)
    }

    pub(crate) fn chown(&self, uid: u32, gid: u32) -> io::Result<()> {
        let (u, g) = (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
        fchownat(self.fd(), self.name, u, g, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(io)
    }

    /// chmod; only for what was just made here and is not a symlink
    /// (fchmodat cannot refuse to follow one).
    pub(crate) fn chmod(&self, mode: u32) -> io::Result<()> {
        let m = Mode::from_bits_truncate(mode & 0o7777);
        stat::fchmodat(self.fd(), self.name, m, FchmodatFlags::FollowSymlink).map_err(io)
    }

    pub(crate) fn times(&self, atime: Time, mtime: Time) -> io::Result<()> {
        let (a, m) = (spec(atime), spec(mtime));
        stat::utimensat(
            self.fd(),
            self.name,
            &a,
            &m,
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(io)
    }

    /// lsetxattr through the dir fd's /proc magic link: the dir is the one
    /// we hold, and the final name is not followed.
    pub(crate) fn setxattr(&self, name: &[u8], value: &[u8]) -> io::Result<()> {
        let p = PathBuf::from(format!("/proc/self/fd/{}", self.dir)).join(self.name);
        xattr::set(&p, name, value)
    }
}

pub(crate) fn spec((secs, nanos): Time) -> TimeSpec {
    TimeSpec::new(secs, nanos.min(999_999_999) as _)
}

/// Owner of an open regular file (before its mode: chown clears setuid).
pub(crate) fn file_chown(f: &File, uid: u32, gid: u32) -> io::Result<()> {
    nix::unistd::fchown(
        f.as_raw_fd(),
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
    )
    .map_err(io)
}

pub(crate) fn file_chmod(f: &File, mode: u32) -> io::Result<()> {
    stat::fchmod(f.as_raw_fd(), Mode::from_bits_truncate(mode & 0o7777)).map_err(io)
}

pub(crate) fn file_times(f: &File, atime: Time, mtime: Time) -> io::Result<()> {
    stat::futimens(f.as_raw_fd(), &spec(atime), &spec(mtime)).map_err(io)
}
