//! `import`: a flat rootfs tarball (plain or compressed) becomes a one-layer
//! image, as `docker import` makes it.

use std::io::{BufWriter, Read};

use super::{io_at, ArchiveError, Result};
use crate::image::{ContainerConfig, Descriptor, History, ImageConfig};
use crate::layer::{self, ApplyMode, Compression, Limits, WriteOptions};
use crate::store::{Image, Store};

/// Makes the image; `changes` are docker import's `--change` lines
/// (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL), checked before any work.
pub fn import(
    store: &Store,
    input: &mut dyn Read,
    tags: &[String],
    source: &str,
    changes: &[String],
) -> Result<Image> {
    let mut config = ImageConfig::scratch();
    for c in changes {
        apply_change(&mut config.config, c)?;
    }
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

/// One `--change` line applied to the config.
fn apply_change(c: &mut ContainerConfig, line: &str) -> Result<()> {
    let bad = |why: &str| ArchiveError::Bad(format!("--change {line:?}: {why}"));
    let (word, rest) = line
        .trim()
        .split_once(char::is_whitespace)
        .unwrap_or((line, ""));
    let rest = rest.trim();
    match word.to_ascii_uppercase().as_str() {
        "CMD" => c.cmd = Some(command(rest)),
        "ENTRYPOINT" => c.entrypoint = Some(command(rest)),
        "WORKDIR" if rest.starts_with('/') => c.working_dir = Some(rest.into()),
        "WORKDIR" => return Err(bad("WORKDIR must be absolute")),
        "USER" if !rest.is_empty() => c.user = Some(rest.into()),
        "ENV" | "LABEL" => {
            for (k, v) in pairs(rest).ok_or_else(|| bad("want KEY=VALUE"))? {
                if word.eq_ignore_ascii_case("ENV") {
                    let env = c.env.get_or_insert_with(Vec::new);
                    env.retain(|e| e.split_once('=').map(|(n, _)| n) != Some(k.as_str()));
                    env.push(format!("{k}={v}"));
                } else {
                    c.labels.get_or_insert_with(Default::default).insert(k, v);
                }
            }
        }
        _ => return Err(bad("supported: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL")),
    }
    Ok(())
}

/// The exec form (a JSON array) as it is, else the shell form.
fn command(text: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(text)
        .unwrap_or_else(|_| vec!["/bin/sh".into(), "-c".into(), text.into()])
}

/// `K=V K2="v 2"`: whitespace-separated pairs, double quotes kept together.
fn pairs(text: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut words = Vec::new();
    for ch in text.chars() {
        match ch {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => words.push(std::mem::take(&mut word)),
            c => word.push(c),
        }
    }
    words.push(word);
    for w in words.into_iter().filter(|w| !w.is_empty()) {
        let (k, v) = w.split_once('=')?;
        if k.is_empty() {
            return None;
        }
        out.push((k.to_string(), v.to_string()));
    }
    (!out.is_empty()).then_some(out)
}
