//! `builder build`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::ValueEnum;

use berth_builder::bundle::Network;
use berth_builder::layer::Compression;
use berth_builder::solver::{self, BuildOptions, ContextSpec, ProgressMode};
use berth_builder::store::Store;

#[derive(Clone, Copy, ValueEnum)]
pub enum NetworkArg {
    None,
    Host,
    Default,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ProgressArg {
    Auto,
    Plain,
    Tty,
    Quiet,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CompressionArg {
    Gzip,
    Zstd,
    Uncompressed,
}

#[derive(clap::Args)]
pub struct Args {
    /// Name (and tag) of the image: name, name:tag, host:port/a/b:tag.
    #[arg(short = 't', long = "tag")]
    tags: Vec<String>,
    /// The Dockerfile (default CONTEXT/Dockerfile; `-` for stdin).
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Build args: K=V, or K to take the value from the environment.
    #[arg(long = "build-arg")]
    build_args: Vec<String>,
    /// The stage to build (default: the last).
    #[arg(long)]
    target: Option<String>,
    /// Run every step again.
    #[arg(long)]
    no_cache: bool,
    /// Only `never` (and `false`): images come from the local store.
    #[arg(long, num_args = 0..=1, default_missing_value = "always")]
    pull: Option<String>,
    /// The OCI runtime that runs RUN steps (default: ours; runc, crun work too).
    #[arg(long)]
    runtime: Option<PathBuf>,
    /// RUN steps' network: none (loopback only) or host.
    #[arg(long, value_enum, default_value = "none")]
    network: NetworkArg,
    #[arg(long, value_enum, default_value = "auto")]
    progress: ProgressArg,
    /// Labels added to the image: K=V.
    #[arg(long = "label")]
    labels: Vec<String>,
    /// Write the image id to this file.
    #[arg(long)]
    iidfile: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "gzip")]
    compression: CompressionArg,
    /// Only the host's platform (linux/amd64 here) can be built.
    #[arg(long)]
    platform: Option<String>,
    /// Secrets for RUN --mount=type=secret: id=ID,src=FILE.
    #[arg(long = "secret")]
    secrets: Vec<String>,
    /// Print only the image id.
    #[arg(short, long)]
    quiet: bool,
    /// The build context: a directory, `-`, or a git URL.
    context: String,
}

pub fn run(root: &Path, a: Args) -> anyhow::Result<i32> {
    if let Some(p) = a.pull.as_deref() {
        if !matches!(p, "never" | "false") {
            bail!("--pull={p}: pulling from a registry is not supported yet; images come from the store (--pull=never)");
        }
    }
    let tags = a
        .tags
        .iter()
        .map(|t| super::tag_of(t))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let opts = BuildOptions {
        context: ContextSpec::parse(&a.context),
        dockerfile: a.file.clone(),
        tags,
        build_args: a.build_args.iter().map(|b| split_kv(b)).collect(),
        target: a.target.clone(),
        no_cache: a.no_cache,
        runtime: runtime_path(a.runtime.as_deref()),
        network: match a.network {
            NetworkArg::Host => Network::Host,
            _ => Network::None,
        },
        labels: a
            .labels
            .iter()
            .map(|l| {
                let (k, v) = split_kv(l);
                (k, v.unwrap_or_default())
            })
            .collect(),
        compression: match a.compression {
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::Zstd => Compression::Zstd,
            CompressionArg::Uncompressed => Compression::Uncompressed,
        },
        platform: a.platform.clone(),
        epoch: epoch()?,
        progress: progress_mode(a.quiet, a.progress),
        secrets: a
            .secrets
            .iter()
            .map(|s| secret(s))
            .collect::<anyhow::Result<_>>()?,
    };
    let store = Store::open(root)?;
    let built = solver::build(&store, &opts)?;
    let id = built.image.id();
    if let Some(f) = &a.iidfile {
        std::fs::write(f, id.to_string()).with_context(|| format!("--iidfile {}", f.display()))?;
    }
    if a.quiet {
        println!("{id}");
    } else {
        let tags = if built.image.tags.is_empty() {
            String::new()
        } else {
            format!(", tagged {}", built.image.tags.join(" "))
        };
        eprintln!(
            "Successfully built {id}{tags} ({} run, {} cached)",
            plural(built.runs, "step"),
            built.cached
        );
    }
    Ok(0)
}

/// auto: a live view when stderr is a terminal, plain lines otherwise.
fn progress_mode(quiet: bool, p: ProgressArg) -> ProgressMode {
    use std::io::IsTerminal;
    match p {
        _ if quiet => ProgressMode::Quiet,
        ProgressArg::Quiet => ProgressMode::Quiet,
        ProgressArg::Plain => ProgressMode::Plain,
        ProgressArg::Tty => ProgressMode::Tty,
        ProgressArg::Auto if std::io::stderr().is_terminal() => ProgressMode::Tty,
        ProgressArg::Auto => ProgressMode::Plain,
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn split_kv(s: &str) -> (String, Option<String>) {
    match s.split_once('=') {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (s.to_string(), None),
    }
}

fn secret(s: &str) -> anyhow::Result<(String, PathBuf)> {
    let (mut id, mut src) = (None, None);
    for part in s.split(',') {
        match part.split_once('=') {
            Some(("id", v)) => id = Some(v.to_string()),
            Some(("src" | "source", v)) => src = Some(PathBuf::from(v)),
            _ => bail!("--secret {s:?}: want id=ID,src=FILE"),
        }
    }
    match (id, src) {
        (Some(i), Some(p)) if p.is_file() => Ok((i, p)),
        (Some(_), Some(p)) => bail!("--secret {s:?}: {} is not a file", p.display()),
        _ => bail!("--secret {s:?}: want id=ID,src=FILE"),
    }
}

fn epoch() -> anyhow::Result<Option<i64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => {
            Ok(Some(v.parse().with_context(|| {
                format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds")
            })?))
        }
        _ => Ok(None),
    }
}

/// --runtime, else $BERTH_RUNTIME, else `runtime` beside this binary, else `runtime` on PATH.
pub fn runtime_path(given: Option<&Path>) -> PathBuf {
    if let Some(p) = given {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("BERTH_RUNTIME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Ok(exe) = std::env::current_exe() {
        let sibling = exe.with_file_name("runtime");
        if sibling.is_file() {
            return sibling;
        }
    }
    PathBuf::from("runtime")
}
