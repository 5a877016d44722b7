//! COPY and ADD (and WORKDIR's mkdir): sources from the context, a stage,
//! an image, a heredoc or (ADD) an http URL, a git repository or a local
//! tar to extract; Docker's destination rules; keyed by the content read.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use super::fscopy::{self, Copier, CopyOpts, Filter};
use super::graph::{self, Base, Plan};
use super::key::KeyHasher;
use super::meta::{join_workdir, word};
use super::progress::StepLog;
use super::scratch::StepSnapshot;
use super::stage::{step_error, step_snapshot, BuildEnv, StageState};
use super::{commit, fetch, BuildError, Result};
use crate::dockerfile::{Copy, Step};
use crate::dockerignore::Matcher;
use crate::layer::{self, ApplyMode, Limits};

/// Where a COPY reads from.
struct Origin<'a> {
    root: PathBuf,
    /// Part of the key that names the origin's content (None: hash it).
    id: Option<String>,
    keep_owner: bool,
    dockerignore: bool,
    _mounted: Option<StepSnapshot<'a>>,
}

/// One source after expansion: a path inside an origin.
struct Source {
    origin: usize,
    rel: String,
    /// ADD: extract this local archive instead of copying it.
    extract: bool,
}

#[allow(clippy::too_many_arguments)]
pub fn copy(
    env: &BuildEnv,
    _plan: &Plan,
    state: &mut StageState,
    step: &Step,
    c: &Copy,
    is_add: bool,
    deps: &HashMap<usize, Arc<StageState>>,
    log: &StepLog,
) -> Result<()> {
    let verb = if is_add { "ADD" } else { "COPY" };
    let dest_raw = word(env, state, step, &c.dest)?;
    let dest_is_dir_hint = dest_raw.ends_with('/') || dest_raw == "." || dest_raw.ends_with("/.");
    let dest = join_workdir(&state.workdir(), &dest_raw);
    let chown = c
        .chown
        .as_ref()
        .map(|s| word(env, state, step, s))
        .transpose()?;
    let chmod = c
        .chmod
        .as_ref()
        .map(|s| parse_mode(env, step, &word(env, state, step, s)?))
        .transpose()?;
    let exclude = Matcher::from_patterns(&c.exclude).map_err(|e| step_error(env, step, e))?;
    let mut origins: Vec<Origin> = Vec::new();
    let mut sources: Vec<Source> = Vec::new();
    let mut key_parts: Vec<String> = Vec::new();
    collect_sources(
        env,
        state,
        step,
        c,
        is_add,
        deps,
        &exclude,
        &mut origins,
        &mut sources,
        &mut key_parts,
    )?;
    if sources.len() > 1 && !dest_is_dir_hint {
        return Err(step_error(
            env,
            step,
            format!("When using {verb} with more than one source file, the destination must be a directory and end with a /"),
        ));
    }
    let mut k = KeyHasher::new(&state.key, verb);
    k.field(&dest)
        .field(format!("{dest_is_dir_hint}"))
        .field(format!("{chown:?}{chmod:?}{}{}", c.parents, c.link));
    k.field(c.exclude.join("\0"))
        .field(serde_json::to_vec(&state.config.config.user).unwrap_or_default());
    for s in &sources {
        let o = &origins[s.origin];
        let content = match &o.id {
            Some(id) => id.clone(),
            None => hash_source(env, o, &s.rel, &exclude)
                .map_err(|e| step_error(env, step, format!("{}: {e}", s.rel)))?,
        };
        k.field(&s.rel)
            .field(content)
            .field(format!("{}", s.extract));
    }
    for p in &key_parts {
        k.field(p);
    }
    let key = k.finish();
    let shown: Vec<&str> = c.sources.iter().map(String::as_str).collect();
    let created_by = format!("{verb} {} {dest} # buildkit", shown.join(" "));
    if commit::reused(env, state, key, &created_by, log) {
        return Ok(());
    }
    let mut snap = step_snapshot(env, step, &state.lowers)?;
    let owner = match &chown {
        Some(u) => Some(chown_ids(env, step, &snap.merged, u)?),
        None => None,
    };
    let result = (|| {
        for s in &sources {
            let o = &origins[s.origin];
            let ignore = o.dockerignore.then_some(&env.ctx.ignore);
            let filter = Filter::for_source(ignore, Some(&exclude), &s.rel);
            let opts = CopyOpts {
                chown: owner,
                keep_owner: o.keep_owner,
                chmod,
            };
            let mut copier =
                Copier::new(&snap.merged, opts, filter).map_err(|e| step_error(env, step, e))?;
            let dest_rel = dest.trim_start_matches('/').to_string();
            place(
                env,
                step,
                &mut copier,
                o,
                s,
                &dest_rel,
                dest_is_dir_hint || sources.len() > 1,
                c.parents,
            )?;
        }
        Ok::<(), BuildError>(())
    })();
    snap.unmount().map_err(|e| step_error(env, step, e))?;
    result?;
    let upper = snap.upper.clone();
    commit::commit(env, state, step, &upper, key, created_by)?;
    log.done();
    Ok(())
}

