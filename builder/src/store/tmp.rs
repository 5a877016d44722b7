//! Temp dirs under the store's tmp/: each held by a flock on its `.lock`
//! file for the owner's life, so the next open removes those of dead owners
//! (SIGKILL included) and never one in use.

use std::fs;
use std::path::{Path, PathBuf};

use super::lock::{Lock, Mode};
use super::{io_at, Result};

pub struct TempDir {
    path: PathBuf,
    lock_path: PathBuf,
    _lock: Lock,
}

impl TempDir {
    pub fn new(parent: &Path) -> Result<TempDir> {
        let name = format!("{}-{}", std::process::id(), super::atomic::unique());
        let path = parent.join(&name);
        let lock_path = parent.join(format!("{name}.lock"));
        let lock = Lock::acquire(&lock_path, Mode::Exclusive).map_err(io_at(&lock_path))?;
        fs::create_dir(&path).map_err(io_at(&path))?;
        Ok(TempDir {
            path,
            lock_path,
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        remove_tree(&self.path);
        let _ = fs::remove_file(&self.lock_path);
    }
}

/// Where builds keep what they throw away after each step (a tmpfs); a
/// dir there is named after the build's temp dir in the store.
pub const FAST_ROOT: &str = "/run/berth-builder";

/// Removes a tree, detaching any mount left inside it first.
pub fn remove_tree(path: &Path) {
    if fs::remove_dir_all(path).is_ok() || !path.exists() {
        return;
    }
    crate::snapshot::detach_below(path);
    let _ = fs::remove_dir_all(path);
}

/// Deletes the step containers a dead builder left running (it listed
/// them in its temp dir's `runs` file before starting each).
fn delete_containers(dir: &Path) {
    let Ok(runs) = fs::read_to_string(dir.join("runs")) else {
        return;
    };
    for line in runs.lines() {
        if let Some((runtime, id)) = line.split_once('\t') {
            let _ = std::process::Command::new(runtime)
                .args(["delete", "--force", id])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// Removes the temp dirs whose owner is gone.
pub fn reclaim(tmp: &Path) {
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(stem) = name.strip_suffix(".lock") {
            if let Ok(Some(_l)) = Lock::try_acquire(&p, Mode::Exclusive) {
                delete_containers(&tmp.join(stem));
                remove_tree(&tmp.join(stem));
                remove_tree(&Path::new(FAST_ROOT).join(stem));
                let _ = fs::remove_file(&p);
            }
        } else if !tmp.join(format!("{name}.lock")).exists() {
            // A dir whose lock file is gone: its owner died between the two.
            remove_tree(&p);
        }
    }
}
