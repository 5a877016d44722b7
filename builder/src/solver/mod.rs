//! The solver: walks a parsed Dockerfile's stages (only those the target
//! needs, independent ones at once), dispatches each instruction against the
//! stage's state, looks RUN/COPY/ADD/WORKDIR steps up in the build cache by
//! key, runs the rest over overlay snapshots, and writes the image last.

mod args;
mod commit;
mod context;
mod copy;
mod fetch;
mod fscopy;
mod graph;
mod interrupt;
mod key;
mod meta;
mod mounts;
mod progress;
mod run;
mod scratch;
mod stage;
mod statcache;
mod tls;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use context::ContextSpec;
pub use interrupt::{install as install_interrupt_handler, interrupted};
pub use progress::Mode as ProgressMode;

use crate::bundle::Network;
use crate::dockerfile::{self, ParseError};
use crate::layer::Compression;
use crate::store::{Image, Store, StoreError};

/// `builder build`'s options.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub context: ContextSpec,
    /// -f: a path, or None for CONTEXT/Dockerfile; Some("-") is stdin.
    pub dockerfile: Option<PathBuf>,
    pub tags: Vec<String>,
    pub build_args: Vec<(String, Option<String>)>,
    pub target: Option<String>,
    pub no_cache: bool,
    pub runtime: PathBuf,
    pub network: Network,
    pub labels: Vec<(String, String)>,
    pub compression: Compression,
    pub platform: Option<String>,
    /// SOURCE_DATE_EPOCH: timestamps and mtimes for reproducible digests.
    pub epoch: Option<i64>,
    /// Plain lines, a live view on a terminal, or nothing.
    pub progress: ProgressMode,
    /// --secret id=ID,src=FILE: what RUN --mount=type=secret mounts.
    pub secrets: Vec<(String, PathBuf)>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("{0}")]
    Context(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A step failed: `at` is `Dockerfile:LINE`.
    #[error("{at}: {instruction}: {message}")]
    Step {
        at: String,
        instruction: String,
        message: String,
    },
    #[error("{0}")]
    Usage(String),
    #[error("build interrupted")]
    Interrupted,
}

pub type Result<T> = std::result::Result<T, BuildError>;

/// What a build made, and what it did (the tests count container runs).
pub struct Built {
    pub image: Image,
    pub runs: usize,
    pub cached: usize,
}

/// Counters shared by the stages of one build.
#[derive(Default)]
struct Counters {
    runs: AtomicUsize,
    cached: AtomicUsize,
}

/// Builds the image and tags it.
pub fn build(store: &Store, opts: &BuildOptions) -> Result<Built> {
    check_platform(opts.platform.as_deref())?;
    let _held = store.build_lock()?;
    let held = store.temp_dir()?;
    let scratch = scratch::Scratch::new(held.path()).map_err(|e| StoreError::Io {
        path: held.path().to_path_buf(),
        source: e,
    })?;
    let ctx = context::load(&opts.context, opts.dockerfile.as_deref(), held.path())?;
    let file = dockerfile::parse(&ctx.dockerfile, &ctx.dockerfile_name)?;
    let progress = progress::Progress::new(opts.progress);
    let counters = Counters::default();
    let stat_cache = statcache::StatCache::load(&store.root().join("cache/files.json"));
    let env = stage::BuildEnv {
        store,
        opts,
        ctx: &ctx,
        file: &file,
        progress: &progress,
        counters: &counters,
        scratch: &scratch,
        stat_cache: &stat_cache,
    };
    let plan = graph::plan(&env)?;
    let result = graph::execute(&env, &plan);
    stat_cache.save();
    let result = result?;
    let image = stage::write_image(&env, &result)?;
    args::warn_unused(&env, &plan);
    Ok(Built {
        image,
        runs: counters.runs.load(Ordering::Relaxed),
        cached: counters.cached.load(Ordering::Relaxed),
    })
}

pub(crate) fn check_platform(p: Option<&str>) -> Result<()> {
    let host = crate::image::host_platform();
    let want = format!("{}/{}", host.os, host.architecture);
    match p {
        None => Ok(()),
        Some(p) if p == want || p == host.os => Ok(()),
        Some(p) => Err(BuildError::Usage(format!(
            "--platform {p}: only the host's platform ({want}) can be built here"
        ))),
    }
}
