//! Holds: what outside the store's images still uses an image's layers.
//!
//! A container's rootfs is an overlay of the layer dirs (the shim mounts
//! them, no copy), so they must outlive an `rmi` of its image. Each user
//! writes `holds/<holder>.json` naming the image and its layer chains; the
//! collector keeps those chains, and `rmi` refuses a held image unless
//! forced (docker's "container ... is using its referenced image").

use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::images::Image;
use super::{atomic, io_at, Result, Store};
use crate::digest::{chain_id, Digest};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hold {
    /// Who holds it (the shim: `container-<id>`).
    #[serde(skip)]
    pub holder: String,
    pub image: Digest,
    pub chains: Vec<Digest>,
}

impl Store {
    fn holds_dir(&self) -> PathBuf {
        self.root.join("holds")
    }

    fn hold_path(&self, holder: &str) -> PathBuf {
        self.holds_dir().join(format!("{holder}.json"))
    }

    /// Records that `holder` uses `image`'s layers until `release`.
    pub fn hold(&self, holder: &str, image: &Image) -> Result<()> {
        let ids = &image.config.rootfs.diff_ids;
        let hold = Hold {
            holder: holder.to_string(),
            image: image.id(),
            chains: (1..=ids.len())
                .filter_map(|n| chain_id(&ids[..n]))
                .collect(),
        };
        let dir = self.holds_dir();
        fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        let path = self.hold_path(holder);
        let bytes = serde_json::to_vec(&hold).expect("a hold serializes");
        atomic::write(&path, &bytes).map_err(io_at(&path))
    }

    /// Ends a hold; one that is not there is fine.
    pub fn release(&self, holder: &str) {
        let _ = fs::remove_file(self.hold_path(holder));
    }

    /// Every hold; unreadable files are skipped (one being written).
    pub fn holds(&self) -> Vec<Hold> {
        let Ok(dir) = fs::read_dir(self.holds_dir()) else {
            return Vec::new();
        };
        dir.flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let holder = name.strip_suffix(".json")?.to_string();
                let bytes = fs::read(e.path()).ok()?;
                let h: Hold = serde_json::from_slice(&bytes).ok()?;
                Some(Hold { holder, ..h })
            })
            .collect()
    }

    /// The holders of `image`.
    pub fn holders(&self, image: &Image) -> Vec<String> {
        let id = image.id();
        self.holds()
            .into_iter()
            .filter(|h| h.image == id)
            .map(|h| h.holder)
            .collect()
    }
}
