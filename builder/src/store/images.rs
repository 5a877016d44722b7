//! Images as the verbs see them: resolved from a name, a tag, a digest or an
//! id prefix; written as config + manifest blobs and index entries, last.

use std::collections::BTreeMap;

use super::index::{self, tag_of, PARENT};
use super::{Result, Store, StoreError};
use crate::digest::Digest;
use crate::image::{Descriptor, ImageConfig, Manifest, MEDIA_CONFIG, MEDIA_MANIFEST};
use crate::reference::Reference;

/// An image of the store.
#[derive(Clone, Debug)]
pub struct Image {
    /// The manifest's descriptor (its digest is the image's RepoDigest part).
    pub manifest_desc: Descriptor,
    pub manifest: Manifest,
    pub config: ImageConfig,
    /// Every tag naming it.
    pub tags: Vec<String>,
}

impl Image {
    /// Docker's image id: the config digest.
    pub fn id(&self) -> Digest {
        self.manifest.config.digest
    }

    pub fn parent(&self) -> Option<Digest> {
        self.manifest_desc
            .annotations
            .as_ref()?
            .get(PARENT)?
            .parse()
            .ok()
    }

    /// Bytes of every layer blob (what `images` shows as SIZE is the
    /// unpacked size; this is the compressed one).
    pub fn blob_size(&self) -> u64 {
        self.manifest.layers.iter().map(|l| l.size).sum::<u64>() + self.manifest.config.size
    }
}

impl Store {
    /// Every image, once per manifest, with its tags, in index order.
    pub fn images(&self) -> Result<Vec<Image>> {
        let mut out: Vec<Image> = Vec::new();
        for e in self.entries()? {
            if let Some(img) = out
                .iter_mut()
                .find(|i| i.manifest_desc.digest == e.manifest.digest)
            {
                img.tags.extend(e.tag);
                continue;
            }
            let mut img = self.load_image(&e.manifest)?;
            img.tags.extend(e.tag);
            out.push(img);
        }
        Ok(out)
    }

    fn load_image(&self, desc: &Descriptor) -> Result<Image> {
        let manifest: Manifest = self.read_json(&desc.digest, "an image manifest")?;
        let config: ImageConfig = self.read_json(&manifest.config.digest, "an image config")?;
        let mut manifest_desc = desc.clone();
        if let Some(a) = manifest_desc.annotations.as_mut() {
            a.remove(crate::image::REF_NAME);
        }
        Ok(Image {
            manifest_desc,
            manifest,
            config,
            tags: Vec::new(),
        })
    }

    /// Finds an image as docker does: a tag (`web` = `web:latest`), a
    /// `name@sha256:` digest, or an image id (full, `sha256:`-prefixed, or a
    /// unique prefix of at least 4 hex digits).
    pub fn resolve(&self, text: &str) -> Result<Image> {
        let images = self.images()?;
        if let Ok(r) = Reference::parse(text) {
            if let Some(d) = r.digest {
                if let Some(i) = images
                    .iter()
                    .find(|i| i.manifest_desc.digest == d || i.id() == d)
                {
                    return Ok(i.clone());
                }
            } else if let Some(tag) = r.tagged() {
                if let Some(i) = images.iter().find(|i| i.tags.contains(&tag)) {
                    return Ok(i.clone());
                }
            }
        }
        let hex = text.strip_prefix("sha256:").unwrap_or(text);
        if hex.len() >= 4
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            let hits: Vec<&Image> = images
                .iter()
                .filter(|i| i.id().hex().starts_with(hex))
                .collect();
            match hits.len() {
                1 => return Ok(hits[0].clone()),
                0 => {}
                _ => {
                    return Err(StoreError::Conflict(format!(
                        "image id prefix {text:?} is ambiguous: it matches {} images",
                        hits.len()
                    )))
                }
            }
        }
        Err(StoreError::NoImage(text.to_string()))
    }

    /// Writes an image: config, manifest, then its index entries (tags, or
    /// one dangling entry without). `parent` is the config digest of the
    /// image it was built FROM.
    pub fn add_image(
        &self,
        config: &ImageConfig,
        layers: Vec<Descriptor>,
        tags: &[String],
        parent: Option<Digest>,
    ) -> Result<Image> {
        let (cd, cs) = self.put_json(config)?;
        self.add_manifest(config, (cd, cs), layers, tags, parent)
    }

    /// As `add_image`, for a config blob already in the store as it was
    /// written (a loaded image keeps its id).
    pub fn add_manifest(
        &self,
        config: &ImageConfig,
        (cd, cs): (Digest, u64),
        layers: Vec<Descriptor>,
        tags: &[String],
        parent: Option<Digest>,
    ) -> Result<Image> {
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_MANIFEST.into()),
            config: Descriptor {
                media_type: MEDIA_CONFIG.into(),
                digest: cd,
                size: cs,
                annotations: None,
                platform: None,
            },
            layers,
            annotations: None,
        };
        let (md, ms) = self.put_json(&manifest)?;
        let mut annotations = BTreeMap::new();
        annotations.insert(index::IMAGE_ID.to_string(), cd.to_string());
        if let Some(p) = parent {
            annotations.insert(PARENT.to_string(), p.to_string());
        }
        let desc = Descriptor {
            media_type: MEDIA_MANIFEST.into(),
            digest: md,
            size: ms,
            annotations: (!annotations.is_empty()).then_some(annotations),
            platform: Some(crate::image::Platform {
                architecture: config.architecture.clone(),
                os: config.os.clone(),
                variant: config.variant.clone(),
            }),
        };
        self.update_index(|ix| {
            if tags.is_empty() {
                index::set_tag(ix, &desc, None);
            }
            for t in tags {
                index::set_tag(ix, &desc, Some(t));
            }
            Ok(())
        })?;
        let mut img = self.load_image(&desc)?;
        img.tags = tags.to_vec();
        Ok(img)
    }

    /// Adds `tag` to an image.
    pub fn tag(&self, image: &Image, tag: &str) -> Result<()> {
        self.update_index(|ix| {
            index::set_tag(ix, &image.manifest_desc, Some(tag));
            Ok(())
        })
    }

    /// Removes a tag; returns whether the image is now without any tag. An
    /// image whose last tag goes keeps a dangling entry (`<none>`): `rmi`
    /// or `prune` deletes it, or it stays as the parent of a child.
    pub fn untag(&self, tag: &str) -> Result<bool> {
        self.update_index(|ix| {
            let Some(entry) = ix
                .manifests
                .iter()
                .find(|d| tag_of(d).as_deref() == Some(tag))
                .cloned()
            else {
                return Err(StoreError::NoImage(tag.to_string()));
            };
            index::remove_tag(ix, tag);
            let last = !ix.manifests.iter().any(|d| d.digest == entry.digest);
            if last {
                index::set_tag(ix, &entry, None);
            }
            Ok(last)
        })
    }

    /// The images built FROM `image` (docker's child images).
    pub fn children(&self, image: &Image) -> Result<Vec<Image>> {
        Ok(self
            .images()?
            .into_iter()
            .filter(|i| i.parent() == Some(image.id()) && i.id() != image.id())
            .collect())
    }

    /// Removes every index entry of the image.
    pub fn remove_image(&self, image: &Image) -> Result<()> {
        self.update_index(|ix| {
            index::remove_manifest(ix, &image.manifest_desc.digest);
            Ok(())
        })
    }
}
