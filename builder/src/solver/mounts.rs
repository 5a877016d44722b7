//! RUN --mount: bind (from the context, a stage or an image; read-only
//! unless rw, writes then go to a throwaway overlay), cache (a dir kept in
//! the store across builds), tmpfs and secret; and the mount points a step
//! creates in its rootfs, removed again so they do not become the layer.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::fscopy;
use super::graph::{self, Base};
use super::stage::{step_error, BuildEnv, StageState};
use super::Result;
use crate::bundle::Bind;
use crate::digest::Digest;
use crate::dockerfile::{MountKind, RunMount, Step};

#[derive(Default)]
pub struct Prepared<'a> {
    pub binds: Vec<Bind>,
    pub tmpfs: Vec<String>,
    /// What the mounts add to the step's cache key: content digests of bind
    /// sources (buildah#5400 left them out: stale builds).
    pub key_parts: Vec<String>,
    _snapshots: Vec<super::scratch::StepSnapshot<'a>>,
    /// Cache mounts with sharing=locked|private, held for the step.
    _locks: Vec<crate::store::lock::Lock>,
}

pub fn prepare<'a>(
    env: &BuildEnv<'a>,
    state: &StageState,
    step: &Step,
    mounts: &[RunMount],
    deps: &std::collections::HashMap<usize, Arc<StageState>>,
) -> Result<Prepared<'a>> {
    let mut p = Prepared::default();
    for m in mounts {
        let target = m
            .target
            .clone()
            .map(|t| super::meta::join_workdir(&state.workdir(), &t));
        match m.kind {
            MountKind::Bind => bind(env, state, step, m, target, deps, &mut p)?,
            MountKind::Cache => {
                let target = target
                    .ok_or_else(|| step_error(env, step, "--mount=type=cache needs target="))?;
                let id = m.id.clone().unwrap_or_else(|| target.clone());
                let dir = env
                    .store
                    .root()
                    .join("cache-mounts")
                    .join(Digest::of(id.as_bytes()).hex());
                if !dir.exists() {
                    // Seeded in a temp dir, renamed in whole: a failed or
                    // racing seed never leaves a half-filled cache.
                    let tmp = crate::store::atomic::temp_beside(&dir);
                    fs::create_dir_all(&tmp).map_err(|e| step_error(env, step, e))?;
                    let seeded = seed_cache(env, state, step, m, &tmp, deps, &mut p);
                    if seeded.is_err() || fs::rename(&tmp, &dir).is_err() {
                        crate::store::remove_tree(&tmp);
                    }
                    seeded?;
                    chown_mode(
                        &dir,
                        m.uid.unwrap_or(0),
                        m.gid.unwrap_or(0),
                        m.mode.unwrap_or(0o755),
                    );
                }
                // shared (the default): steps use it at once; locked and
                // private: one step at a time (private waits too, rather
                // than getting a throwaway dir).
                if matches!(m.sharing.as_deref(), Some("locked" | "private")) {
                    let lock_path = dir.with_extension("lock");
                    let l = crate::store::lock::Lock::acquire(
                        &lock_path,
                        crate::store::lock::Mode::Exclusive,
                    )
                    .map_err(|e| step_error(env, step, format!("{}: {e}", lock_path.display())))?;
                    p._locks.push(l);
                }
                p.key_parts.push(format!("cache:{id}:{target}"));
                p.binds.push(Bind {
                    source: dir,
                    destination: target,
                    readonly: m.readonly,
                });
            }
            MountKind::Tmpfs => {
                let target = target
                    .ok_or_else(|| step_error(env, step, "--mount=type=tmpfs needs target="))?;
                p.key_parts.push(format!("tmpfs:{target}"));
                p.tmpfs.push(target);
            }
            MountKind::Secret => secret(env, step, m, target, &mut p)?,
            MountKind::Ssh => {
                return Err(step_error(
                    env,
                    step,
                    "--mount=type=ssh is not supported (there is no ssh agent forwarding)",
                ))
            }
        }
    }
    Ok(p)
}

fn chown_mode(dir: &Path, uid: u32, gid: u32, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::os::unix::fs::chown(dir, Some(uid), Some(gid));
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(mode));
}

fn bind<'a>(
    env: &BuildEnv<'a>,
    state: &StageState,
    step: &Step,
    m: &RunMount,
    target: Option<String>,
    deps: &std::collections::HashMap<usize, Arc<StageState>>,
    p: &mut Prepared<'a>,
) -> Result<()> {
    let target = target.ok_or_else(|| step_error(env, step, "--mount=type=bind needs target="))?;
    let source = m.source.clone().unwrap_or_else(|| "/".into());
    let rel = fscopy::clean_rel(&source);
    let (root, key_part) = match &m.from {
        None => {
            let digest =
                fscopy::hash_context_path(env, &rel).map_err(|e| step_error(env, step, e))?;
            (
                env.ctx.dir.clone(),
                format!("bind:ctx:{rel}:{digest}:{target}:{}", m.readonly),
            )
        }
        Some(from) => {
            let (root, k) = mount_from(env, state, step, from, deps, p)?;
            (root, format!("bind:{k}:{rel}:{target}:{}", m.readonly))
        }
    };
    let src = fscopy::resolve_inside(&root, &rel)
        .map_err(|e| step_error(env, step, format!("--mount source {source:?}: {e}")))?;
    p.key_parts.push(key_part);
    p.binds.push(Bind {
        source: src,
        destination: target,
        readonly: m.readonly,
    });
    Ok(())
}

