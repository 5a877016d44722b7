//! A build's scratch space, split by cost: what becomes part of the store
//! (upper dirs, blob temp files, overlay work dirs) on the store's
//! filesystem; what is thrown away after each step (bundles, /etc/hosts,
//! mount points) on a tmpfs. On a disk mounted with `discard` every file
//! or dir with blocks that is removed costs ~3 ms; a RUN step made and
//! removed a dozen of them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::snapshot::{Parts, Snapshot, SnapshotError};
use crate::store::atomic::unique;

pub struct Scratch {
    /// The store's temp dir of this build.
    pub disk: PathBuf,
    /// Its twin on a tmpfs (or inside `disk` when there is none).
    pub fast: PathBuf,
    /// Overlay work dirs free for the next snapshot.
    works: Mutex<Vec<PathBuf>>,
}

impl Scratch {
    pub fn new(disk: &Path) -> io::Result<Scratch> {
        let name = disk.file_name().unwrap_or_default();
        let fast = Path::new(crate::store::FAST_ROOT).join(name);
        let fast = match fs::create_dir_all(&fast) {
            Ok(()) => fast,
            Err(_) => {
                let d = disk.join("fast");
                fs::create_dir_all(&d)?;
                d
            }
        };
        Ok(Scratch {
            disk: disk.to_path_buf(),
            fast,
            works: Mutex::new(Vec::new()),
        })
    }

    /// A fresh dir on the tmpfs side.
    pub fn fast_dir(&self, prefix: &str) -> io::Result<PathBuf> {
        let d = self.fast.join(format!("{prefix}-{}", unique()));
        fs::create_dir(&d)?;
        Ok(d)
    }

    /// Mounts `lowers` with a fresh upper dir; the mount point is on the
    /// tmpfs, the work dir from the pool.
    pub fn snapshot(&self, lowers: &[PathBuf]) -> Result<StepSnapshot<'_>, SnapshotError> {
        let work = self.works.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let work = work.unwrap_or_else(|| self.disk.join(format!("work-{}", unique())));
        let id = unique();
        let parts = Parts {
            upper: self.disk.join(format!("upper-{id}")),
            work: work.clone(),
            merged: self.fast.join(format!("mnt-{id}")),
            empty: self.disk.join("empty"),
        };
        let snap = Snapshot::mount_parts(lowers, &parts)?;
        Ok(StepSnapshot {
            snap,
            work,
            scratch: self,
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        crate::store::remove_tree(&self.fast);
    }
}

/// A step's snapshot; its work dir goes back to the pool when unmounted.
pub struct StepSnapshot<'a> {
    pub snap: Snapshot,
    work: PathBuf,
    scratch: &'a Scratch,
}

impl Drop for StepSnapshot<'_> {
    fn drop(&mut self) {
        if self.snap.unmount().is_ok() {
            let _ = fs::remove_dir(&self.snap.merged);
            self.scratch
                .works
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(self.work.clone());
        }
    }
}

impl std::ops::Deref for StepSnapshot<'_> {
    type Target = Snapshot;
    fn deref(&self) -> &Snapshot {
        &self.snap
    }
}

impl std::ops::DerefMut for StepSnapshot<'_> {
    fn deref_mut(&mut self) -> &mut Snapshot {
        &mut self.snap
    }
}
