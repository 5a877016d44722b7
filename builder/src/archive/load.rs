//! Reading archives: the tar is extracted by the hardened applier into a
//! temp dir (it is hostile input), every image of it is read and every blob
//! verified there, and only then do the blobs move into the store and the
//! images into the index: a refused archive leaves nothing behind.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{io_at, ArchiveError, Result};
use crate::digest::{Digest, HashReader, HashWriter};
use crate::image::{
    host_platform, Descriptor, ImageConfig, Index, Manifest, MEDIA_LAYER_GZIP, MEDIA_LAYER_TAR,
    MEDIA_LAYER_ZSTD, REF_NAME,
};
use crate::layer::{self, ApplyMode, Limits};
use crate::reference::Reference;
use crate::store::Store;

/// An image read from the archive, its blobs verified, not yet stored.
struct Staged {
    config: ImageConfig,
    config_blob: (Digest, u64),
    layers: Vec<Descriptor>,
    tags: Vec<String>,
    /// Files of the extracted archive and the digest each was checked to have.
    files: Vec<(PathBuf, Digest)>,
}

/// Loads every image of the archive; returns the names (or ids) loaded.
pub fn load(store: &Store, input: &mut dyn Read) -> Result<Vec<String>> {
    // Blobs moved in are unreferenced until the index names them: no
    // collection may run meanwhile.
    let _held = store.build_lock()?;
    let tmp = store.temp_dir()?;
    let dir = tmp.path().join("archive");
    std::fs::create_dir(&dir).map_err(io_at(&dir))?;
    layer::apply_layer(input, &dir, ApplyMode::Flat, &Limits::default())
        .map_err(|e| ArchiveError::Bad(format!("not a readable image archive: {e}")))?;
    let staged = if dir.join("index.json").is_file() {
        stage_oci(&dir)?
    } else if dir.join("manifest.json").is_file() {
        stage_docker(&dir)?
    } else {
        return Err(ArchiveError::Bad(
            "not an OCI or docker image archive: it has neither index.json nor manifest.json"
                .into(),
        ));
    };
    commit(store, staged)
}

/// Moves the verified blobs in, then indexes the images.
fn commit(store: &Store, staged: Vec<Staged>) -> Result<Vec<String>> {
    for s in &staged {
        for (path, d) in &s.files {
            if !store.has_blob(d) {
                // The archive chose the file's mode: blobs are plain 0644.
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
                    .map_err(io_at(path))?;
                store.ingest_file(path, d)?;
            }
        }
    }
    let mut names = Vec::new();
    for s in staged {
        store.add_manifest(&s.config, s.config_blob, s.layers, &s.tags, None)?;
        if s.tags.is_empty() {
            names.push(s.config_blob.0.to_string());
        }
        names.extend(s.tags);
    }
    Ok(names)
}

/// The archive's file `rel`, opened only when it is a regular file inside
/// `dir` (no symlink out of it, no `..`).
fn open_inside(dir: &Path, rel: &str) -> Result<(File, PathBuf)> {
    let clean = rel.trim_start_matches('/');
    if clean.split('/').any(|c| c == "..") {
        return Err(ArchiveError::Bad(format!(
            "the archive names {rel:?}, outside the archive"
        )));
    }
    let path = dir.join(clean);
    let missing = || ArchiveError::Bad(format!("{rel} is missing from the archive"));
    let real = path.canonicalize().map_err(|_| missing())?;
    let base = dir.canonicalize().map_err(io_at(dir))?;
    let meta = std::fs::symlink_metadata(&path).map_err(|_| missing())?;
    if !real.starts_with(&base) || !meta.is_file() {
        return Err(ArchiveError::Bad(format!(
            "{rel} in the archive is not a regular file"
        )));
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(io_at(&path))?;
    Ok((f, path))
}

fn read_json<T: serde::de::DeserializeOwned>(dir: &Path, rel: &str) -> Result<T> {
    let (mut f, path) = open_inside(dir, rel)?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(io_at(&path))?;
    serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Bad(format!("{rel}: {e}")))
}

/// Hashes and fsyncs an archive file; refuses it when it is not `want`.
fn verify(dir: &Path, rel: &str, want: Option<&Digest>) -> Result<(PathBuf, Digest, u64)> {
    let (f, path) = open_inside(dir, rel)?;
    let mut r = HashReader::new(BufReader::with_capacity(1 << 20, f));
    io::copy(&mut r, &mut io::sink()).map_err(io_at(&path))?;
    let (d, n) = r.finish();
    if let Some(w) = want.filter(|w| **w != d) {
        return Err(ArchiveError::Bad(format!(
            "blob {w} of the archive does not match its digest: its content is {d}"
        )));
    }
    File::open(&path)
        .and_then(|f| f.sync_all())
        .map_err(io_at(&path))?;
    Ok((path, d, n))
}

/// A blob of the OCI layout, verified; parsed as JSON when asked.
fn oci_blob(dir: &Path, d: &Digest, files: &mut Vec<(PathBuf, Digest)>) -> Result<PathBuf> {
    let rel = format!("blobs/sha256/{}", d.hex());
    let (path, _, _) = verify(dir, &rel, Some(d))?;
    files.push((path.clone(), *d));
    Ok(path)
}

