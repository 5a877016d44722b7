//! flock(2) locks on files in the store: one exclusive lock serialises index
//! writes; builds hold the GC lock shared so that no collection deletes what a
//! build has written but not yet referenced.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// A held lock; released on drop (closing the fd).
pub struct Lock {
    _file: File,
}

#[derive(Clone, Copy)]
pub enum Mode {
    Shared,
    Exclusive,
}

impl Lock {
    /// Waits for the lock.
    pub fn acquire(path: &Path, mode: Mode) -> io::Result<Lock> {
        let file = open(path)?;
        flock(&file, mode, false)?;
        Ok(Lock { _file: file })
    }

    /// Takes the lock only if it is free now.
    pub fn try_acquire(path: &Path, mode: Mode) -> io::Result<Option<Lock>> {
        let file = open(path)?;
        match flock(&file, mode, true) {
            Ok(()) => Ok(Some(Lock { _file: file })),
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

fn flock(file: &File, mode: Mode, nonblock: bool) -> io::Result<()> {
    let mut op = match mode {
        Mode::Shared => libc::LOCK_SH,
        Mode::Exclusive => libc::LOCK_EX,
    };
    if nonblock {
        op |= libc::LOCK_NB;
    }
    loop {
        // SAFETY: flock on an fd we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