fn parse_mode(env: &BuildEnv, step: &Step, s: &str) -> Result<u32> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| {
            step_error(
                env,
                step,
                format!("--chmod={s}: want an octal mode such as 755"),
            )
        })
}

/// --chown's user[:group], names from the destination's /etc/passwd; a
/// name alone takes its passwd group, a number alone the same number for
/// the group (BuildKit's readUser).
fn chown_ids(env: &BuildEnv, step: &Step, rootfs: &Path, spec: &str) -> Result<(u32, u32)> {
    let u = crate::bundle::resolve_user(rootfs, spec)
        .map_err(|e| step_error(env, step, format!("--chown={spec}: {e}")))?;
    let numeric = spec.parse::<u32>().is_ok();
    if spec.contains(':') || !numeric {
        Ok((u.uid, u.gid))
    } else {
        Ok((u.uid, u.uid))
    }
}

#[allow(clippy::too_many_arguments)]
fn collect_sources<'a>(
    env: &BuildEnv<'a>,
    state: &StageState,
    step: &Step,
    c: &Copy,
    is_add: bool,
    deps: &HashMap<usize, Arc<StageState>>,
    exclude: &Matcher,
    origins: &mut Vec<Origin<'a>>,
    sources: &mut Vec<Source>,
    key_parts: &mut Vec<String>,
) -> Result<()> {
    let from = c
        .from
        .as_ref()
        .map(|f| word(env, state, step, f))
        .transpose()?;
    let main = match &from {
        None => Origin {
            root: env.ctx.dir.clone(),
            id: None,
            keep_owner: false,
            dockerignore: true,
            _mounted: None,
        },
        Some(f) => from_origin(env, step, f, deps)?,
    };
    origins.push(main);
    // `COPY <<EOF /dest`: each heredoc is a file named after its delimiter,
    // its content expanded unless the delimiter was quoted (BuildKit).
    let heredoc_dir = env
        .scratch
        .fast
        .join(format!("heredoc-{}", crate::store::atomic::unique()));
    for h in &c.heredocs {
        let content = if h.expand {
            expand_text(env, state, &h.content)
        } else {
            h.content.clone()
        };
        let path = heredoc_dir.join(&h.name);
        fs::create_dir_all(&heredoc_dir).map_err(|e| step_error(env, step, e))?;
        fs::write(&path, &content).map_err(|e| step_error(env, step, e))?;
        key_parts.push(format!("heredoc:{}:{content}", h.name));
        origins.push(plain_origin(
            &heredoc_dir,
            Some(format!("heredoc:{content}")),
        ));
        sources.push(Source {
            origin: origins.len() - 1,
            rel: h.name.clone(),
            extract: false,
        });
    }
    for raw in &c.sources {
        let text = word(env, state, step, raw)?;
        if is_add
            && from.is_none()
            && (text.starts_with("http://") || text.starts_with("https://"))
            && !is_git(&text)
        {
            add_url(env, step, c, &text, origins, sources, key_parts)?;
            continue;
        }
        if is_add && from.is_none() && is_git(&text) {
            let dir = env
                .scratch
                .disk
                .join(format!("git-{}", crate::store::atomic::unique()));
            fs::create_dir_all(&dir).map_err(|e| step_error(env, step, e))?;
            let repo = super::context::clone_into(&text, &dir, c.keep_git_dir)
                .map_err(|e| step_error(env, step, e))?;
            origins.push(plain_origin(&repo, None));
            sources.push(Source {
                origin: origins.len() - 1,
                rel: String::new(),
                extract: false,
            });
            continue;
        }
        let rel = fscopy::clean_rel(&text);
        if from.is_none() && escapes(&text) {
            return Err(step_error(
                env,
                step,
                format!("forbidden path outside the build context: {text}"),
            ));
        }
        let glob = fscopy::has_glob(&rel);
        let matches = if glob {
            fscopy::expand_glob(&origins[0].root, &rel).map_err(|e| step_error(env, step, e))?
        } else {
            vec![rel.clone()]
        };
        let prefix = glob_prefix(&rel);
        let matches: Vec<String> = matches
            .into_iter()
            .filter(|m| !(from.is_none() && env.ctx.ignore.excluded(m) && !m.is_empty()))
            // --exclude drops what a wildcard matched (docs: `--exclude=*.txt
            // hom*`), on the path below the wildcard's fixed part; a source
            // named as such is never excluded (BuildKit).
            .filter(|m| !(glob && exclude.excluded(below(m, &prefix))))
            .collect();
        if matches.is_empty() || (!glob && fscopy::resolve_inside(&origins[0].root, &rel).is_err())
        {
            return Err(step_error(
                env,
                step,
                not_found(&origins[0].root, &rel, from.is_none()),
            ));
        }
        for m in matches {
            let extract = is_add && c.unpack != Some(false) && is_archive(&origins[0].root, &m);
            sources.push(Source {
                origin: 0,
                rel: m,
                extract,
            });
        }
    }
    Ok(())
}

