//! Unpacked layers: layers/<chain id hex>, each one layer's files in
//! overlayfs's lower-dir form (whiteouts as 0:0 char devices, opaque dirs by
//! xattr), so RUN steps and containers stack them without re-extracting.

use std::fs;
use std::path::{Path, PathBuf};

use super::{io_at, Result, Store, StoreError};
use crate::digest::{chain_id, Digest, HashReader};
use crate::image::Descriptor;
use crate::layer::{self, ApplyMode, Limits};

impl Store {
    pub fn layer_dir(&self, chain: &Digest) -> PathBuf {
        self.layers_dir().join(chain.hex())
    }

    pub fn has_layer_dir(&self, chain: &Digest) -> bool {
        self.layer_dir(chain).is_dir()
    }

    /// Moves a finished upper dir into place as the layer `chain`; another
    /// build may have published the same one first: then ours goes.
    pub fn publish_layer_dir(&self, dir: &Path, chain: &Digest) -> Result<PathBuf> {
        let to = self.layer_dir(chain);
        if to.exists() {
            super::tmp::remove_tree(dir);
            return Ok(to);
        }
        // No fsync: a layer dir lost in a crash is unpacked again from its
        // blob (which is durable), and the cache checks that it is there.
        match std::fs::rename(dir, &to) {
            Ok(()) => Ok(to),
            Err(_) if to.exists() => {
                super::tmp::remove_tree(dir);
                Ok(to)
            }
            Err(e) => Err(io_at(&to)(e)),
        }
    }

    /// The lower dirs of an image, bottom first, unpacking any layer whose
    /// dir is missing (loaded or imported images, a store copied without
    /// them) from its blob, with both digests checked.
    pub fn unpacked_layers(
        &self,
        diff_ids: &[Digest],
        layers: &[Descriptor],
    ) -> Result<Vec<PathBuf>> {
        if diff_ids.len() != layers.len() {
            return Err(StoreError::Layer(format!(
                "the image config lists {} diff_ids but its manifest {} layers",
                diff_ids.len(),
                layers.len()
            )));
        }
        let mut out = Vec::new();
        for i in 0..diff_ids.len() {
            let chain = chain_id(&diff_ids[..=i]).expect("non-empty");
            if !self.has_layer_dir(&chain) {
                self.unpack_layer(&layers[i], &diff_ids[i], &chain)?;
            }
            out.push(self.layer_dir(&chain));
        }
        Ok(out)
    }

    fn unpack_layer(&self, blob: &Descriptor, diff_id: &Digest, chain: &Digest) -> Result<()> {
        let tmp = self.temp_dir()?;
        let target = tmp.path().join("layer");
        fs::create_dir(&target).map_err(io_at(&target))?;
        let file = self.open_blob(&blob.digest)?;
        let mut hashed = HashReader::new(std::io::BufReader::with_capacity(1 << 20, file));
        let applied =
            layer::apply_layer(&mut hashed, &target, ApplyMode::Overlay, &Limits::default())
                .map_err(|e| StoreError::Layer(format!("layer {}: {e}", blob.digest)))?;
        let (actual, _) = hashed.finish();
        if actual != blob.digest {
            return Err(StoreError::Corrupt {
                digest: blob.digest,
                actual,
                path: self.blob_path(&blob.digest),
            });
        }
        if applied.diff_id != *diff_id {
            return Err(StoreError::Layer(format!(
                "layer {}: its content is {} but the image config says {diff_id}",
                blob.digest, applied.diff_id
            )));
        }
        self.publish_layer_dir(&target, chain)?;
        Ok(())
    }
}
