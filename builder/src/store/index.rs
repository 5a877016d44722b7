//! index.json: one entry per (manifest, tag); an image without a tag is an
//! entry without the ref-name annotation (docker's `<none>`, dangling).

use std::path::Path;

use super::{atomic, io_at, Result, Store, StoreError};
use crate::digest::Digest;
use crate::image::{Descriptor, Index, REF_NAME};

/// The annotation naming the image an image was built FROM (its config
/// digest): `rmi` refuses to delete a parent of a present image.
pub const PARENT: &str = "io.berth.image.parent";
/// The image id (config digest) of an entry: a tagged entry replaces the
/// dangling entries of the same image (a load of another manifest of it).
pub const IMAGE_ID: &str = "io.berth.image.id";

pub fn read(path: &Path) -> Result<Index> {
    let bytes = std::fs::read(path).map_err(io_at(path))?;
    serde_json::from_slice(&bytes).map_err(|e| StoreError::Json {
        path: path.to_path_buf(),
        what: "an OCI image index",
        why: e.to_string(),
    })
}

pub fn write(path: &Path, index: &Index) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(index).expect("index serialises");
    atomic::write(path, &bytes).map_err(io_at(path))
}

/// An index entry, as the verbs see it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub manifest: Descriptor,
    pub tag: Option<String>,
}

pub fn tag_of(d: &Descriptor) -> Option<String> {
    d.annotations.as_ref()?.get(REF_NAME).cloned()
}

impl Store {
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let index = read(&self.index_path())?;
        Ok(index
            .manifests
            .into_iter()
            .map(|m| Entry {
                tag: tag_of(&m),
                manifest: m,
            })
            .collect())
    }

    /// Applies `change` to index.json under the index lock.
    pub fn update_index<T>(&self, change: impl FnOnce(&mut Index) -> Result<T>) -> Result<T> {
        let _l = self.index_lock()?;
        let path = self.index_path();
        let mut index = read(&path)?;
        let out = change(&mut index)?;
        write(&path, &index)?;
        Ok(out)
    }
}

/// Points `tag` (or, with None, a dangling entry) at `manifest`. The image
/// the tag left keeps a dangling entry when nothing else names it.
pub fn set_tag(index: &mut Index, manifest: &Descriptor, tag: Option<&str>) {
    let same = |d: &Descriptor| d.digest == manifest.digest;
    if let Some(t) = tag {
        if let Some(pos) = index
            .manifests
            .iter()
            .position(|d| tag_of(d).as_deref() == Some(t))
        {
            let old = index.manifests.remove(pos);
            let old_digest = old.digest;
            if old_digest != manifest.digest
                && !index.manifests.iter().any(|d| d.digest == old_digest)
            {
                index.manifests.push(untagged(old));
            }
        }
        let id = image_id(manifest);
        index
            .manifests
            .retain(|d| !((same(d) || (id.is_some() && image_id(d) == id)) && tag_of(d).is_none()));
        let mut entry = manifest.clone();
        entry
            .annotations
            .get_or_insert_with(Default::default)
            .insert(REF_NAME.into(), t.into());
        index.manifests.push(entry);
    } else if !index.manifests.iter().any(same) {
        index.manifests.push(untagged(manifest.clone()));
    }
}

fn image_id(d: &Descriptor) -> Option<&String> {
    d.annotations.as_ref()?.get(IMAGE_ID)
}

fn untagged(mut d: Descriptor) -> Descriptor {
    if let Some(a) = d.annotations.as_mut() {
        a.remove(REF_NAME);
    }
    d
}

/// Removes the entry for `tag`; true when it was there.
pub fn remove_tag(index: &mut Index, tag: &str) -> bool {
    let before = index.manifests.len();
    index
        .manifests
        .retain(|d| tag_of(d).as_deref() != Some(tag));
    before != index.manifests.len()
}

/// Removes every entry of the manifest `digest`.
pub fn remove_manifest(index: &mut Index, digest: &Digest) {
    index.manifests.retain(|d| d.digest != *digest);
}
