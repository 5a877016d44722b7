//! Reading archives: the tar is extracted by the hardened applier into a
//! temp dir (it is hostile input), then every blob goes into the store with
//! its digest checked, and the images are indexed last.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde::Deserialize;

use super::{io_at, ArchiveError, Result};
use crate::digest::{Digest, HashWriter};
use crate::image::{
    host_platform, Descriptor, ImageConfig, Index, Manifest, MEDIA_LAYER_GZIP, MEDIA_LAYER_TAR,
    MEDIA_LAYER_ZSTD, REF_NAME,
};
use crate::layer::{self, ApplyMode, Limits};
use crate::reference::Reference;
use crate::store::Store;

/// Loads every image of the archive; returns the names (or ids) loaded.
pub fn load(store: &Store, input: &mut dyn Read) -> Result<Vec<String>> {
    let tmp = store.temp_dir()?;
    let dir = tmp.path().join("archive");
    std::fs::create_dir(&dir).map_err(io_at(&dir))?;
    layer::apply_layer(input, &dir, ApplyMode::Flat, &Limits::default())
        .map_err(|e| ArchiveError::Bad(format!("not a readable image archive: {e}")))?;
    if dir.join("index.json").is_file() {
        load_oci(store, &dir)
    } else if dir.join("manifest.json").is_file() {
        load_docker(store, &dir)
    } else {
        Err(ArchiveError::Bad(
            "not an OCI or docker image archive: it has neither index.json nor manifest.json"
                .into(),
        ))
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(io_at(path))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ArchiveError::Bad(format!(
            "{}: {e}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ))
    })
}

/// Copies a blob of the layout into the store, checking its digest.
fn ingest(store: &Store, dir: &Path, d: &Digest) -> Result<()> {
    if store.has_blob(d) {
        return Ok(());
    }
    let path = dir.join("blobs/sha256").join(d.hex());
    let mut f = File::open(&path)
        .map_err(|_| ArchiveError::Bad(format!("blob {d} is missing from the archive")))?;
    store.put_stream(&mut f, Some(d))?;
    Ok(())
}

fn load_oci(store: &Store, dir: &Path) -> Result<Vec<String>> {
    let index: Index = read_json(&dir.join("index.json"))?;
    let mut names = Vec::new();
    for desc in &index.manifests {
        let manifest_desc = pick_manifest(store, dir, desc)?;
        ingest(store, dir, &manifest_desc.digest)?;
        let manifest: Manifest = store.read_json(&manifest_desc.digest, "an image manifest")?;
        ingest(store, dir, &manifest.config.digest)?;
        let config: ImageConfig = store.read_json(&manifest.config.digest, "an image config")?;
        for l in &manifest.layers {
            ingest(store, dir, &l.digest)?;
        }
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(ArchiveError::Bad(format!(
                "image {}: config and manifest disagree on the layer count",
                manifest.config.digest
            )));
        }
        let tag = oci_name(desc);
        let tags: Vec<String> = tag.iter().cloned().collect();
        let cd = (manifest.config.digest, manifest.config.size);
        store.add_manifest(&config, cd, manifest.layers.clone(), &tags, None)?;
        names.push(tag.unwrap_or_else(|| manifest.config.digest.to_string()));
    }
    Ok(names)
}

/// The tag of an index entry: containerd's full name, else the ref name.
fn oci_name(desc: &Descriptor) -> Option<String> {
    let a = desc.annotations.as_ref()?;
    let raw = a
        .get("io.containerd.image.name")
        .or_else(|| a.get(REF_NAME))?;
    Reference::parse(raw).ok()?.tagged()
}

/// An entry that is an index (multi-platform) gives the host's manifest.
fn pick_manifest(store: &Store, dir: &Path, desc: &Descriptor) -> Result<Descriptor> {
    let is_index = desc.media_type.contains("index") || desc.media_type.contains("manifest.list");
    if !is_index {
        return Ok(desc.clone());
    }
    ingest(store, dir, &desc.digest)?;
    let inner: Index = store.read_json(&desc.digest, "an image index")?;
    let host = host_platform();
    inner
        .manifests
        .iter()
        .find(|m| {
            m.platform
                .as_ref()
                .is_some_and(|p| p.os == host.os && p.architecture == host.architecture)
        })
        .or_else(|| inner.manifests.first())
        .cloned()
        .ok_or_else(|| ArchiveError::Bad(format!("index {} lists no manifest", desc.digest)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// A path named by manifest.json, kept inside the archive dir.
fn inside(dir: &Path, name: &str) -> Result<std::path::PathBuf> {
    let rel = name.trim_start_matches('/');
    if rel.split('/').any(|c| c == "..") {
        return Err(ArchiveError::Bad(format!(
            "manifest.json names {name:?}, outside the archive"
        )));
    }
    Ok(dir.join(rel))
}

fn load_docker(store: &Store, dir: &Path) -> Result<Vec<String>> {
    let entries: Vec<DockerEntry> = read_json(&dir.join("manifest.json"))?;
    let mut names = Vec::new();
    for e in entries {
        let cfg_path = inside(dir, &e.config)?;
        let mut f = File::open(&cfg_path).map_err(io_at(&cfg_path))?;
        let cd = store.put_stream(&mut f, None)?;
        let config: ImageConfig = store.read_json(&cd.0, "an image config")?;
        if config.rootfs.diff_ids.len() != e.layers.len() {
            return Err(ArchiveError::Bad(format!(
                "{}: the config lists {} layers, manifest.json {}",
                e.config,
                config.rootfs.diff_ids.len(),
                e.layers.len()
            )));
        }
        let mut layers = Vec::new();
        for (name, want) in e.layers.iter().zip(&config.rootfs.diff_ids) {
            layers.push(docker_layer(store, &inside(dir, name)?, want)?);
        }
        let tags: Vec<String> = e
            .repo_tags
            .unwrap_or_default()
            .iter()
            .filter_map(|t| Reference::parse(t).ok()?.tagged())
            .collect();
        store.add_manifest(&config, cd, layers, &tags, None)?;
        if tags.is_empty() {
            names.push(cd.0.to_string());
        }
        names.extend(tags);
    }
    Ok(names)
}

/// A docker layer file (a tar, or compressed by newer dockers) as a blob,
/// its uncompressed digest checked against the config's diffID.
fn docker_layer(store: &Store, path: &Path, want: &Digest) -> Result<Descriptor> {
    let mut head = [0u8; 4];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(io_at(path))?;
    let media = match &head[..n] {
        [0x1f, 0x8b, ..] => MEDIA_LAYER_GZIP,
        [0x28, 0xb5, 0x2f, 0xfd] => MEDIA_LAYER_ZSTD,
        _ => MEDIA_LAYER_TAR,
    };
    let f = File::open(path).map_err(io_at(path))?;
    let mut hw = HashWriter::new(io::sink());
    io::copy(
        &mut layer::decompress(Box::new(BufReader::new(f))).map_err(io_at(path))?,
        &mut hw,
    )
    .map_err(io_at(path))?;
    let (diff_id, _, _) = hw.finish();
    if diff_id != *want {
        return Err(ArchiveError::Bad(format!(
            "{}: its content is {diff_id}, the config says {want}",
            path.display()
        )));
    }
    let mut f = File::open(path).map_err(io_at(path))?;
    let (digest, size) = store.put_stream(&mut f, None)?;
    Ok(Descriptor {
        media_type: media.into(),
        digest,
        size,
        annotations: None,
        platform: None,
    })
}
