//! `run` and `create`: flags checked, the image's rootfs mounted (an overlay
//! of its layer dirs, no copy), config.json written, the record made, then
//! the monitor started; attached (no -d) the caller streams until the
//! container exits and exits with its code. Any failure removes what was
//! made: no record, name, mount or dir is left.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::Args;

use berth_builder::snapshot::{Parts, Snapshot};
use berth_builder::store::Store;

use super::attach::{self, Options};
use super::{Ctx, Outcome};
use crate::logs::{Driver, Rotation};
use crate::options;
use crate::records::{self, Config, HostConfig, LogConfig, Record, State};
use crate::spec::{self, Inputs};

#[derive(Args, Clone, Default)]
pub struct RunArgs {
    /// Run in the background and print the container's id.
    #[arg(short, long)]
    pub detach: bool,
    /// Keep stdin open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a terminal.
    #[arg(short, long)]
    pub tty: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    #[arg(long)]
    pub env_file: Vec<PathBuf>,
    #[arg(short, long)]
    pub workdir: Option<String>,
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// USER[:GROUP], by name or id.
    #[arg(short, long)]
    pub user: Option<String>,
    /// HOST-DIR:CONTAINER-DIR[:ro|rw]
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    #[arg(long)]
    pub read_only: bool,
    /// no, always, unless-stopped, on-failure[:N]
    #[arg(long, default_value = "no")]
    pub restart: String,
    #[arg(long)]
    pub stop_signal: Option<String>,
    #[arg(long)]
    pub stop_timeout: Option<u64>,
    #[arg(long)]
    pub entrypoint: Option<String>,
    #[arg(long)]
    pub cidfile: Option<PathBuf>,
    /// k8s-file (CRI lines), json-file or none.
    #[arg(long, default_value = "k8s-file")]
    pub log_driver: String,
    /// max-size=N, max-file=N (comma-separated or repeated).
    #[arg(long)]
    pub log_opt: Vec<String>,
    #[arg(short, long)]
    pub memory: Option<String>,
    #[arg(long)]
    pub memory_swap: Option<String>,
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<u64>,
    #[arg(long)]
    pub cpus: Option<f64>,
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    #[arg(long)]
    pub pids_limit: Option<i64>,
    #[arg(long)]
    pub ulimit: Vec<String>,
    #[arg(long)]
    pub cap_add: Vec<String>,
    #[arg(long)]
    pub cap_drop: Vec<String>,
    #[arg(long)]
    pub privileged: bool,
    /// seccomp=FILE|unconfined
    #[arg(long)]
    pub security_opt: Vec<String>,
    #[arg(long)]
    pub device: Vec<String>,
    /// Run an init inside that reaps zombies and forwards signals.
    #[arg(long)]
    pub init: bool,
    #[arg(short, long)]
    pub label: Vec<String>,
    #[arg(long)]
    pub annotation: Vec<String>,
    /// none (loopback only) or host; networks come with the next release.
    #[arg(long, default_value = "none")]
    pub network: String,
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    pub detach_keys: String,
    /// A prepared OCI bundle instead of an image.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// IMAGE [COMMAND [ARG...]] (with --bundle: no image).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Everything checked before anything is made.
struct Plan {
    image: Option<String>,
    inputs: Inputs,
    config: Config,
    host: HostConfig,
}

fn key_values(items: &[String], what: &str) -> anyhow::Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|i| match i.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            None if !i.is_empty() => Ok((i.to_string(), String::new())),
            _ => Err(anyhow!("invalid {what} {i:?}: use KEY=VALUE")),
        })
        .collect()
}

