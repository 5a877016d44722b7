//! The image store: an OCI image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/…`) that skopeo, podman and umoci read as `oci:DIR`, and
//! beside it what the layout has no room for: unpacked layer dirs by chain ID
//! (overlay lower dirs), the build cache, locks and temp dirs.
//!
//! Every write is atomic (temp + fsync + rename); index.json is rewritten
//! under an exclusive lock. A crash leaves a store that opens and verifies:
//! temp dirs of dead builders are reclaimed by the next open.

pub mod atomic;
mod blobs;
pub mod cache;
mod gc;
mod holds;
mod images;
mod index;
mod layers;
pub mod lock;
mod tmp;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use gc::Collected;
pub use images::Image;
pub use index::Entry;
pub use tmp::{remove_tree, TempDir, FAST_ROOT};

use crate::digest::Digest;

pub const DEFAULT_ROOT: &str = "/var/lib/berth";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("blob {digest} is corrupted: its content hashes to {actual} ({path})")]
    Corrupt {
        digest: Digest,
        actual: Digest,
        path: PathBuf,
    },
    #[error("blob {0} is missing from the store")]
    MissingBlob(Digest),
    #[error("{path}: not valid {what}: {why}")]
    Json {
        path: PathBuf,
        what: &'static str,
        why: String,
    },
    #[error("No such image: {0}")]
    NoImage(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Layer(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Adds the path to an io error.
pub(crate) fn io_at(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An opened store.
pub struct Store {
    root: PathBuf,
}

const LAYOUT: &[u8] = b"{\"imageLayoutVersion\":\"1.0.0\"}";

impl Store {
    /// Opens the store at `root`, making it when it is not there, and reclaims
    /// what dead builders left in its temp dir.
    pub fn open(root: &Path) -> Result<Store> {
        let store = Store {
            root: root.to_path_buf(),
        };
        for dir in [
            store.blob_dir(),
            store.layers_dir(),
            store.cache_dir(),
            store.tmp_dir(),
        ] {
            fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        }
        let layout = root.join("oci-layout");
        if !layout.exists() {
            atomic::write(&layout, LAYOUT).map_err(io_at(&layout))?;
        }
        let index = root.join("index.json");
        if !index.exists() {
            let _l = store.index_lock()?;
            if !index.exists() {
                index::write(&index, &crate::image::Index::new())?;
            }
        }
        tmp::reclaim(&store.tmp_dir());
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }
    fn layers_dir(&self) -> PathBuf {
        self.root.join("layers")
    }
    fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }
    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    fn index_lock(&self) -> Result<lock::Lock> {
        let p = self.root.join("index.lock");
        lock::Lock::acquire(&p, lock::Mode::Exclusive).map_err(io_at(&p))
    }

    /// Held (shared) by a build for its whole run: collection waits for no
    /// build and deletes nothing while one runs.
    pub fn build_lock(&self) -> Result<lock::Lock> {
        let p = self.root.join("gc.lock");
        lock::Lock::acquire(&p, lock::Mode::Shared).map_err(io_at(&p))
    }

    /// A fresh temp dir, removed on drop and reclaimed after a crash.
    pub fn temp_dir(&self) -> Result<TempDir> {
        TempDir::new(&self.tmp_dir())
    }
}

impl crate::image::Index {
    pub fn new() -> Self {
        crate::image::Index {
            schema_version: 2,
            media_type: Some(crate::image::MEDIA_INDEX.into()),
            manifests: Vec::new(),
            annotations: None,
        }
    }
}
