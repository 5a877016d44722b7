//! runc's command line: global flags, then one subcommand. Options may follow
//! the container id (`create ID --bundle B`), and Go-style single-dash long
//! options (`-root X`) are accepted, as runc's flag parser does.

mod args;

use std::io::Write;
use std::path::PathBuf;

use berth_runtime::container::{
    self,
    checkpoint::{CheckpointOpts, CriuFlags},
    create::CreateOpts,
    exec::ExecOpts,
    list::Format,
    restore::RestoreOpts,
    run::RunOpts,
    update::UpdateOpts,
};
use berth_runtime::{features, logging, signal, Error};
use clap::Parser;
use oci_spec::runtime::{Capability, Process};

use args::{Cli, Command};

pub fn main() -> i32 {
    let cli = Cli::parse_from(args::normalize(std::env::args_os()));
    // clap's parser (~130 KB of heap for the running verb alone) is gone now;
    // hand its pages back so that they do not count again in the run's peak.
    // SAFETY: malloc_trim only releases free memory of glibc's allocator.
    unsafe { libc::malloc_trim(0) };
    if let Some(keep) = cli.command.preserved_fds() {
        // Before anything of ours is opened: only stdio and --preserve-fds
        // may reach a container.
        let _ = berth_runtime::syscall::close_from(3 + keep);
    }
    logging::init(
        cli.log.as_deref(),
        cli.log_format.as_deref() == Some("json"),
        cli.debug,
    );
    match dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            logging::error(&e.to_string());
            1
        }
    }
}

/// A line on stdout; a reader that went away (`state ID | head -c1`) is not
/// our failure (println! panicked on EPIPE; runc dies of SIGPIPE quietly).
fn print_line(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}").and_then(|()| out.flush());
}