fn plan(a: &RunArgs) -> anyhow::Result<Plan> {
    let mut rest = a.args.clone();
    let image = if a.bundle.is_some() {
        if a.init {
            bail!("--init needs an IMAGE: a --bundle's config.json runs as it is");
        }
        None
    } else {
        if rest.is_empty() {
            bail!("\"run\" requires at least 1 argument: IMAGE [COMMAND] [ARG...]");
        }
        Some(rest.remove(0))
    };
    let policy = options::parse_restart(&a.restart)?;
    if a.rm && policy.name != "no" {
        bail!("Conflicting options: --restart and --rm");
    }
    let mut log_opts = BTreeMap::new();
    for (k, v) in key_values(
        &a.log_opt
            .iter()
            .flat_map(|o| o.split(',').map(String::from))
            .collect::<Vec<_>>(),
        "--log-opt",
    )? {
        log_opts.insert(k, v);
    }
    Driver::parse(&a.log_driver)?;
    Rotation::from_opts(&log_opts)?;
    if let Some(p) = log_opts.get("path") {
        let p = Path::new(p);
        if !p.is_absolute() || !p.parent().is_some_and(Path::is_dir) || p.is_dir() {
            bail!(
                "invalid log option path={}: an absolute file path in an existing directory",
                p.display()
            );
        }
    }
    if let Some(s) = &a.stop_signal {
        options::parse_signal(s)?;
    }
    let network = match a.network.as_str() {
        "none" | "" => false,
        "host" => true,
        other => {
            bail!("network {other:?} is not available yet: use --network none or --network host")
        }
    };
    let mut env = Vec::new();
    for f in &a.env_file {
        env.extend(options::read_env_file(f)?);
    }
    env.extend(a.env.iter().filter_map(|e| options::env_item(e)));
    let volumes = a
        .volume
        .iter()
        .map(|v| options::parse_volume(v))
        .collect::<Result<Vec<_>, _>>()?;
    let ulimits = a
        .ulimit
        .iter()
        .map(|u| options::parse_ulimit(u))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seccomp = None;
    for o in &a.security_opt {
        match o.split_once(['=', ':']) {
            Some(("seccomp", "unconfined")) => seccomp = Some(None),
            Some(("seccomp", f)) => seccomp = Some(Some(PathBuf::from(f))),
            Some(("no-new-privileges", _)) | Some(("label", _)) | Some(("apparmor", _)) => {}
            _ if o == "no-new-privileges" => {}
            _ => bail!("invalid --security-opt {o:?}: use seccomp=FILE|unconfined"),
        }
    }
    let memory = a.memory.as_deref().map(options::parse_bytes).transpose()?;
    if memory.is_some_and(|m| m < 6 << 20) {
        bail!("Minimum memory limit allowed is 6MB");
    }
    let memory_swap = match a.memory_swap.as_deref() {
        None => None,
        Some("-1") => Some(-1),
        Some(s) => {
            let n = options::parse_bytes(s)? as i64;
            if memory.is_none_or(|m| (m as i64) > n) {
                bail!("Minimum memoryswap limit should be larger than memory limit, see usage");
            }
            Some(n)
        }
    };
    if a.cpus.is_some_and(|c| !(c > 0.0 && c.is_finite())) {
        bail!("invalid --cpus: must be a positive number");
    }
    let labels: BTreeMap<String, String> = key_values(&a.label, "--label")?.into_iter().collect();
    let annotations = key_values(&a.annotation, "--annotation")?;
    let inputs = Inputs {
        args: rest.clone(),
        entrypoint: a.entrypoint.clone(),
        env,
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        hostname: a.hostname.clone().unwrap_or_default(),
        host_network: network,
        volumes,
        readonly: a.read_only,
        tty: a.tty,
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        privileged: a.privileged,
        seccomp,
        memory,
        memory_swap,
        cpu_shares: a.cpu_shares,
        cpus: a.cpus,
        cpuset_cpus: a.cpuset_cpus.clone(),
        pids_limit: a.pids_limit,
        ulimits,
        devices: a.device.clone(),
        annotations,
        stop_signal: a.stop_signal.clone(),
        init: a
            .init
            .then(crate::init::locate)
            .transpose()
            .map_err(|e| anyhow!(e))?,
        etc_files: Vec::new(),
        cgroups_path: String::new(),
    };
    let host = HostConfig {
        binds: a.volume.clone(),
        network_mode: if network { "host" } else { "none" }.into(),
        restart_policy: policy,
        auto_remove: a.rm,
        log_config: LogConfig {
            kind: a.log_driver.clone(),
            opts: log_opts,
        },
        privileged: a.privileged,
        readonly_rootfs: a.read_only,
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        init: a.init,
        memory: memory.unwrap_or(0) as i64,
        memory_swap: memory_swap.unwrap_or(0),
        cpu_shares: a.cpu_shares.unwrap_or(0),
        nano_cpus: a.cpus.map_or(0, |c| (c * 1e9) as i64),
        cpuset_cpus: a.cpuset_cpus.clone().unwrap_or_default(),
        pids_limit: a.pids_limit.unwrap_or(0),
        ulimits: a.ulimit.clone(),
        devices: a.device.clone(),
        security_opt: a.security_opt.clone(),
        runtime: String::new(),
        container_id_file: a
            .cidfile
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_default(),
    };
    let config = Config {
        tty: a.tty,
        open_stdin: a.interactive,
        attach_stdin: a.interactive && !a.detach,
        attach_stdout: !a.detach,
        attach_stderr: !a.detach,
        stdin_once: a.interactive && !a.detach,
        labels,
        stop_timeout: a.stop_timeout.unwrap_or(10),
        image: image.clone().unwrap_or_default(),
        ..Default::default()
    };
    Ok(Plan {
        image,
        inputs,
        config,
        host,
    })
}

