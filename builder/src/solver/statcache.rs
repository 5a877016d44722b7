//! File digests remembered by inode and times, so a rebuild hashes only
//! what changed: COPY of 20,000 unchanged files reads none of them (what
//! BuildKit's contenthash and git's index do). A file whose mtime is
//! within two seconds of the hash is not remembered: it may change again
//! within the clock's granularity ("racy git").

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::sys::stat::FileStat;
use serde::{Deserialize, Serialize};

/// What identifies a file's content without reading it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Key {
    dev: u64,
    ino: u64,
    size: i64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

#[derive(Default)]
pub struct StatCache {
    path: Option<PathBuf>,
    map: Mutex<(HashMap<Key, [u8; 32]>, bool)>,
}

/// Entries kept at most; the file stays a few MB.
const MAX: usize = 200_000;

impl StatCache {
    /// Loads `path` (missing or unreadable: empty).
    pub fn load(path: &Path) -> StatCache {
        let map = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Vec<(Key, [u8; 32])>>(&b).ok())
            .map(|v| v.into_iter().collect())
            .unwrap_or_default();
        StatCache {
            path: Some(path.to_path_buf()),
            map: Mutex::new((map, false)),
        }
    }

    fn key(st: &FileStat) -> Key {
        Key {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size,
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
        }
    }

    pub fn get(&self, st: &FileStat) -> Option<[u8; 32]> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .get(&Self::key(st))
            .copied()
    }

    pub fn put(&self, st: &FileStat, digest: [u8; 32]) {
        let now = crate::clock::now().0;
        if st.st_mtime >= now - 2 || st.st_ctime >= now - 2 {
            return;
        }
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if m.0.len() < MAX {
            m.0.insert(Self::key(st), digest);
            m.1 = true;
        }
    }

    /// Writes the map back when it grew (a lost write is only a slower
    /// next build).
    pub fn save(&self) {
        let (Some(path), m) = (
            &self.path,
            self.map.lock().unwrap_or_else(|p| p.into_inner()),
        ) else {
            return;
        };
        if !m.1 {
            return;
        }
        let v: Vec<(&Key, &[u8; 32])> = m.0.iter().collect();
        if let Ok(bytes) = serde_json::to_vec(&v) {
            let _ = crate::store::atomic::write_volatile(path, &bytes);
        }
    }
}