/// The dir part of a source pattern before its first wildcard.
fn glob_prefix(pattern: &str) -> String {
    let fixed: Vec<&str> = pattern
        .split('/')
        .take_while(|c| !fscopy::has_glob(c))
        .collect();
    fixed.join("/")
}

/// `path` below `prefix` (a dir path, maybe "").
fn below<'a>(path: &'a str, prefix: &str) -> &'a str {
    if prefix.is_empty() {
        return path;
    }
    path.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(path)
}

/// BuildKit's message for a missing source; a symlink that resolves to
/// nothing inside the context (`leak -> /etc/passwd`) names its target.
fn not_found(root: &Path, rel: &str, context: bool) -> String {
    let where_ = if context {
        "in build context or excluded by .dockerignore"
    } else {
        "in the source stage or image"
    };
    let link = link_target(root, rel)
        .map(|t| {
            format!(
                " (a symlink to \"{t}\", resolved inside the {})",
                if context { "context" } else { "source" }
            )
        })
        .unwrap_or_default();
    format!("failed to compute cache key: \"/{rel}\"{link}: not found ({where_})")
}

/// The target of the symlink at `rel`, its parent resolved inside `root`.
fn link_target(root: &Path, rel: &str) -> Option<String> {
    let (parent, name) = match rel.rsplit_once('/') {
        Some((p, n)) => (p, n),
        None => ("", rel),
    };
    let dir = fscopy::open_dir(&fscopy::resolve_inside(root, parent).ok()?).ok()?;
    let t = nix::fcntl::readlinkat(Some(dir.as_raw_fd()), name).ok()?;
    Some(t.to_string_lossy().into_owned())
}

/// Heredoc text with `$VAR`s expanded, quotes kept as written.
fn expand_text(env: &BuildEnv, state: &StageState, text: &str) -> String {
    let lexer = crate::expand::Lexer::new(env.file.escape);
    let vars = state.vars();
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        // Quotes are content here: protect them from the word lexer.
        let e = env.file.escape;
        let protected = body
            .replace(e, &format!("{e}{e}"))
            .replace('"', &format!("{e}\""))
            .replace('\'', &format!("{e}'"));
        out.push_str(
            &lexer
                .word(&protected, &vars)
                .map(|e| e.value)
                .unwrap_or_else(|_| body.to_string()),
        );
        out.push_str(nl);
    }
    out
}

fn plain_origin(root: &Path, id: Option<String>) -> Origin<'static> {
    Origin {
        root: root.to_path_buf(),
        id,
        keep_owner: false,
        dockerignore: false,
        _mounted: None,
    }
}

fn is_git(s: &str) -> bool {
    s.starts_with("git@")
        || s.starts_with("git://")
        || s.split('#').next().is_some_and(|b| b.ends_with(".git"))
}