/// Removes a half-made container unless disarmed.
struct Undo<'a> {
    ctx: &'a Ctx,
    id: String,
    /// The name claimed, released even before the record holding it exists.
    name: Option<String>,
    armed: bool,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if self.armed {
            let rootfs = self.ctx.root.dir(&self.id).join("rootfs");
            crate::cleanup::unmount_rootfs(&rootfs);
            if let Err(e) = crate::cleanup::remove(&self.ctx.root, &self.id) {
                eprintln!("shim: cleaning up: {e}");
            }
            if let Some(n) = &self.name {
                self.ctx.root.release_name(n, &self.id);
            }
            if let Ok(store) = Store::open(&self.ctx.store) {
                store.release(&crate::records::holder(&self.id));
            }
        }
    }
}

pub fn run(ctx: &Ctx, a: RunArgs, start: bool) -> Outcome {
    let plan = plan(&a)?;
    if let Some(f) = &a.cidfile {
        if f.exists() {
            bail!(
                "Container ID file found, make sure the other container isn't running or delete {}",
                f.display()
            );
        }
    }
    let store_image = match &plan.image {
        Some(name) => {
            let store = Store::open(&ctx.store)
                .with_context(|| format!("opening the image store {}", ctx.store.display()))?;
            let image = store
                .resolve(name)
                .map_err(|_| anyhow!("Unable to find image '{name}' in {}", ctx.store.display()))?;
            Some((store, image))
        }
        None => None,
    };
    let id = ctx.root.new_id()?;
    let dir = ctx.root.dir(&id);
    std::fs::create_dir(&dir).with_context(|| dir.display().to_string())?;
    let mut undo = Undo {
        ctx,
        id: id.clone(),
        name: None,
        armed: true,
    };
    let name = match &a.name {
        Some(n) => {
            ctx.root.claim_name(n, &id)?;
            n.clone()
        }
        None => ctx.root.claim_random_name(&id)?,
    };
    undo.name = Some(name.clone());
    let mut record = Record {
        id: id.clone(),
        name,
        created: berth_builder::clock::now_rfc3339(),
        store: ctx.store.clone(),
        config: plan.config.clone(),
        host: HostConfig {
            runtime: ctx.runtime.path.display().to_string(),
            ..plan.host.clone()
        },
        ..Default::default()
    };
    match (&store_image, &a.bundle) {
        (Some((store, image)), _) => {
            from_image(&dir, store, image, &plan, &mut record)?;
        }
        (None, Some(bundle)) => from_bundle(bundle, &mut record)?,
        (None, None) => unreachable!("plan() requires an image or --bundle"),
    }
    ctx.root.write_state(&id, &State::default())?;
    ctx.root.write_record(&record)?;
    if let Some(f) = &a.cidfile {
        std::fs::write(f, &id).with_context(|| format!("--cidfile {}", f.display()))?;
    }
    if !start {
        undo.armed = false;
        println!("{id}");
        return Ok(0);
    }
    if a.detach {
        if let Err(code) = report(start_monitor(ctx, &id, None, None)) {
            return Ok(code);
        }
        undo.armed = false;
        println!("{id}");
        return Ok(0);
    }
    let (ours, theirs) = UnixStream::pair().context("socketpair")?;
    let opts = Options {
        stdin: a.interactive,
        tty: a.tty,
        detach_keys: attach::parse_keys(&a.detach_keys)?,
        sig_proxy: !a.tty,
    };
    let winsize = if a.tty { attach::window_size() } else { None };
    if let Err(code) = report(start_monitor(ctx, &id, Some(theirs.into()), winsize)) {
        return Ok(code);
    }
    undo.armed = false;
    attach::stream(ours, &opts)
}

/// A start that failed: its line printed, docker's exit code for it (126:
/// the command cannot be run, 127: it is not there, 125: anything else).
fn report(r: anyhow::Result<()>) -> Result<(), i32> {
    let Err(e) = r else { return Ok(()) };
    let msg = format!("{e:#}");
    eprintln!("shim: {msg}");
    Err(start_failure_code(&msg))
}

/// docker's exit code for a process that could not be started: 127 when
/// it is not there, 126 when it cannot be run, 125 for anything else.
pub fn start_failure_code(msg: &str) -> i32 {
    let low = msg.to_ascii_lowercase();
    if low.contains("no such file") || low.contains("not found") {
        127
    } else if low.contains("permission denied") {
        126
    } else {
        125
    }
}

