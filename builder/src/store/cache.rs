//! The build cache: cache/<step key hex>.json, what a RUN, COPY or ADD step
//! produced, so that a rebuild with the same key reuses it with no container
//! run and no layer work.

use std::io;

use serde::{Deserialize, Serialize};

use super::{atomic, io_at, Result, Store};
use crate::digest::Digest;
use crate::image::Descriptor;

/// What one step made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// The layer blob; None for a step that changed no file.
    pub layer: Option<Descriptor>,
    pub diff_id: Option<Digest>,
    /// Chain id of the stack up to and including this layer.
    pub chain: Option<Digest>,
    /// When the step ran (the history entry's `created`).
    pub created: String,
}

impl Store {
    /// The record of `key`, when it is there and everything it names is.
    pub fn cache_get(&self, key: &Digest) -> Option<Record> {
        let path = self.cache_dir().join(format!("{}.json", key.hex()));
        let bytes = std::fs::read(path).ok()?;
        let r: Record = serde_json::from_slice(&bytes).ok()?;
        if let (Some(l), Some(c)) = (&r.layer, &r.chain) {
            if !self.has_blob(&l.digest) || !self.has_layer_dir(c) {
                return None;
            }
        }
        Some(r)
    }

    pub fn cache_put(&self, key: &Digest, r: &Record) -> Result<()> {
        let path = self.cache_dir().join(format!("{}.json", key.hex()));
        let bytes = serde_json::to_vec(r).expect("record serialises");
        atomic::write_volatile(&path, &bytes).map_err(io_at(&path))
    }

    /// Every record (for collection).
    pub(super) fn cache_records(&self) -> io::Result<Vec<(std::path::PathBuf, Record)>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.cache_dir())? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "json") {
                if let Ok(r) = std::fs::read(&p)
                    .map_err(|_| ())
                    .and_then(|b| serde_json::from_slice(&b).map_err(|_| ()))
                {
                    out.push((p, r));
                }
            }
        }
        Ok(out)
    }
}
