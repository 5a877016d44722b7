//! Writing archives: every blob streamed from the store into the tar.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use serde_json::json;

use super::{io_at, ArchiveError, Result};
use crate::digest::Digest;
use crate::image::{Index, REF_NAME};
use crate::store::{Image, Store};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    Oci,
    Docker,
}

/// Writes `images` (with the tags given, or all of theirs) to `out`
/// atomically: a temp file renamed into place when complete.
pub fn save(
    store: &Store,
    images: &[(Image, Vec<String>)],
    format: Format,
    out: &Path,
) -> Result<()> {
    let tmp = crate::store::atomic::temp_beside(out);
    let result = (|| {
        let file = File::create(&tmp).map_err(io_at(out))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        save_to(store, images, format, &mut w)?;
        let f = w.into_inner().map_err(|e| io_at(out)(e.into_error()))?;
        f.sync_all().map_err(io_at(out))?;
        std::fs::rename(&tmp, out).map_err(io_at(out))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes the archive to a stream (`save` without -o: stdout).
pub fn save_to(
    store: &Store,
    images: &[(Image, Vec<String>)],
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let mut tar = tar::Builder::new(out);
    match format {
        Format::Oci => write_oci(store, images, &mut tar)?,
        Format::Docker => write_docker(store, images, &mut tar)?,
    }
    tar.into_inner()
        .and_then(|w| w.flush())
        .map_err(io_at(Path::new("the archive")))
}

fn header(size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

fn add_bytes<W: Write>(tar: &mut tar::Builder<W>, name: &str, bytes: &[u8]) -> Result<()> {
    let mut h = header(bytes.len() as u64, 0o644);
    tar.append_data(&mut h, name, bytes)
        .map_err(|e| ArchiveError::Io {
            path: name.into(),
            err: e,
        })
}

fn add_dir<W: Write>(tar: &mut tar::Builder<W>, name: &str) -> Result<()> {
    let mut h = header(0, 0o755);
    h.set_entry_type(tar::EntryType::Directory);
    tar.append_data(&mut h, name, io::empty())
        .map_err(|e| ArchiveError::Io {
            path: name.into(),
            err: e,
        })
}

/// A blob, streamed; its digest checked on the way.
fn add_blob<W: Write>(
    store: &Store,
    tar: &mut tar::Builder<W>,
    name: &str,
    d: &Digest,
    size: u64,
) -> Result<()> {
    let f = store.open_blob(d)?;
    let mut r = crate::digest::HashReader::new(f);
    let mut h = header(size, 0o644);
    tar.append_data(&mut h, name, &mut r)
        .map_err(|e| ArchiveError::Io {
            path: name.into(),
            err: e,
        })?;
    let (actual, _) = r.finish();
    if actual != *d {
        return Err(crate::store::StoreError::Corrupt {
            digest: *d,
            actual,
            path: store.blob_path(d),
        }
        .into());
    }
    Ok(())
}

fn write_oci<W: Write>(
    store: &Store,
    images: &[(Image, Vec<String>)],
    tar: &mut tar::Builder<W>,
) -> Result<()> {
    add_bytes(tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let mut index = Index::new();
    add_dir(tar, "blobs/")?;
    add_dir(tar, "blobs/sha256/")?;
    let mut written = std::collections::HashSet::new();
    for (img, tags) in images {
        let mut blobs = vec![
            (img.manifest_desc.digest, img.manifest_desc.size),
            (img.manifest.config.digest, img.manifest.config.size),
        ];
        blobs.extend(img.manifest.layers.iter().map(|l| (l.digest, l.size)));
        for (d, size) in blobs {
            if written.insert(d) {
                add_blob(store, tar, &format!("blobs/sha256/{}", d.hex()), &d, size)?;
            }
        }
        let names: Vec<Option<&String>> = if tags.is_empty() {
            vec![None]
        } else {
            tags.iter().map(Some).collect()
        };
        for t in names {
            let mut desc = img.manifest_desc.clone();
            let mut ann = BTreeMap::new();
            if let Some(t) = t {
                ann.insert(REF_NAME.to_string(), t.clone());
                ann.insert("io.containerd.image.name".to_string(), full_name(t));
            }
            desc.annotations = (!ann.is_empty()).then_some(ann);
            index.manifests.push(desc);
        }
    }
    add_bytes(
        tar,
        "index.json",
        &serde_json::to_vec(&index).unwrap_or_default(),
    )
}

/// `web:v1` -> `docker.io/library/web:v1`, as containerd names images.
fn full_name(t: &str) -> String {
    let (repo, _) = t.rsplit_once(':').unwrap_or((t, ""));
    let first = repo.split('/').next().unwrap_or("");
    if repo.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost") {
        t.to_string()
    } else if repo.contains('/') {
        format!("docker.io/{t}")
    } else {
        format!("docker.io/library/{t}")
    }
}

/// docker's own format: uncompressed layer tars (their digest is the
/// diffID docker load checks), the config as <hex>.json, manifest.json.
fn write_docker<W: Write>(
    store: &Store,
    images: &[(Image, Vec<String>)],
    tar: &mut tar::Builder<W>,
) -> Result<()> {
    let mut manifest = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut written = std::collections::HashSet::new();
    for (img, tags) in images {
        let cfg = format!("{}.json", img.id().hex());
        if written.insert(img.id()) {
            add_blob(
                store,
                tar,
                &cfg,
                &img.manifest.config.digest,
                img.manifest.config.size,
            )?;
        }
        let mut layers = Vec::new();
        for (l, diff_id) in img.manifest.layers.iter().zip(&img.config.rootfs.diff_ids) {
            let name = format!("{}/layer.tar", diff_id.hex());
            if written.insert(*diff_id) {
                add_dir(tar, &format!("{}/", diff_id.hex()))?;
                add_uncompressed(store, tar, &name, &l.digest, diff_id)?;
            }
            layers.push(name);
        }
        let top = img
            .config
            .rootfs
            .diff_ids
            .last()
            .map(|d| d.hex())
            .unwrap_or_default();
        for t in tags {
            let (r, tag) = t.rsplit_once(':').unwrap_or((t, "latest"));
            repositories
                .entry(r.to_string())
                .or_default()
                .insert(tag.to_string(), top.clone());
        }
        manifest.push(json!({"Config": cfg, "RepoTags": tags, "Layers": layers}));
    }
    add_bytes(
        tar,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap_or_default(),
    )?;
    add_bytes(
        tar,
        "repositories",
        &serde_json::to_vec(&repositories).unwrap_or_default(),
    )
}

/// A layer decompressed into the tar; the tar entry's size must be known
/// first, so the layer is decompressed once to count and once to copy.
fn add_uncompressed<W: Write>(
    store: &Store,
    tar: &mut tar::Builder<W>,
    name: &str,
    blob: &Digest,
    diff_id: &Digest,
) -> Result<()> {
    let open = || -> Result<Box<dyn Read>> {
        let f = store.open_blob(blob)?;
        crate::layer::decompress(Box::new(io::BufReader::with_capacity(1 << 20, f)))
            .map_err(io_at(Path::new(name)))
    };
    let mut counter = crate::digest::HashWriter::new(io::sink());
    io::copy(&mut open()?, &mut counter).map_err(io_at(Path::new(name)))?;
    let (actual, size, _) = counter.finish();
    if actual != *diff_id {
        return Err(ArchiveError::Bad(format!(
            "layer {blob}: its content is {actual}, the image says {diff_id}"
        )));
    }
    let mut h = header(size, 0o644);
    tar.append_data(&mut h, name, open()?)
        .map_err(|e| ArchiveError::Io {
            path: name.into(),
            err: e,
        })
}