/// Starts the monitor; a failure is the runtime's one line, with docker's
/// exit codes (126: cannot be run, 127: not found).
pub fn start_monitor(
    ctx: &Ctx,
    id: &str,
    attach: Option<OwnedFd>,
    winsize: Option<(u16, u16)>,
) -> anyhow::Result<()> {
    crate::monitor::spawn::spawn(ctx.root_path(), id, &ctx.runtime.path, attach, winsize)
        .map_err(|e| anyhow::Error::new(StartError(e)))
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

fn from_image(
    dir: &Path,
    store: &Store,
    image: &berth_builder::store::Image,
    plan: &Plan,
    record: &mut Record,
) -> anyhow::Result<()> {
    // Held before the layers are looked up: an rmi + prune meanwhile keeps them.
    store.hold(&crate::records::holder(&record.id), image)?;
    let lowers = store.unpacked_layers(&image.config.rootfs.diff_ids, &image.manifest.layers)?;
    let rootfs = dir.join("rootfs");
    let parts = Parts {
        upper: dir.join("upper"),
        work: dir.join("work"),
        merged: rootfs.clone(),
        empty: dir.join("empty"),
    };
    Snapshot::mount_parts(&lowers, &parts)?.keep();
    record.rootfs_mount = Some(rootfs.clone());
    record.image = plan.image.clone().unwrap_or_default();
    record.image_id = image.id().to_string();
    let mut inputs = plan.inputs.clone();
    if inputs.hostname.is_empty() {
        inputs.hostname = record.id[..12].to_string();
    }
    inputs.cgroups_path = crate::monitor::cgroup_path(&record.id);
    inputs.etc_files = etc_files(dir, &inputs.hostname, inputs.host_network)?;
    let config = spec::from_image(&image.config, &rootfs, &inputs)?;
    berth_builder::store::atomic::write(
        &dir.join("config.json"),
        &serde_json::to_vec_pretty(&config)?,
    )
    .context("writing config.json")?;
    record.bundle = dir.to_path_buf();
    fill_config(record, &config, &image.config.config, &inputs);
    Ok(())
}

/// What inspect shows as Config, from the final config.json.
fn fill_config(
    record: &mut Record,
    config: &serde_json::Value,
    image: &berth_builder::image::ContainerConfig,
    i: &Inputs,
) {
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let c = &mut record.config;
    record.args = strings(&config["process"]["args"]);
    // docker's Config.Env: the image's and the flags', not the runtime
    // defaults (PATH, HOME) the process also gets.
    let image_env = image.env.clone().unwrap_or_default();
    c.env = spec::merge_env(&image_env, &i.env);
    c.working_dir = config["process"]["cwd"].as_str().unwrap_or("/").into();
    c.hostname = i.hostname.clone();
    c.user = i
        .user
        .clone()
        .or_else(|| image.user.clone())
        .unwrap_or_default();
    c.entrypoint = match &i.entrypoint {
        Some(e) if e.is_empty() => vec![],
        Some(e) => vec![e.clone()],
        None => image.entrypoint.clone().unwrap_or_default(),
    };
    c.cmd = if !i.args.is_empty() {
        i.args.clone()
    } else if i.entrypoint.is_some() {
        vec![]
    } else {
        image.cmd.clone().unwrap_or_default()
    };
    c.stop_signal = i
        .stop_signal
        .clone()
        .or_else(|| image.stop_signal.clone())
        .unwrap_or_else(|| "SIGTERM".into());
    c.exposed_ports = image
        .exposed_ports
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    c.volumes = image
        .volumes
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    let mut labels: BTreeMap<String, String> = image.labels.clone().unwrap_or_default();
    labels.append(&mut c.labels);
    c.labels = labels;
}

/// /etc/hostname, /etc/hosts and /etc/resolv.conf as files of the
/// container's dir, bind-mounted in (docker's way: edits stay the
/// container's, the image is untouched).
fn etc_files(dir: &Path, hostname: &str, host_net: bool) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let hosts = if host_net {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        format!(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
             fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n\
             ff02::2\tip6-allrouters\n127.0.0.1\t{hostname}\n"
        )
    };
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let files = [
        ("hostname", format!("{hostname}\n"), "/etc/hostname"),
        ("hosts", hosts, "/etc/hosts"),
        ("resolv.conf", resolv, "/etc/resolv.conf"),
    ];
    let mut out = Vec::new();
    for (name, text, dst) in files {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| p.display().to_string())?;
        out.push((p, dst.to_string()));
    }
    Ok(out)
}

fn from_bundle(bundle: &Path, record: &mut Record) -> anyhow::Result<()> {
    let bundle = bundle
        .canonicalize()
        .with_context(|| format!("--bundle {}", bundle.display()))?;
    let path = bundle.join("config.json");
    let config: serde_json::Value = records::read_json(&path)?;
    let args = config["process"]["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    record.args = args;
    // The bundle's process.terminal decides, not -t.
    record.config.tty = config["process"]["terminal"].as_bool().unwrap_or(false);
    record.config.stop_signal = "SIGTERM".into();
    record.bundle = bundle;
    Ok(())
}
