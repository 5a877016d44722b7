//! The command line: docker's container verbs with docker's flags. One file
//! per verb (or per family); errors end here as one line and a non-zero
//! exit (125 for the shim's own errors, as docker).

mod attach;
mod exec;
mod info;
mod inspect;
mod lifecycle;
mod logs;
mod ps;
mod rm;
mod run;
mod stats;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::records::Root;
use crate::runtime::Runtime;

pub const DEFAULT_ROOT: &str = "/var/lib/berth";

#[derive(Parser)]
#[command(
    name = "shim",
    version,
    about = "Berth's container monitor and docker's container verbs, no daemon"
)]
pub struct Cli {
    /// Where container records and logs live.
    #[arg(long, global = true, default_value = DEFAULT_ROOT)]
    root: PathBuf,
    /// The image store (the builder's --root).
    #[arg(long, global = true, default_value = DEFAULT_ROOT)]
    store: PathBuf,
    /// The OCI runtime (default: $BERTH_RUNTIME, or `runtime` beside this binary).
    #[arg(long, global = true)]
    runtime: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create and start a container from an image or a bundle.
    Run(Box<run::RunArgs>),
    /// Create a container without starting it.
    Create(Box<run::RunArgs>),
    /// Start stopped containers.
    Start(lifecycle::StartArgs),
    /// Stop running containers (STOPSIGNAL or SIGTERM, then SIGKILL).
    Stop(lifecycle::StopArgs),
    /// Restart containers.
    Restart(lifecycle::StopArgs),
    /// Send a signal to running containers.
    Kill(lifecycle::KillArgs),
    /// Block until containers stop; print their exit codes.
    Wait(lifecycle::Names),
    /// Pause every process of containers.
    Pause(lifecycle::Names),
    /// Resume paused containers.
    Unpause(lifecycle::Names),
    /// Change a container's resources.
    Update(lifecycle::UpdateArgs),
    /// Attach to a running container's stdio.
    Attach(attach::AttachArgs),
    /// Run a command in a running container.
    Exec(exec::ExecArgs),
    /// List containers.
    Ps(ps::PsArgs),
    /// Show a container's output.
    Logs(logs::LogsArgs),
    /// Show a container's processes.
    Top(stats::TopArgs),
    /// Show containers' resource use.
    Stats(stats::StatsArgs),
    /// Show containers' details as JSON.
    Inspect(inspect::InspectArgs),
    /// Remove containers.
    Rm(rm::RmArgs),
    /// Rename a container.
    Rename { container: String, new_name: String },
    /// Manage containers (prune).
    Container {
        #[command(subcommand)]
        command: ContainerCmd,
    },
    /// System-wide information.
    Info,
    /// Version information.
    Version,
}

#[derive(Subcommand)]
enum ContainerCmd {
    /// Remove every stopped container.
    Prune {
        /// Do not ask (there is no prompt; accepted for docker's scripts).
        #[arg(short, long)]
        force: bool,
    },
}

/// What every verb needs.
pub struct Ctx {
    pub root: Root,
    pub store: PathBuf,
    pub runtime: Runtime,
}

impl Ctx {
    pub fn root_path(&self) -> &Path {
        self.root.path()
    }
}

/// Runs the command line; the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let runtime = cli
        .runtime
        .clone()
        .unwrap_or_else(crate::runtime::default_path);
    let root = match Root::open(&cli.root) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("shim: {e}");
            return 125;
        }
    };
    let ctx = Ctx {
        root,
        store: cli.store.clone(),
        runtime: Runtime::new(&runtime),
    };
    let result = match cli.command {
        Cmd::Run(a) => run::run(&ctx, *a, true),
        Cmd::Create(a) => run::run(&ctx, *a, false),
        Cmd::Start(a) => lifecycle::start(&ctx, a),
        Cmd::Stop(a) => lifecycle::stop(&ctx, a),
        Cmd::Restart(a) => lifecycle::restart(&ctx, a),
        Cmd::Kill(a) => lifecycle::kill(&ctx, a),
        Cmd::Wait(a) => lifecycle::wait(&ctx, a),
        Cmd::Pause(a) => lifecycle::pause(&ctx, a, true),
        Cmd::Unpause(a) => lifecycle::pause(&ctx, a, false),
        Cmd::Update(a) => lifecycle::update(&ctx, a),
        Cmd::Attach(a) => attach::attach(&ctx, a),
        Cmd::Exec(a) => exec::exec(&ctx, a),
        Cmd::Ps(a) => ps::ps(&ctx, a),
        Cmd::Logs(a) => logs::logs(&ctx, a),
        Cmd::Top(a) => stats::top(&ctx, a),
        Cmd::Stats(a) => stats::stats(&ctx, a),
        Cmd::Inspect(a) => inspect::inspect(&ctx, a),
        Cmd::Rm(a) => rm::rm(&ctx, a),
        Cmd::Rename {
            container,
            new_name,
        } => rm::rename(&ctx, &container, &new_name),
        Cmd::Container {
            command: ContainerCmd::Prune { .. },
        } => rm::prune(&ctx),
        Cmd::Info => info::info(&ctx),
        Cmd::Version => info::version(&ctx),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("shim: {e:#}");
            125
        }
    }
}

/// The verbs' result: an exit code, or an error printed as one line.
pub type Outcome = anyhow::Result<i32>;

/// Runs `each` for every name; errors are printed per name (docker's way
/// for verbs over several containers) and make the exit code 1.
pub fn for_each(names: &[String], mut each: impl FnMut(&str) -> anyhow::Result<()>) -> Outcome {
    let mut code = 0;
    for n in names {
        if let Err(e) = each(n) {
            eprintln!("shim: {e:#}");
            code = 1;
        }
    }
    Ok(code)
}
