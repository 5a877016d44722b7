//! A finished step's upper dir becomes the stage's next layer: tarred,
//! hashed and compressed in one pass into a blob, then the dir itself moves
//! into the store as the layer's unpacked dir (no re-extraction). An empty
//! diff makes no layer (an empty_layer history row, as BuildKit).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use super::stage::{add_history, created, step_error, BuildEnv, StageState};
use super::Result;
use crate::digest::{chain_id, Digest};
use crate::dockerfile::Step;
use crate::image::Descriptor;
use crate::layer::{self, WriteOptions};
use crate::store::cache::Record;
use crate::store::StoreError;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Commits `upper` as the result of the step keyed `key`.
pub fn commit(
    env: &BuildEnv,
    state: &mut StageState,
    step: &Step,
    upper: &Path,
    key: Digest,
    created_by: String,
) -> Result<()> {
    let when = created(env);
    let empty = layer::upper_is_empty(upper).map_err(io_err(upper))?;
    let record = if empty {
        Record {
            layer: None,
            diff_id: None,
            chain: None,
            created: when,
        }
    } else {
        let (desc, diff_id) = write_blob(env, step, upper)?;
        let mut ids = state.config.rootfs.diff_ids.clone();
        ids.push(diff_id);
        let chain = chain_id(&ids).expect("non-empty");
        env.store.publish_layer_dir(upper, &chain)?;
        Record {
            layer: Some(desc),
            diff_id: Some(diff_id),
            chain: Some(chain),
            created: when,
        }
    };
    // --no-cache skips lookups, not writes: the next build may use them.
    env.store.cache_put(&key, &record)?;
    apply(env, state, &record, key, created_by);
    Ok(())
}

fn write_blob(env: &BuildEnv, step: &Step, upper: &Path) -> Result<(Descriptor, Digest)> {
    let tmp = env
        .scratch
        .disk
        .join(format!("blob-{}", crate::store::atomic::unique()));
    let file = File::create(&tmp).map_err(io_err(&tmp))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let opts = WriteOptions {
        compression: env.opts.compression,
        epoch: env.opts.epoch,
    };
    let w = layer::write_layer(upper, &mut out, &opts).map_err(|e| step_error(env, step, e))?;
    let file = out.into_inner().map_err(|e| io_err(&tmp)(e.into_error()))?;
    file.sync_all().map_err(io_err(&tmp))?;
    env.store.ingest_file(&tmp, &w.digest)?;
    let desc = Descriptor {
        media_type: w.media_type.to_string(),
        digest: w.digest,
        size: w.size,
        annotations: None,
        platform: None,
    };
    Ok((desc, w.diff_id))
}

/// Applies a step's record (fresh or from the cache) to the state.
pub fn apply(env: &BuildEnv, state: &mut StageState, r: &Record, key: Digest, created_by: String) {
    state.key = key;
    if let (Some(l), Some(d), Some(c)) = (&r.layer, r.diff_id, r.chain) {
        state.layers.push(l.clone());
        state.config.rootfs.diff_ids.push(d);
        state.lowers.push(env.store.layer_dir(&c));
    }
    let when = match env.opts.epoch {
        Some(_) => None,
        None => Some(r.created.clone()),
    };
    add_history(env, state, created_by, r.layer.is_some(), when);
}

/// A cache hit, applied and logged: the step has nothing left to do.
pub fn reused(
    env: &BuildEnv,
    state: &mut StageState,
    key: Digest,
    created_by: &str,
    log: &super::progress::StepLog,
) -> bool {
    let hit = try_cached(env, state, key, created_by);
    if hit {
        log.cached();
    }
    hit
}

/// Looks the step up; on a hit applies it and says so.
pub fn try_cached(env: &BuildEnv, state: &mut StageState, key: Digest, created_by: &str) -> bool {
    if env.opts.no_cache {
        return false;
    }
    let Some(r) = env.store.cache_get(&key) else {
        return false;
    };
    if let Some(d) = r.diff_id {
        let mut ids = state.config.rootfs.diff_ids.clone();
        ids.push(d);
        if chain_id(&ids) != r.chain {
            return false;
        }
    }
    apply(env, state, &r, key, created_by.to_string());
    env.counters
        .cached
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    true
}