/// A context source that names something above the context.
fn escapes(text: &str) -> bool {
    let mut depth: i32 = 0;
    for c in text.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

fn from_origin<'a>(
    env: &BuildEnv<'a>,
    step: &Step,
    from: &str,
    deps: &HashMap<usize, Arc<StageState>>,
) -> Result<Origin<'a>> {
    let (lowers, id) = match graph::resolve(env, from, env.file.stages.len(), false) {
        Ok(Base::Stage(i)) => {
            let s = deps
                .get(&i)
                .ok_or_else(|| step_error(env, step, format!("--from={from}: stage not built")))?;
            (s.lowers.clone(), format!("stage:{}", s.key))
        }
        Ok(Base::Image(img)) => {
            let l = env
                .store
                .unpacked_layers(&img.config.rootfs.diff_ids, &img.manifest.layers)?;
            (l, format!("image:{}", img.id()))
        }
        Ok(Base::Scratch) => (Vec::new(), "scratch".into()),
        Err(m) => return Err(step_error(env, step, format!("--from={from}: {m}"))),
    };
    let snap = super::stage::step_snapshot(env, step, &lowers)?;
    Ok(Origin {
        root: snap.merged.clone(),
        id: Some(id),
        keep_owner: true,
        dockerignore: false,
        _mounted: Some(snap),
    })
}

fn add_url<'a>(
    env: &BuildEnv,
    step: &Step,
    c: &Copy,
    url: &str,
    origins: &mut Vec<Origin<'a>>,
    sources: &mut Vec<Source>,
    key_parts: &mut Vec<String>,
) -> Result<()> {
    let dir = env
        .scratch
        .disk
        .join(format!("url-{}", crate::store::atomic::unique()));
    fs::create_dir_all(&dir).map_err(|e| step_error(env, step, e))?;
    let path_part = url.split(['?', '#']).next().unwrap_or(url);
    let name = path_part
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && !path_part.ends_with("://"))
        .unwrap_or("download");
    let file = dir.join(name);
    let (digest, _) = fetch::download(url, &file).map_err(|e| step_error(env, step, e))?;
    if let Some(want) = &c.checksum {
        if *want != digest.to_string() {
            return Err(step_error(
                env,
                step,
                format!("{url}: checksum mismatch: want {want}, got {digest}"),
            ));
        }
    }
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(&file, fs::Permissions::from_mode(0o600));
    key_parts.push(format!("url:{url}:{digest}"));
    origins.push(plain_origin(&dir, Some(format!("url:{digest}"))));
    let extract = c.unpack == Some(true) && is_archive(&dir, name);
    sources.push(Source {
        origin: origins.len() - 1,
        rel: name.to_string(),
        extract,
    });
    Ok(())
}