fn dispatch(cli: &Cli) -> Result<i32, Error> {
    if let Some(f) = cli.log_format.as_deref() {
        if f != "text" && f != "json" {
            return Err(Error::Other(format!(
                "--log-format: {f:?} is not one of text, json"
            )));
        }
    }
    if cli.rootless.as_deref() == Some("true") {
        return Err(Error::Other(
            "--rootless=true: rootless containers are not supported yet; run as root".into(),
        ));
    }
    let root = cli.root.as_path();
    match &cli.command {
        Command::Spec { bundle } => {
            let path = bundle.join("config.json");
            if path.exists() {
                return Err(Error::Other(format!("{}: file exists", path.display())));
            }
            let data = serde_json::to_vec_pretty(&features::default_spec())
                .map_err(|e| Error::Other(e.to_string()))?;
            berth_runtime::state::write_atomic(&path, &data)?;
            Ok(0)
        }
        Command::Features => {
            print_line(&serde_json::to_string_pretty(&features::document()).unwrap_or_default());
            Ok(0)
        }
        Command::Create(c) => {
            container::create::create(create_opts(cli, c)?)?;
            Ok(0)
        }
        Command::Run(r) => container::run::run(RunOpts {
            create: CreateOpts {
                own_start: true,
                ..create_opts(cli, &r.create)?
            },
            detach: r.detach,
            keep: r.keep,
        }),
        Command::Exec(e) => container::exec::exec(exec_opts(cli, e)?),
        Command::Start { id } => {
            container::start::start(root, id)?;
            Ok(0)
        }
        Command::State { id } => {
            print_line(&container::list::state_json(root, id)?);
            Ok(0)
        }
        Command::Kill { id, signal, all } => {
            let sig = signal::parse(signal.as_deref().unwrap_or("SIGTERM"))?;
            container::kill::kill(root, id, sig, *all)?;
            Ok(0)
        }
        Command::Delete { id, force } => {
            container::delete::delete(root, id, *force)?;
            Ok(0)
        }
        Command::Pause { id } => {
            container::pause::pause(root, id)?;
            Ok(0)
        }
        Command::Resume { id } => {
            container::pause::resume(root, id)?;
            Ok(0)
        }
        Command::Ps(p) => {
            // runc takes `ps ID --format json` too: our flags right after the id.
            let mut format = p.format.clone();
            let mut rest = p.ps_args.as_slice();
            loop {
                match rest {
                    [f, v, tail @ ..] if f == "--format" || f == "-f" || f == "-format" => {
                        format = v.clone();
                        rest = tail;
                    }
                    [f, tail @ ..] if f.starts_with("--format=") => {
                        format = f["--format=".len()..].to_string();
                        rest = tail;
                    }
                    _ => break,
                }
            }
            let out = match format.as_str() {
                "json" => container::ps::json(root, &p.id)? + "\n",
                "table" => container::ps::table(root, &p.id, rest)?,
                _ => {
                    return Err(Error::Other(format!(
                        "--format: {format:?} is not one of table, json"
                    )))
                }
            };
            let _ = std::io::stdout().write_all(out.as_bytes());
            Ok(0)
        }
        Command::Update(u) => {
            container::update::update(root, &u.id, &update_opts(u))?;
            Ok(0)
        }
        Command::Events {
            id,
            stats,
            interval,
        } => {
            let every = container::events::parse_duration(interval)?;
            container::events::events(root, id, *stats, every)?;
            Ok(0)
        }
        Command::Checkpoint(c) => {
            container::checkpoint::checkpoint(&CheckpointOpts {
                root: cli.root.clone(),
                id: c.id.clone(),
                criu: CriuFlags {
                    criu: cli.criu.clone(),
                    image_path: c.image_path.clone(),
                    work_path: c.work_path.clone(),
                    tcp_established: c.tcp_established,
                    ext_unix_sk: c.ext_unix_sk,
                    shell_job: c.shell_job,
                    file_locks: c.file_locks,
                    manage_cgroups_mode: c.manage_cgroups_mode.clone(),
                    empty_ns: c.empty_ns.clone(),
                    auto_dedup: c.auto_dedup,
                    lazy_pages: c.lazy_pages,
                },
                parent_path: c.parent_path.clone(),
                leave_running: c.leave_running,
                status_fd: c.status_fd,
                page_server: c.page_server.clone(),
                pre_dump: c.pre_dump,
            })?;
            Ok(0)
        }
        Command::Restore(r) => container::restore::restore(&RestoreOpts {
            root: cli.root.clone(),
            id: r.id.clone(),
            criu: CriuFlags {
                criu: cli.criu.clone(),
                image_path: r.image_path.clone(),
                work_path: r.work_path.clone(),
                tcp_established: r.tcp_established,
                ext_unix_sk: r.ext_unix_sk,
                shell_job: r.shell_job,
                file_locks: r.file_locks,
                manage_cgroups_mode: r.manage_cgroups_mode.clone(),
                empty_ns: r.empty_ns.clone(),
                auto_dedup: r.auto_dedup,
                lazy_pages: r.lazy_pages,
            },
            bundle: r.bundle.clone(),
            detach: r.detach,
            pid_file: r.pid_file.clone(),
            lsm_profile: r.lsm_profile.clone(),
            lsm_mount_context: r.lsm_mount_context.clone(),
            systemd_cgroup: cli.systemd_cgroup,
        }),
        Command::List { format, quiet } => {
            let f = if *quiet {
                Format::Quiet
            } else if format == "json" {
                Format::Json
            } else if format == "table" {
                Format::Table
            } else {
                return Err(Error::Other(format!(
                    "--format: {format:?} is not one of table, json"
                )));
            };
            let out = container::list::list(root, f)?;
            let _ = std::io::stdout().write_all(out.as_bytes());
            Ok(0)
        }
    }
}

fn update_opts(u: &args::UpdateArgs) -> UpdateOpts {
    UpdateOpts {
        resources: u.resources.clone(),
        memory: u.memory.clone(),
        memory_reservation: u.memory_reservation.clone(),
        memory_swap: u.memory_swap.clone(),
        kernel_memory: u.kernel_memory.clone(),
        kernel_memory_tcp: u.kernel_memory_tcp.clone(),
        cpu_shares: u.cpu_shares.clone(),
        cpu_quota: u.cpu_quota.clone(),
        cpu_period: u.cpu_period.clone(),
        cpu_rt_runtime: u.cpu_rt_runtime.clone(),
        cpu_rt_period: u.cpu_rt_period.clone(),
        cpuset_cpus: u.cpuset_cpus.clone(),
        cpuset_mems: u.cpuset_mems.clone(),
        pids_limit: u.pids_limit.clone(),
        blkio_weight: u.blkio_weight.clone(),
        l3_cache_schema: u.l3_cache_schema.clone(),
        mem_bw_schema: u.mem_bw_schema.clone(),
    }
}

