//! `import`: a flat rootfs tarball (plain or compressed) becomes a one-layer
//! image, as `docker import` makes it.

use std::io::{BufWriter, Read};

use super::{io_at, ArchiveError, Result};
use crate::image::{Descriptor, History, ImageConfig};
use crate::layer::{self, ApplyMode, Compression, Limits, WriteOptions};
use crate::store::{Image, Store};

pub fn import(store: &Store, input: &mut dyn Read, tags: &[String], source: &str) -> Result<Image> {
    let _held = store.build_lock()?;
    let tmp = store.temp_dir()?;
    let rootfs = tmp.path().join("rootfs");
    std::fs::create_dir(&rootfs).map_err(io_at(&rootfs))?;
    layer::apply_layer(input, &rootfs, ApplyMode::Flat, &Limits::default())
        .map_err(|e| ArchiveError::Bad(format!("{source}: {e}")))?;
    let blob = tmp.path().join("layer");
    let file = std::fs::File::create(&blob).map_err(io_at(&blob))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let opts = WriteOptions {
        compression: Compression::Gzip,
        epoch: None,
    };
    let w = layer::write_layer(&rootfs, &mut out, &opts)
        .map_err(|e| ArchiveError::Bad(format!("{source}: {e}")))?;
    let file = out.into_inner().map_err(|e| io_at(&blob)(e.into_error()))?;
    file.sync_all().map_err(io_at(&blob))?;
    store.ingest_file(&blob, &w.digest)?;
    store.publish_layer_dir(&rootfs, &w.diff_id)?;
    let now = crate::clock::now_rfc3339();
    let mut config = ImageConfig::scratch();
    config.created = Some(now.clone());
    config.rootfs.diff_ids.push(w.diff_id);
    config.history.push(History {
        created: Some(now),
        comment: Some(format!("Imported from {source}")),
        ..Default::default()
    });
    let layer = Descriptor {
        media_type: w.media_type.into(),
        digest: w.digest,
        size: w.size,
        annotations: None,
        platform: None,
    };
    Ok(store.add_image(&config, vec![layer], tags, None)?)
}