/// A local file ADD extracts: a tar, plain or compressed (magic sniffed).
fn is_archive(root: &Path, rel: &str) -> bool {
    let Ok(p) = fscopy::resolve_inside(root, rel) else {
        return false;
    };
    if !p.is_file() {
        return false;
    }
    let Ok(f) = fs::File::open(&p) else {
        return false;
    };
    let Ok(mut r) = layer::decompress(Box::new(f)) else {
        return false;
    };
    let mut head = [0u8; 512];
    let mut n = 0;
    while n < 512 {
        match std::io::Read::read(&mut r, &mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n == 512 && (&head[257..262] == b"ustar" || tar_checksum_ok(&head))
}

/// Old (v7) tars have no magic: the header checksum tells.
fn tar_checksum_ok(h: &[u8; 512]) -> bool {
    let stored = std::str::from_utf8(&h[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '));
    let Some(Ok(stored)) = stored.map(|s| u32::from_str_radix(s, 8)) else {
        return false;
    };
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                b as u32
            }
        })
        .sum();
    sum == stored && h[0] != 0
}

fn hash_source(
    env: &BuildEnv,
    o: &Origin,
    rel: &str,
    exclude: &Matcher,
) -> std::io::Result<String> {
    let real = fscopy::resolve_inside(&o.root, rel)?;
    let (parent, name) = fscopy::split(&real);
    let pd = fscopy::open_dir(&parent)?;
    let mut h = Sha256::new();
    let filter = Filter::for_source(
        o.dockerignore.then_some(&env.ctx.ignore),
        Some(exclude),
        rel,
    );
    // Context files are remembered by inode; a stage's by the stage's key.
    let cache = o.dockerignore.then_some(env.stat_cache);
    fscopy::hash_entry(
        pd.as_raw_fd(),
        &name,
        rel,
        &filter,
        o.keep_owner,
        cache,
        &mut h,
    )?;
    Ok(crate::digest::Digest::from_bytes(h.finalize().into()).to_string())
}

/// Copies (or extracts) one source to the destination, by docker's rules:
/// a dir's contents go into the dest dir; a file goes into the dest when it
/// is a dir (trailing `/`, several sources, or an existing dir), else it
/// becomes the dest.
#[allow(clippy::too_many_arguments)]
fn place(
    env: &BuildEnv,
    step: &Step,
    copier: &mut Copier,
    o: &Origin,
    s: &Source,
    dest_rel: &str,
    dest_is_dir: bool,
    parents: bool,
) -> Result<()> {
    let err = |e: std::io::Error| {
        step_error(
            env,
            step,
            format!("{}: {e}", if s.rel.is_empty() { "." } else { &s.rel }),
        )
    };
    let real = fscopy::resolve_inside(&o.root, &s.rel).map_err(err)?;
    let mut dest_rel = dest_rel.to_string();
    if parents {
        if let Some(parent) = Path::new(&s.rel)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            dest_rel = format!("{}/{}", dest_rel.trim_end_matches('/'), parent.display());
        }
    }
    if s.extract {
        let handle = copier.dest_dir(&dest_rel).map_err(err)?;
        let target = fs::read_link(format!("/proc/self/fd/{}", handle.as_raw_fd())).map_err(err)?;
        let mut f = fs::File::open(&real).map_err(err)?;
        layer::apply_layer(&mut f, &target, ApplyMode::Flat, &Limits::default())
            .map_err(|e| step_error(env, step, format!("extracting {}: {e}", s.rel)))?;
        return Ok(());
    }
    let (parent, name) = fscopy::split(&real);
    let pd = fscopy::open_dir(&parent).map_err(err)?;
    if real.is_dir() {
        let d = fscopy::open_dir(&real).map_err(err)?;
        return copier
            .copy_children(d.as_raw_fd(), &s.rel, &dest_rel)
            .map_err(err);
    }
    let into_dir = dest_is_dir || dest_rel.is_empty() || copier.is_dir(&dest_rel);
    if into_dir {
        // `COPY link /d/` makes /d/link (content followed), as written.
        let own = s.rel.rsplit('/').next().map(OsStr::new).unwrap_or(&name);
        copier
            .copy(pd.as_raw_fd(), &name, &s.rel, &dest_rel, own)
            .map_err(err)
    } else {
        let (dparent, dname) = match dest_rel.rsplit_once('/') {
            Some((p, n)) => (p.to_string(), n.to_string()),
            None => (String::new(), dest_rel.clone()),
        };
        copier
            .copy(pd.as_raw_fd(), &name, &s.rel, &dparent, OsStr::new(&dname))
            .map_err(err)
    }
}

/// WORKDIR's filesystem part: the dir made (owned by USER, as BuildKit),
/// a layer only when it was missing.
pub fn workdir(env: &BuildEnv, state: &mut StageState, step: &Step, log: &StepLog) -> Result<()> {
    let dir = state.workdir();
    let mut k = KeyHasher::new(&state.key, "WORKDIR");
    k.field(&dir)
        .field(serde_json::to_vec(&state.config.config.user).unwrap_or_default());
    let key = k.finish();
    let created_by = format!("WORKDIR {dir}");
    if commit::reused(env, state, key, &created_by, log) {
        return Ok(());
    }
    let mut snap = step_snapshot(env, step, &state.lowers)?;
    let made = make_workdir(
        env,
        step,
        &snap.merged,
        &dir,
        state.config.config.user.as_deref(),
    );
    snap.unmount().map_err(|e| step_error(env, step, e))?;
    made?;
    let upper = snap.upper.clone();
    commit::commit(env, state, step, &upper, key, created_by)?;
    log.done();
    Ok(())
}

fn make_workdir(
    env: &BuildEnv,
    step: &Step,
    rootfs: &Path,
    dir: &str,
    user: Option<&str>,
) -> Result<()> {
    let root = pathrs::Root::open(rootfs).map_err(|e| step_error(env, step, e))?;
    let rel = dir.trim_start_matches('/');
    if rel.is_empty() || root.resolve(rel).is_ok() {
        return Ok(());
    }
    let perm = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    let h = root
        .mkdir_all(rel, &perm)
        .map_err(|e| step_error(env, step, format!("WORKDIR {dir}: {e}")))?;
    if let Some(u) = user.filter(|u| !u.is_empty()) {
        if let Ok(r) = crate::bundle::resolve_user(rootfs, u) {
            if let Ok(f) =
                h.reopen(pathrs::flags::OpenFlags::O_RDONLY | pathrs::flags::OpenFlags::O_DIRECTORY)
            {
                let _ = std::os::unix::fs::fchown(&f, Some(r.uid), Some(r.gid));
            }
        }
    }
    Ok(())
}
