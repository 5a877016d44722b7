//! Collection: blobs and layer dirs that no image and no cache record
//! names are deleted. It runs only when no build holds the store (the GC
//! lock), so nothing a build has written and not yet referenced goes.

use std::collections::HashSet;
use std::fs;

use super::lock::{Lock, Mode};
use super::{io_at, Result, Store};
use crate::digest::{chain_id, Digest};

/// What a collection freed.
#[derive(Debug, Default)]
pub struct Collected {
    pub blobs: Vec<Digest>,
    pub layer_dirs: usize,
    pub bytes: u64,
    /// False when a build was running and nothing was collected.
    pub ran: bool,
}

impl Store {
    /// Deletes unreferenced content; with `drop_cache`, the build cache first.
    pub fn collect(&self, drop_cache: bool) -> Result<Collected> {
        let p = self.root.join("gc.lock");
        let Some(_l) = Lock::try_acquire(&p, Mode::Exclusive).map_err(io_at(&p))? else {
            return Ok(Collected::default());
        };
        let records = self.cache_records().map_err(io_at(&self.cache_dir()))?;
        let mut blobs: HashSet<Digest> = HashSet::new();
        let mut chains: HashSet<Digest> = HashSet::new();
        for (path, r) in records {
            if drop_cache {
                let _ = fs::remove_file(path);
                continue;
            }
            blobs.extend(r.layer.map(|l| l.digest));
            chains.extend(r.chain);
        }
        // Layers a container still runs on stay, whatever became of its image.
        for h in self.holds() {
            chains.extend(h.chains);
        }
        for img in self.images()? {
            blobs.insert(img.manifest_desc.digest);
            blobs.insert(img.manifest.config.digest);
            blobs.extend(img.manifest.layers.iter().map(|l| l.digest));
            let ids = &img.config.rootfs.diff_ids;
            chains.extend((1..=ids.len()).filter_map(|n| chain_id(&ids[..n])));
        }
        let mut out = Collected {
            ran: true,
            ..Default::default()
        };
        for e in fs::read_dir(self.blob_dir())
            .map_err(io_at(&self.blob_dir()))?
            .flatten()
        {
            let name = e.file_name();
            let Ok(d) = Digest::parse_hex(&name.to_string_lossy()) else {
                continue;
            };
            if !blobs.contains(&d) {
                out.bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
                if fs::remove_file(e.path()).is_ok() {
                    out.blobs.push(d);
                }
            }
        }
        for e in fs::read_dir(self.layers_dir())
            .map_err(io_at(&self.layers_dir()))?
            .flatten()
        {
            let name = e.file_name();
            let Ok(d) = Digest::parse_hex(&name.to_string_lossy()) else {
                continue;
            };
            if !chains.contains(&d) {
                super::tmp::remove_tree(&e.path());
                out.layer_dirs += 1;
            }
        }
        Ok(out)
    }
}
