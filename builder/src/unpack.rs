//! An image as a container's filesystem: `unpack` writes an OCI runtime
//! bundle (rootfs + config.json by the image-spec conversion rules) that
//! `runtime run` starts as it is; `mount` stacks the image's layer dirs
//! under a fresh upper dir at a path, no copy (what the shim runs on).

use std::fs;
use std::path::{Path, PathBuf};

use crate::bundle::{self, BundleError};
use crate::digest::{Digest, HashReader};
use crate::layer::{self, ApplyMode, Limits};
use crate::snapshot::{self, Snapshot, SnapshotError};
use crate::store::{Image, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("{path}: {why}")]
    Path { path: PathBuf, why: String },
}

type Result<T> = std::result::Result<T, UnpackError>;

fn at(path: &Path, why: impl std::fmt::Display) -> UnpackError {
    UnpackError::Path {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// Writes the bundle into `dir` (absent or empty); on error removes what it
/// made.
/// `args`, when given, replace the image's Cmd (as `docker run IMAGE ARGS`).
pub fn unpack(store: &Store, image: &Image, dir: &Path, args: Option<Vec<String>>) -> Result<()> {
    let existed = dir.exists();
    if existed && fs::read_dir(dir).map_err(|e| at(dir, e))?.next().is_some() {
        return Err(at(dir, "exists and is not empty"));
    }
    // Known before any layer is extracted: an image that cannot start.
    let c = &image.config.config;
    let empty = |v: &Option<Vec<String>>| v.as_ref().is_none_or(|v| v.is_empty());
    if empty(&c.entrypoint) && empty(&c.cmd) && args.as_ref().is_none_or(|a| a.is_empty()) {
        return Err(BundleError::NoCommand.into());
    }
    let result = write_bundle(store, image, dir, args);
    if result.is_err() {
        let _ = fs::remove_dir_all(dir.join("rootfs"));
        let _ = fs::remove_file(dir.join("config.json"));
        if !existed {
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

fn write_bundle(store: &Store, image: &Image, dir: &Path, args: Option<Vec<String>>) -> Result<()> {
    let rootfs = dir.join("rootfs");
    fs::create_dir_all(&rootfs).map_err(|e| at(&rootfs, e))?;
    for (l, diff_id) in image
        .manifest
        .layers
        .iter()
        .zip(&image.config.rootfs.diff_ids)
    {
        let f = store.open_blob(&l.digest)?;
        let mut r = HashReader::new(std::io::BufReader::with_capacity(1 << 20, f));
        let applied = layer::apply_layer(&mut r, &rootfs, ApplyMode::Flat, &Limits::default())
            .map_err(|e| at(&rootfs, format!("layer {}: {e}", l.digest)))?;
        let (actual, _) = r.finish();
        if actual != l.digest {
            return Err(StoreError::Corrupt {
                digest: l.digest,
                actual,
                path: store.blob_path(&l.digest),
            }
            .into());
        }
        if applied.diff_id != *diff_id {
            return Err(at(
                &rootfs,
                format!(
                    "layer {}: content {} but the config says {diff_id}",
                    l.digest, applied.diff_id
                ),
            ));
        }
    }
    let mut spec = bundle::spec_from_image(&image.config, &rootfs, args)?;
    spec.rootfs = PathBuf::from("rootfs");
    bundle::write_bundle(dir, &spec)?;
    Ok(())
}

fn mount_dir(store: &Store, target: &Path) -> PathBuf {
    let key = Digest::of(target.as_os_str().as_encoded_bytes());
    store.root().join("mounts").join(key.hex())
}

/// Mounts the image at `target` (made if missing); returns the upper dir,
/// which holds the container's changes until `umount`.
pub fn mount(store: &Store, image: &Image, target: &Path) -> Result<PathBuf> {
    fs::create_dir_all(target).map_err(|e| at(target, e))?;
    let target = target.canonicalize().map_err(|e| at(target, e))?;
    let lowers = store.unpacked_layers(&image.config.rootfs.diff_ids, &image.manifest.layers)?;
    let dir = mount_dir(store, &target);
    if dir.exists() {
        return Err(at(
            &target,
            "an image is already mounted here (builder umount first)",
        ));
    }
    fs::create_dir_all(&dir).map_err(|e| at(&dir, e))?;
    match Snapshot::mount_at(&dir, &lowers, &target) {
        Ok(s) => {
            let upper = s.upper.clone();
            s.keep();
            let _ = fs::write(dir.join("image"), image.id().to_string());
            Ok(upper)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&dir);
            Err(e.into())
        }
    }
}

/// Unmounts what `mount` mounted at `target` and removes its upper dir.
pub fn umount(store: &Store, target: &Path) -> Result<()> {
    let target = target.canonicalize().map_err(|e| at(target, e))?;
    let dir = mount_dir(store, &target);
    if !dir.exists() {
        return Err(at(&target, "no image is mounted here by builder mount"));
    }
    snapshot::unmount_path(&target).map_err(|e| at(&target, e))?;
    crate::store::remove_tree(&dir);
    Ok(())
}