fn oci_json<T: serde::de::DeserializeOwned>(
    dir: &Path,
    d: &Digest,
    files: &mut Vec<(PathBuf, Digest)>,
) -> Result<T> {
    oci_blob(dir, d, files)?;
    read_json(dir, &format!("blobs/sha256/{}", d.hex()))
}

fn stage_oci(dir: &Path) -> Result<Vec<Staged>> {
    let index: Index = read_json(dir, "index.json")?;
    let mut out = Vec::new();
    for desc in &index.manifests {
        let mut files = Vec::new();
        let manifest_desc = pick_manifest(dir, desc, &mut files)?;
        let manifest: Manifest = oci_json(dir, &manifest_desc.digest, &mut files)?;
        let config: ImageConfig = oci_json(dir, &manifest.config.digest, &mut files)?;
        for l in &manifest.layers {
            oci_blob(dir, &l.digest, &mut files)?;
        }
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(ArchiveError::Bad(format!(
                "image {}: config and manifest disagree on the layer count",
                manifest.config.digest
            )));
        }
        out.push(Staged {
            config,
            config_blob: (manifest.config.digest, manifest.config.size),
            layers: manifest.layers,
            tags: oci_name(desc).into_iter().collect(),
            files,
        });
    }
    Ok(out)
}

/// The tag of an index entry: containerd's full name, else the ref name
/// (a bare tag there, as skopeo writes `oci-archive:F:latest`, names none).
fn oci_name(desc: &Descriptor) -> Option<String> {
    let a = desc.annotations.as_ref()?;
    if let Some(full) = a.get("io.containerd.image.name") {
        return Reference::parse(full).ok()?.tagged();
    }
    let raw = a.get(REF_NAME)?;
    if !raw.contains(':') && !raw.contains('/') {
        return None;
    }
    Reference::parse(raw).ok()?.tagged()
}

/// An entry that is an index (multi-platform) gives the host's manifest.
fn pick_manifest(
    dir: &Path,
    desc: &Descriptor,
    files: &mut Vec<(PathBuf, Digest)>,
) -> Result<Descriptor> {
    let is_index = desc.media_type.contains("index") || desc.media_type.contains("manifest.list");
    if !is_index {
        return Ok(desc.clone());
    }
    let inner: Index = oci_json(dir, &desc.digest, files)?;
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

fn stage_docker(dir: &Path) -> Result<Vec<Staged>> {
    let entries: Vec<DockerEntry> = read_json(dir, "manifest.json")?;
    let mut out = Vec::new();
    for e in entries {
        let (cfg_path, cd, cs) = verify(dir, &e.config, None)?;
        let config: ImageConfig = read_json(dir, &e.config)?;
        if config.rootfs.diff_ids.len() != e.layers.len() {
            return Err(ArchiveError::Bad(format!(
                "{}: the config lists {} layers, manifest.json {}",
                e.config,
                config.rootfs.diff_ids.len(),
                e.layers.len()
            )));
        }
        let mut files = vec![(cfg_path, cd)];
        let mut layers = Vec::new();
        for (name, want) in e.layers.iter().zip(&config.rootfs.diff_ids) {
            let (desc, path) = docker_layer(dir, name, want)?;
            files.push((path, desc.digest));
            layers.push(desc);
        }
        let tags = e
            .repo_tags
            .unwrap_or_default()
            .iter()
            .filter_map(|t| Reference::parse(t).ok()?.tagged())
            .collect();
        out.push(Staged {
            config,
            config_blob: (cd, cs),
            layers,
            tags,
            files,
        });
    }
    Ok(out)
}

/// A docker layer file (a tar, or compressed by newer dockers) as a blob,
/// its uncompressed digest checked against the config's diffID.
fn docker_layer(dir: &Path, name: &str, want: &Digest) -> Result<(Descriptor, PathBuf)> {
    let (mut f, path) = open_inside(dir, name)?;
    let mut head = [0u8; 4];
    let n = f.read(&mut head).map_err(io_at(&path))?;
    let media = match &head[..n] {
        [0x1f, 0x8b, ..] => MEDIA_LAYER_GZIP,
        [0x28, 0xb5, 0x2f, 0xfd] => MEDIA_LAYER_ZSTD,
        _ => MEDIA_LAYER_TAR,
    };
    let (f, _) = open_inside(dir, name)?;
    let mut hw = HashWriter::new(io::sink());
    let bad = |e: io::Error| ArchiveError::Bad(format!("layer {name} of the archive: {e}"));
    io::copy(
        &mut layer::decompress(Box::new(BufReader::new(f))).map_err(bad)?,
        &mut hw,
    )
    .map_err(bad)?;
    let (diff_id, _, _) = hw.finish();
    if diff_id != *want {
        return Err(ArchiveError::Bad(format!(
            "layer {name} of the archive: its content is {diff_id}, the config says {want}"
        )));
    }
    let (path, digest, size) = verify(dir, name, None)?;
    let desc = Descriptor {
        media_type: media.into(),
        digest,
        size,
        annotations: None,
        platform: None,
    };
    Ok((desc, path))
}
