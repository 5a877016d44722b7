//! Atomic JSON files and flock(2) locks.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::{io_at, RecordError, Result};
use berth_builder::store::{atomic, lock};

pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).map_err(io_at(path))?;
    serde_json::from_slice(&bytes).map_err(|e| RecordError::Corrupt {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

/// temp + fsync + rename + fsync of the dir.
pub fn write_json<T: serde::Serialize>(path: &Path, v: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(v).map_err(|e| RecordError::Corrupt {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    atomic::write(path, &bytes).map_err(io_at(path))
}

/// Makes `path` holding `bytes`, failing with AlreadyExists if it is there:
/// the content is written to a temp file first and linked into place, so a
/// reader never sees the file empty.
pub fn create_exclusive(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = atomic::temp_beside(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        // link(2) fails with EEXIST when the name is taken: the atomic claim.
        fs::hard_link(&tmp, path)?;
        atomic::sync_dir(path.parent().unwrap_or(Path::new(".")))
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// A held flock (the builder store's lock); released when dropped.
pub struct Lock {
    _held: lock::Lock,
}

impl Lock {
    pub fn exclusive(path: &Path) -> Result<Lock> {
        let held = lock::Lock::acquire(path, lock::Mode::Exclusive).map_err(io_at(path))?;
        Ok(Lock { _held: held })
    }

    /// The lock if it is free now, None if another process holds it.
    pub fn try_exclusive(path: &Path) -> io::Result<Option<Lock>> {
        Ok(lock::Lock::try_acquire(path, lock::Mode::Exclusive)?.map(|held| Lock { _held: held }))
    }
}