fn create_opts(cli: &Cli, c: &args::CreateArgs) -> Result<CreateOpts, Error> {
    if cli.systemd_cgroup {
        return Err(Error::Other(
            "--systemd-cgroup: the systemd cgroup driver is not supported on this host (no systemd running); use the cgroupfs driver".into(),
        ));
    }
    Ok(CreateOpts {
        root: cli.root.clone(),
        id: c.id.clone(),
        bundle: c.bundle.clone(),
        console: None,
        console_socket: c.console_socket.as_ref().map(PathBuf::from),
        own_start: false,
        pid_file: c.pid_file.clone(),
        no_pivot: c.no_pivot,
        no_new_keyring: c.no_new_keyring,
        preserve_fds: c.preserve_fds,
        systemd_cgroup: cli.systemd_cgroup,
    })
}

fn exec_opts(cli: &Cli, e: &args::ExecArgs) -> Result<ExecOpts, Error> {
    let process = match &e.process {
        Some(file) => {
            let data =
                std::fs::read(file).map_err(|err| Error::io(file.display().to_string(), err))?;
            serde_json::from_slice::<Process>(&data).map_err(|err| Error::Config {
                file: file.clone(),
                msg: err.to_string(),
            })?
        }
        None => process_from_flags(cli, e)?,
    };
    Ok(ExecOpts {
        root: cli.root.clone(),
        id: e.id.clone(),
        process,
        console: None,
        console_socket: e.console_socket.as_ref().map(PathBuf::from),
        pid_file: e.pid_file.clone(),
        detach: e.detach,
        preserve_fds: e.preserve_fds,
        ignore_paused: e.ignore_paused,
    })
}

/// runc's exec flags over the container's own process: its env (plus
/// --env), user, capabilities, rlimits and cwd unless overridden.
fn process_from_flags(cli: &Cli, e: &args::ExecArgs) -> Result<Process, Error> {
    let (_dir, st, _status) = container::load(&cli.root, &e.id)?;
    let file = st.bundle.join("config.json");
    let data = std::fs::read(&file).map_err(|err| Error::io(file.display().to_string(), err))?;
    let spec = berth_runtime::spec::parse(&file, &data)?;
    let mut p = spec.process().clone().unwrap_or_default();
    if e.command.is_empty() {
        return Err(Error::Other("exec: no command given".into()));
    }
    p.set_args(Some(e.command.clone()));
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &e.env {
        let key = kv.split('=').next().unwrap_or("");
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(cwd) = &e.cwd {
        p.set_cwd(cwd.clone());
    }
    let mut user = p.user().clone();
    if let Some(u) = &e.user {
        let (uid, gid) = u.split_once(':').unwrap_or((u, ""));
        let bad = || Error::Other(format!("--user {u:?}: want UID[:GID] as numbers"));
        user.set_uid(uid.parse().map_err(|_| bad())?);
        if !gid.is_empty() {
            user.set_gid(gid.parse().map_err(|_| bad())?);
        }
    }
    if !e.additional_gids.is_empty() {
        user.set_additional_gids(Some(e.additional_gids.clone()));
    }
    p.set_user(user);
    if !e.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let mut add = std::collections::HashSet::new();
        for c in &e.cap {
            let cap: Capability = serde_json::from_value(serde_json::Value::String(c.clone()))
                .map_err(|_| Error::Other(format!("--cap {c:?}: unknown capability")))?;
            add.insert(cap);
        }
        let extend = |set: &Option<std::collections::HashSet<Capability>>| {
            let mut s = set.clone().unwrap_or_default();
            s.extend(add.iter().copied());
            Some(s)
        };
        caps.set_bounding(extend(caps.bounding()));
        caps.set_effective(extend(caps.effective()));
        caps.set_permitted(extend(caps.permitted()));
        p.set_capabilities(Some(caps));
    }
    if e.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    p.set_terminal(Some(e.tty));
    Ok(p)
}