/// The rootfs of the stage or image `from` names, mounted for the step;
/// with the key that stands for its content.
fn mount_from<'a>(
    env: &BuildEnv<'a>,
    state: &StageState,
    step: &Step,
    from: &str,
    deps: &std::collections::HashMap<usize, Arc<StageState>>,
    p: &mut Prepared<'a>,
) -> Result<(PathBuf, Digest)> {
    let from = super::meta::word(env, state, step, from)?;
    let lowers = match graph::resolve(env, &from, env.file.stages.len(), false) {
        Ok(Base::Stage(i)) => deps.get(&i).map(|s| (s.lowers.clone(), s.key)),
        Ok(Base::Image(img)) => {
            let l = env
                .store
                .unpacked_layers(&img.config.rootfs.diff_ids, &img.manifest.layers)?;
            Some((l, img.id()))
        }
        _ => None,
    };
    let (lowers, k) = lowers.ok_or_else(|| {
        step_error(
            env,
            step,
            format!("--mount from={from}: no such stage or image"),
        )
    })?;
    let snap = super::stage::step_snapshot(env, step, &lowers)?;
    let root = snap.merged.clone();
    p._snapshots.push(snap);
    Ok((root, k))
}

/// A new cache mount with `from=` starts as a copy of that stage's
/// `source` dir (BuildKit), owners kept.
fn seed_cache<'a>(
    env: &BuildEnv<'a>,
    state: &StageState,
    step: &Step,
    m: &RunMount,
    dir: &Path,
    deps: &std::collections::HashMap<usize, Arc<StageState>>,
    p: &mut Prepared<'a>,
) -> Result<()> {
    let Some(from) = &m.from else { return Ok(()) };
    let (root, _) = mount_from(env, state, step, from, deps, p)?;
    let rel = fscopy::clean_rel(m.source.as_deref().unwrap_or("/"));
    let err =
        |e: std::io::Error| step_error(env, step, format!("--mount=type=cache,from={from}: {e}"));
    let src = fscopy::resolve_inside(&root, &rel).map_err(err)?;
    let fd = fscopy::open_dir(&src).map_err(err)?;
    let opts = fscopy::CopyOpts {
        chown: None,
        keep_owner: true,
        chmod: None,
    };
    let mut copier =
        fscopy::Copier::new(dir, opts, fscopy::Filter::for_source(None, None, "")).map_err(err)?;
    copier
        .copy_children(std::os::fd::AsRawFd::as_raw_fd(&fd), "", "")
        .map_err(err)
}

fn secret<'a>(
    env: &BuildEnv,
    step: &Step,
    m: &RunMount,
    target: Option<String>,
    p: &mut Prepared<'a>,
) -> Result<()> {
    let id = m.id.clone().or_else(|| {
        target
            .as_ref()
            .and_then(|t| t.rsplit('/').next().map(str::to_string))
    });
    let Some(id) = id else {
        return Err(step_error(
            env,
            step,
            "--mount=type=secret needs id= or target=",
        ));
    };
    let Some((_, src)) = env.opts.secrets.iter().find(|(i, _)| *i == id) else {
        if m.required {
            return Err(step_error(
                env,
                step,
                format!("secret {id} not found: pass it with --secret id={id},src=FILE"),
            ));
        }
        return Ok(());
    };
    let target = target.unwrap_or_else(|| format!("/run/secrets/{id}"));
    // A secret is not part of the key: its content must not end up anywhere.
    p.binds.push(Bind {
        source: src.clone(),
        destination: target,
        readonly: true,
    });
    Ok(())
}

/// For each mount destination, the path components missing in `rootfs`
/// (the runtime creates them as mount points), deepest first.
pub fn missing_paths(rootfs: &Path, dests: &[String]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for d in dests {
        let mut cur = PathBuf::new();
        for comp in Path::new(d.trim_start_matches('/')).components() {
            cur.push(comp);
            match fs::symlink_metadata(rootfs.join(&cur)) {
                Ok(m) if m.is_dir() => continue,
                Ok(_) => break,
                Err(_) => {
                    if !out.contains(&cur) {
                        out.push(cur.clone());
                    }
                }
            }
        }
    }
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out
}

/// Removes from the upper dir the mount points the step's runtime made,
/// when they are still empty (inside the upper dir's root: a symlink the
/// step planted cannot redirect the removal).
pub fn remove_stubs(upper: &Path, stubs: &[PathBuf]) {
    let Ok(root) = pathrs::Root::open(upper) else {
        return;
    };
    for s in stubs {
        if root.remove_dir(s).is_ok() {
            continue;
        }
        if let Ok(h) = root.resolve_nofollow(s) {
            let empty_file = h
                .reopen(pathrs::flags::OpenFlags::O_PATH)
                .ok()
                .and_then(|f| f.metadata().ok())
                .is_some_and(|m| m.is_file() && m.len() == 0);
            if empty_file {
                let _ = root.remove_file(s);
            }
        }
    }
}
