//! The build context: a directory, `-` (a tar stream or a bare Dockerfile on
//! stdin), or a git repository cloned with the host's git; with the
//! Dockerfile's text and the .dockerignore that applies.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{BuildError, Result};
use crate::dockerignore::Matcher;
use crate::layer::{self, ApplyMode, Limits};

#[derive(Clone, Debug, PartialEq)]
pub enum ContextSpec {
    Dir(PathBuf),
    Stdin,
    Git(String),
}

impl ContextSpec {
    /// Reads the CONTEXT argument as docker does.
    pub fn parse(arg: &str) -> ContextSpec {
        if arg == "-" {
            return ContextSpec::Stdin;
        }
        let base = arg.split('#').next().unwrap_or(arg);
        let git = arg.starts_with("git@")
            || arg.starts_with("git://")
            || arg.starts_with("file://")
            || arg.starts_with("ssh://")
            || ((arg.starts_with("https://") || arg.starts_with("http://"))
                && base.ends_with(".git"));
        if git {
            ContextSpec::Git(arg.to_string())
        } else {
            ContextSpec::Dir(PathBuf::from(arg))
        }
    }
}

pub struct Context {
    pub dir: PathBuf,
    pub dockerfile: String,
    pub dockerfile_name: String,
    pub ignore: Matcher,
}

fn ctx_err(msg: String) -> BuildError {
    BuildError::Context(msg)
}

pub fn load(spec: &ContextSpec, dockerfile: Option<&Path>, scratch: &Path) -> Result<Context> {
    let stdin_dockerfile = dockerfile == Some(Path::new("-"));
    let mut stdin_text = None;
    let dir = match spec {
        ContextSpec::Dir(d) => {
            if !d.is_dir() {
                return Err(ctx_err(format!(
                    "unable to prepare context: path {:?} not found or not a directory",
                    d.display().to_string()
                )));
            }
            d.canonicalize()
                .map_err(|e| ctx_err(format!("context {}: {e}", d.display())))?
        }
        ContextSpec::Stdin => {
            if stdin_dockerfile {
                return Err(BuildError::Usage(
                    "invalid argument: can't use stdin for both the build context and the Dockerfile".into(),
                ));
            }
            let (dir, text) = from_stdin(scratch)?;
            stdin_text = text;
            dir
        }
        ContextSpec::Git(url) => clone(url, scratch)?,
    };
    let (text, name, df_path) = if stdin_dockerfile {
        (read_stdin()?, "Dockerfile".to_string(), None)
    } else if let Some(t) = stdin_text {
        (t, "Dockerfile".to_string(), None)
    } else {
        let path = match dockerfile {
            Some(p) if p.is_absolute() || p.exists() => p.to_path_buf(),
            Some(p) => dir.join(p),
            None => dir.join("Dockerfile"),
        };
        let text = fs::read_to_string(&path)
            .map_err(|e| ctx_err(format!("failed to read dockerfile {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (text, name, Some(path))
    };
    let ignore = load_ignore(&dir, df_path.as_deref())?;
    Ok(Context {
        dir,
        dockerfile: text,
        dockerfile_name: name,
        ignore,
    })
}

/// `<Dockerfile>.dockerignore` beside the Dockerfile wins over the
/// context's `.dockerignore` (BuildKit).
fn load_ignore(dir: &Path, dockerfile: Option<&Path>) -> Result<Matcher> {
    let mut candidates = Vec::new();
    if let Some(df) = dockerfile {
        let mut name = df.file_name().unwrap_or_default().to_os_string();
        name.push(".dockerignore");
        candidates.push(df.with_file_name(name));
    }
    candidates.push(dir.join(".dockerignore"));
    for c in candidates {
        if let Ok(text) = fs::read_to_string(&c) {
            let file = c
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Matcher::parse(&text, &file).map_err(|e| ctx_err(e.to_string()));
        }
    }
    Ok(Matcher::default())
}

fn read_stdin() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| ctx_err(format!("reading the Dockerfile from stdin: {e}")))?;
    Ok(s)
}

/// A tar stream (maybe compressed) is the context; anything else is a bare
/// Dockerfile with an empty context.
fn from_stdin(scratch: &Path) -> Result<(PathBuf, Option<String>)> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| ctx_err(format!("reading the context from stdin: {e}")))?;
    let dir = scratch.join("context");
    fs::create_dir(&dir).map_err(|e| ctx_err(format!("{}: {e}", dir.display())))?;
    if is_archive(&bytes) {
        let mut input: &[u8] = &bytes;
        layer::apply_layer(&mut input, &dir, ApplyMode::Flat, &Limits::default())
            .map_err(|e| ctx_err(format!("the context tar on stdin: {e}")))?;
        return Ok((dir, None));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| ctx_err("stdin is neither a tar archive nor a Dockerfile".into()))?;
    Ok((dir, Some(text)))
}

fn is_archive(b: &[u8]) -> bool {
    let compressed = b.starts_with(&[0x1f, 0x8b])
        || b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || b.starts_with(b"BZh")
        || b.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]);
    compressed || (b.len() >= 262 && &b[257..262] == b"ustar")
}

fn clone(url: &str, scratch: &Path) -> Result<PathBuf> {
    clone_into(url, &scratch.join("git"), false).map_err(ctx_err)
}

/// `URL#ref:subdir` as docker reads it: a shallow clone into `dest`, .git
/// removed unless kept (ADD --keep-git-dir); returns the dir to use.
pub fn clone_into(url: &str, dest: &Path, keep_git: bool) -> std::result::Result<PathBuf, String> {
    let (repo, fragment) = match url.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (url, None),
    };
    let (reference, subdir) = match fragment {
        Some(f) => match f.split_once(':') {
            Some((r, s)) => (Some(r).filter(|r| !r.is_empty()), Some(s)),
            None => (Some(f).filter(|r| !r.is_empty()), None),
        },
        None => (None, None),
    };
    let dest = dest.to_path_buf();
    let _ = fs::remove_dir(&dest);
    let mut cmd = Command::new("git");
    cmd.args(["clone", "--quiet", "--depth", "1", "--recurse-submodules"]);
    if let Some(r) = reference {
        cmd.args(["--branch", r]);
    }
    cmd.arg("--").arg(repo).arg(&dest);
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    let out = cmd
        .output()
        .map_err(|e| format!("git clone {repo}: cannot run git: {e} (apt-get install git)"))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let last = msg
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("failed");
        return Err(format!("git clone {repo}: {last}"));
    }
    if !keep_git {
        let _ = fs::remove_dir_all(dest.join(".git"));
    }
    let dest = dest
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dest.display()))?;
    let dir = match subdir {
        Some(s) => {
            let d = dest.join(s.trim_start_matches('/'));
            let real = d
                .canonicalize()
                .map_err(|_| format!("{url}: no directory {s:?} in the repository"))?;
            if !real.starts_with(&dest) || !real.is_dir() {
                return Err(format!(
                    "{url}: {s:?} is not a directory inside the repository"
                ));
            }
            real
        }
        None => dest,
    };
    Ok(dir)
}
