//! The clap structs: runc's flags and names.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "runtime",
    version,
    about = "Berth's OCI runtime (runc-compatible command line)"
)]
pub struct Cli {
    /// Directory for container state.
    #[arg(long, global = true, default_value = "/run/berth")]
    pub root: PathBuf,
    /// Log file (errors and, with --debug, more).
    #[arg(long, global = true)]
    pub log: Option<String>,
    /// Log format: text or json.
    #[arg(long = "log-format", global = true)]
    pub log_format: Option<String>,
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use the systemd cgroup driver (not available without systemd).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Rootless mode: true, false or auto.
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    /// The criu binary `checkpoint` and `restore` drive (default: criu from PATH).
    #[arg(long, global = true)]
    pub criu: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
pub struct CreateArgs {
    pub id: String,
    /// Path to the bundle directory.
    #[arg(long, short = 'b', default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is true.
    #[arg(long = "console-socket")]
    pub console_socket: Option<String>,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root.
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Keep the caller's session keyring.
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass this many fds from 3 up into the container.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Keep the container's state after it exits.
    #[arg(long)]
    pub keep: bool,
    /// Accepted for runc compatibility.
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
}

#[derive(Args)]
pub struct ExecArgs {
    pub id: String,
    /// The command and its arguments (unless --process is given).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    #[arg(long = "console-socket")]
    pub console_socket: Option<String>,
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// KEY=VALUE added to the container's environment.
    #[arg(long, short = 'e')]
    pub env: Vec<String>,
    #[arg(long, short = 't')]
    pub tty: bool,
    /// UID[:GID]
    #[arg(long, short = 'u')]
    pub user: Option<String>,
    #[arg(long = "additional-gids", short = 'g')]
    pub additional_gids: Vec<u32>,
    /// A process.json instead of the flags.
    #[arg(long, short = 'p')]
    pub process: Option<PathBuf>,
    #[arg(long, short = 'd')]
    pub detach: bool,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    #[arg(long)]
    pub apparmor: Option<String>,
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Add a capability (bounding, effective and permitted sets).
    #[arg(long, short = 'c')]
    pub cap: Vec<String>,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Accepted for runc compatibility: the exec joins the container's cgroup.
    #[arg(long)]
    pub cgroup: Vec<String>,
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
}

#[derive(Args)]
pub struct PsArgs {
    /// table or json.
    #[arg(long, short = 'f', default_value = "table")]
    pub format: String,
    pub id: String,
    /// Options for ps (default -ef); --format/-f right after the id count as ours.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// runc's update flags; values stay strings until the library parses them,
/// so that every error names its flag.
#[derive(Args)]
pub struct UpdateArgs {
    pub id: String,
    /// A LinuxResources JSON file, or - for stdin.
    #[arg(long, short = 'r')]
    pub resources: Option<PathBuf>,
    /// Memory limit (bytes, or 128m, 1g; -1 unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap (-1 unlimited).
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Accepted and ignored: the kernel does not limit kernel memory.
    #[arg(long = "kernel-memory", allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    #[arg(long = "kernel-memory-tcp", allow_hyphen_values = true, hide = true)]
    pub kernel_memory_tcp: Option<String>,
    #[arg(long = "cpu-shares", alias = "cpu-share")]
    pub cpu_shares: Option<String>,
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<String>,
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<String>,
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<String>,
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<String>,
    /// Not supported (intelRdt).
    #[arg(long = "l3-cache-schema")]
    pub l3_cache_schema: Option<String>,
    /// Not supported (intelRdt).
    #[arg(long = "mem-bw-schema")]
    pub mem_bw_schema: Option<String>,
}

/// runc's checkpoint flags.
#[derive(Args)]
pub struct CheckpointArgs {
    pub id: String,
    /// Path for saving criu image files (default ./checkpoint).
    #[arg(long = "image-path")]
    pub image_path: Option<PathBuf>,
    /// Path for saving work files and logs.
    #[arg(long = "work-path")]
    pub work_path: Option<PathBuf>,
    /// Path for previous criu image files in pre-dump (relative to --image-path).
    #[arg(long = "parent-path")]
    pub parent_path: Option<PathBuf>,
    /// Leave the process running after checkpointing.
    #[arg(long = "leave-running")]
    pub leave_running: bool,
    /// Allow open tcp connections.
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// Allow external unix sockets.
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// Allow shell jobs.
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// Use userfaultfd to lazily restore memory pages.
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
    /// criu writes \0 to this fd once lazy-pages is ready.
    #[arg(long = "status-fd", default_value_t = -1, allow_hyphen_values = true)]
    pub status_fd: i32,
    /// ADDRESS:PORT of the page server.
    #[arg(long = "page-server")]
    pub page_server: Option<String>,
    /// Handle file locks, for safety.
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// Dump the container's memory only, leaving it running.
    #[arg(long = "pre-dump")]
    pub pre_dump: bool,
    /// cgroups mode: soft (default), full, strict or ignore.
    #[arg(long = "manage-cgroups-mode")]
    pub manage_cgroups_mode: Option<String>,
    /// Create a namespace, but don't restore its properties (network only).
    #[arg(long = "empty-ns")]
    pub empty_ns: Vec<String>,
    /// Enable auto deduplication of memory images.
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
}

/// runc's restore flags.
#[derive(Args)]
pub struct RestoreArgs {
    pub id: String,
    /// Accepted; a container with a terminal cannot be restored (see README).
    #[arg(long = "console-socket")]
    pub console_socket: Option<String>,
    /// Path to criu image files for restoring (default ./checkpoint).
    #[arg(long = "image-path")]
    pub image_path: Option<PathBuf>,
    /// Path for saving work files and logs.
    #[arg(long = "work-path")]
    pub work_path: Option<PathBuf>,
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// cgroups mode: soft (default), full, strict or ignore.
    #[arg(long = "manage-cgroups-mode")]
    pub manage_cgroups_mode: Option<String>,
    /// Path to the bundle directory.
    #[arg(long, short = 'b', default_value = ".")]
    pub bundle: PathBuf,
    /// Detach from the container's process.
    #[arg(long, short = 'd')]
    pub detach: bool,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Accepted for runc compatibility: the restored init is our own child.
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    /// Accepted for runc compatibility: criu restores the mount namespace.
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Create a namespace, but don't restore its properties (network only).
    #[arg(long = "empty-ns")]
    pub empty_ns: Vec<String>,
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
    /// An LSM profile for the restored processes, TYPE:NAME.
    #[arg(long = "lsm-profile")]
    pub lsm_profile: Option<String>,
    /// An LSM mount context for the restored mounts.
    #[arg(long = "lsm-mount-context")]
    pub lsm_mount_context: Option<String>,
}

#[derive(Subcommand)]
// Each verb's flags are built only when it runs: clap would build all of them,
// 260 KB of code, on every call.
#[command(defer = true)]
pub enum Command {
    /// Run a new process in a container.
    Exec(Box<ExecArgs>),
    /// Write a default config.json into the bundle.
    Spec {
        #[arg(long, short = 'b', default_value = ".")]
        bundle: PathBuf,
    },
    /// Print the runtime-spec features document.
    Features,
    /// Create a container; its process waits for `start`.
    Create(CreateArgs),
    /// Create and start a container, and wait for it.
    Run(RunArgs),
    /// Start a created container.
    Start { id: String },
    /// Print a container's state as JSON.
    State { id: String },
    /// Send a signal (default SIGTERM) to a container.
    Kill {
        id: String,
        signal: Option<String>,
        #[arg(long, short = 'a')]
        all: bool,
    },
    /// Delete a container (--force kills a running one).
    Delete {
        id: String,
        #[arg(long, short = 'f')]
        force: bool,
    },
    /// Suspend every process of a container (freezer cgroup).
    Pause { id: String },
    /// Resume a paused container.
    Resume { id: String },
    /// The container's processes: `ps -ef` rows (or the given ps options), or
    /// `--format json`: the JSON array of host pids.
    Ps(PsArgs),
    /// Change a running container's resource limits.
    Update(Box<UpdateArgs>),
    /// Resource statistics and OOM notifications, as JSON lines.
    Events {
        id: String,
        /// Print one stats event and exit.
        #[arg(long)]
        stats: bool,
        /// How often to print stats (a Go duration).
        #[arg(long, default_value = "5s")]
        interval: String,
    },
    /// Checkpoint a running container with criu.
    Checkpoint(Box<CheckpointArgs>),
    /// Restore a container from a checkpoint with criu.
    Restore(Box<RestoreArgs>),
    /// List containers.
    #[command(alias = "ps-all")]
    List {
        #[arg(long, short = 'f', default_value = "table")]
        format: String,
        #[arg(long, short = 'q')]
        quiet: bool,
    },
}

impl Command {
    /// For verbs that start container processes: how many fds from 3 up pass through.
    pub fn preserved_fds(&self) -> Option<u32> {
        match self {
            Command::Create(c) => Some(c.preserve_fds),
            Command::Run(r) => Some(r.create.preserve_fds),
            Command::Exec(e) => Some(e.preserve_fds),
            _ => None,
        }
    }
}

/// Long option names, for turning Go-style `-root` into `--root`.
const LONG: &[&str] = &[
    "root",
    "log",
    "log-format",
    "debug",
    "systemd-cgroup",
    "rootless",
    "criu",
    "bundle",
    "console-socket",
    "pid-file",
    "no-pivot",
    "no-new-keyring",
    "preserve-fds",
    "detach",
    "keep",
    "no-subreaper",
    "force",
    "all",
    "format",
    "quiet",
    "stats",
    "interval",
    "resources",
    "memory",
    "memory-reservation",
    "memory-swap",
    "kernel-memory",
    "kernel-memory-tcp",
    "cpu-shares",
    "cpu-share",
    "cpu-quota",
    "cpu-period",
    "cpu-rt-runtime",
    "cpu-rt-period",
    "cpuset-cpus",
    "cpuset-mems",
    "pids-limit",
    "blkio-weight",
    "l3-cache-schema",
    "mem-bw-schema",
    "image-path",
    "work-path",
    "parent-path",
    "leave-running",
    "tcp-established",
    "ext-unix-sk",
    "shell-job",
    "lazy-pages",
    "status-fd",
    "page-server",
    "file-locks",
    "pre-dump",
    "manage-cgroups-mode",
    "empty-ns",
    "auto-dedup",
    "lsm-profile",
    "lsm-mount-context",
];

pub fn normalize(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    // exec's command line belongs to the container: leave it alone.
    let mut in_exec = false;
    args.map(|a| {
        let Some(s) = a.to_str() else { return a };
        if in_exec {
            return a;
        }
        if s == "exec" || s == "ps" {
            in_exec = true;
            return a;
        }
        if s.starts_with('-') && !s.starts_with("--") && s.len() > 2 {
            let name = s[1..].split('=').next().unwrap_or("");
            if LONG.contains(&name) {
                return OsString::from(format!("-{s}"));
            }
        }
        a
    })
    .collect()
}
