//! start, stop, restart, kill, wait, pause, unpause, update: each asks the
//! container's monitor over its socket, or, when the monitor is gone (kill -9),
//! drives the runtime itself so the container can still be ended and cleaned.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::Args;

use super::attach::{self, Options};
use super::{for_each, Ctx, Outcome};
use crate::options;
use crate::proto::{self, Kind};
use crate::records::{state, Record, State, Status};

#[derive(Args)]
pub struct Names {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args)]
pub struct StartArgs {
    /// Attach stdout/stderr and pass signals on.
    #[arg(short, long)]
    attach: bool,
    /// Attach stdin.
    #[arg(short, long)]
    interactive: bool,
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    detach_keys: String,
    #[arg(required = true)]
    containers: Vec<String>,
}

#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait before SIGKILL (default: the container's --stop-timeout, 10).
    #[arg(short, long)]
    time: Option<u64>,
    /// The signal (default: the image's STOPSIGNAL, or SIGTERM).
    #[arg(short, long)]
    signal: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

#[derive(Args)]
pub struct KillArgs {
    #[arg(short, long, default_value = "KILL")]
    signal: String,
    #[arg(required = true)]
    containers: Vec<String>,
}

#[derive(Args)]
pub struct UpdateArgs {
    #[arg(short, long)]
    memory: Option<String>,
    #[arg(long)]
    memory_swap: Option<String>,
    #[arg(short = 'c', long)]
    cpu_shares: Option<u64>,
    #[arg(long)]
    cpus: Option<f64>,
    #[arg(long)]
    cpuset_cpus: Option<String>,
    #[arg(long)]
    pids_limit: Option<i64>,
    #[arg(long)]
    restart: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

fn observed(ctx: &Ctx, id: &str) -> anyhow::Result<State> {
    Ok(state::observe(&ctx.root, id, ctx.root.state(id)?))
}

/// Sends one frame to the monitor and reads the answer.
fn ask(ctx: &Ctx, id: &str, kind: Kind, payload: &[u8]) -> anyhow::Result<Option<(Kind, Vec<u8>)>> {
    let mut s = crate::monitor::connect(&ctx.root.dir(id))?;
    // A stuck monitor must not hang the verb: stop waits its timeout plus
    // a margin, the rest a minute.
    let secs = if kind == Kind::Stop {
        proto::u32_at(payload, 4) as u64 + 30
    } else {
        60
    };
    if kind != Kind::Wait {
        s.set_read_timeout(Some(Duration::from_secs(secs)))?;
    }
    proto::write_frame(&mut s, kind, payload)?;
    Ok(proto::read_frame(&mut s)?)
}

pub fn start(ctx: &Ctx, a: StartArgs) -> Outcome {
    if a.attach && a.containers.len() > 1 {
        bail!("you cannot start and attach multiple containers at once");
    }
    if a.attach || a.interactive {
        let id = ctx.root.resolve(&a.containers[0])?;
        let r = ctx.root.record(&id)?;
        if observed(ctx, &id)?.status.is_live() {
            return Ok(0);
        }
        prepare(ctx, &r)?;
        let (ours, theirs) = UnixStream::pair().context("socketpair")?;
        let tty = r.config.tty;
        let winsize = if tty { attach::window_size() } else { None };
        super::run::start_monitor(ctx, &id, Some(theirs.into()), winsize)?;
        let o = Options {
            stdin: a.interactive && r.config.open_stdin,
            tty,
            detach_keys: attach::parse_keys(&a.detach_keys)?,
            sig_proxy: !tty,
        };
        return attach::stream(ours, &o);
    }
    for_each(&a.containers, |name| {
        let id = ctx.root.resolve(name)?;
        if !observed(ctx, &id)?.status.is_live() {
            let r = ctx.root.record(&id)?;
            prepare(ctx, &r)?;
            super::run::start_monitor(ctx, &id, None, None)?;
        }
        println!("{name}");
        Ok(())
    })
}

/// Before a monitor starts again: the rootfs mounted (after a reboot it is
/// not), no runtime state left from a monitor that died.
fn prepare(ctx: &Ctx, r: &Record) -> anyhow::Result<()> {
    // The monitor of the last run may still be finishing (`stop` returns
    // once the exit is recorded): wait for it, as docker's start does.
    if !ctx.root.wait_monitor_end(&r.id, MONITOR_END) {
        bail!(
            "container {} is being started or stopped by another command",
            r.name
        );
    }
    let _ = ctx.runtime.delete(&r.id, true);
    if let Some(m) = &r.rootfs_mount {
        if !crate::cleanup::is_mountpoint(m) {
            remount(r, m)?;
        }
    }
    Ok(())
}

/// How long a finishing monitor may take: its clients get 5 s to drain.
const MONITOR_END: Duration = Duration::from_secs(10);

fn remount(r: &Record, rootfs: &std::path::Path) -> anyhow::Result<()> {
    let store = berth_builder::store::Store::open(&r.store)?;
    let image = store.resolve(&r.image_id).map_err(|_| {
        anyhow!(
            "the image of {} ({}) is gone from the store",
            r.name,
            r.image
        )
    })?;
    let lowers = store.unpacked_layers(&image.config.rootfs.diff_ids, &image.manifest.layers)?;
    let dir = rootfs.parent().unwrap_or(rootfs);
    let parts = berth_builder::snapshot::Parts {
        upper: dir.join("upper"),
        work: dir.join("work"),
        merged: rootfs.to_path_buf(),
        empty: dir.join("empty"),
    };
    berth_builder::snapshot::Snapshot::mount_parts(&lowers, &parts)?.keep();
    Ok(())
}

fn stop_signal(r: &Record, given: Option<&str>) -> anyhow::Result<i32> {
    let s = given.unwrap_or(if r.config.stop_signal.is_empty() {
        "SIGTERM"
    } else {
        &r.config.stop_signal
    });
    Ok(options::parse_signal(s)?)
}

/// Stops one container: its exit code.
fn stop_one(ctx: &Ctx, id: &str, time: Option<u64>, signal: Option<&str>) -> anyhow::Result<()> {
    let r = ctx.root.record(id)?;
    let sig = stop_signal(&r, signal)?;
    let secs = time.unwrap_or(r.config.stop_timeout) as u32;
    let s = observed(ctx, id)?;
    if ctx.root.monitor_alive(id) {
        let mut payload = (sig as u32).to_le_bytes().to_vec();
        payload.extend_from_slice(&secs.to_le_bytes());
        match ask(ctx, id, Kind::Stop, &payload) {
            Ok(_) => return Ok(()),
            // The monitor ended meanwhile: the container has ended too.
            Err(_) if !ctx.root.monitor_alive(id) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    if !s.status.is_live() {
        return Ok(());
    }
    stop_orphan(ctx, id, &s, sig, secs)
}

/// The monitor is gone but the process runs: signal it through the
/// runtime, wait, SIGKILL at the timeout, delete, record the end.
fn stop_orphan(ctx: &Ctx, id: &str, s: &State, sig: i32, secs: u32) -> anyhow::Result<()> {
    let mut used = sig;
    let _ = ctx.runtime.kill(id, sig);
    let until = Instant::now() + Duration::from_secs(secs.into());
    while state::process_alive(s) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    if state::process_alive(s) {
        used = libc::SIGKILL;
        let _ = ctx.runtime.kill(id, libc::SIGKILL);
        let until = Instant::now() + Duration::from_secs(10);
        while state::process_alive(s) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    ctx.runtime.delete(id, true).ok();
    ctx.root.update_state(id, |st| {
        st.status = Status::Exited;
        st.pid = 0;
        st.exit_code = 128 + used;
        st.stopped_by_user = true;
        st.finished_at = berth_builder::clock::now_rfc3339();
        st.error =
            "the container's monitor was gone: the exit code is the signal it was stopped with"
                .into();
    })?;
    Ok(())
}

pub fn stop(ctx: &Ctx, a: StopArgs) -> Outcome {
    for_each(&a.containers, |name| {
        let id = ctx.root.resolve(name)?;
        stop_one(ctx, &id, a.time, a.signal.as_deref())?;
        println!("{name}");
        Ok(())
    })
}

pub fn restart(ctx: &Ctx, a: StopArgs) -> Outcome {
    for_each(&a.containers, |name| {
        let id = ctx.root.resolve(name)?;
        stop_one(ctx, &id, a.time, a.signal.as_deref())?;
        let r = ctx.root.record(&id)?;
        prepare(ctx, &r)?;
        super::run::start_monitor(ctx, &id, None, None)?;
        println!("{name}");
        Ok(())
    })
}

pub fn kill(ctx: &Ctx, a: KillArgs) -> Outcome {
    let sig = options::parse_signal(&a.signal)?;
    for_each(&a.containers, |name| {
        let id = ctx.root.resolve(name)?;
        let s = observed(ctx, &id)?;
        if !s.status.is_live() || s.status == Status::Restarting {
            bail!("cannot kill container: {name}: container {id} is not running");
        }
        if ctx.root.monitor_alive(&id) {
            match ask(ctx, &id, Kind::Kill, &(sig as u32).to_le_bytes())? {
                Some((Kind::Ok, _)) => {}
                Some((Kind::Error, m)) => bail!("{}", String::from_utf8_lossy(&m)),
                _ => bail!("cannot kill container {name}: no answer from its monitor"),
            }
        } else {
            ctx.runtime
                .kill(&id, sig)
                .map_err(|e| anyhow!("cannot kill container {name}: {e}"))?;
        }
        println!("{name}");
        Ok(())
    })
}

pub fn wait(ctx: &Ctx, a: Names) -> Outcome {
    for_each(&a.containers, |name| {
        let id = ctx.root.resolve(name)?;
        let code = wait_one(ctx, &id)?;
        let mut out = std::io::stdout();
        writeln!(out, "{code}")?;
        Ok(())
    })
}

fn wait_one(ctx: &Ctx, id: &str) -> anyhow::Result<i32> {
    loop {
        let s = observed(ctx, id)?;
        if !s.status.is_live() {
            return Ok(s.exit_code);
        }
        if ctx.root.monitor_alive(id) {
            if let Ok(Some((Kind::Exit, p))) = ask(ctx, id, Kind::Wait, b"") {
                return Ok(proto::u32_at(&p, 0) as i32);
            }
        } else {
            // No monitor to tell us: watch the process.
            while state::process_alive(&s) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

pub fn pause(ctx: &Ctx, a: Names, pause: bool) -> Outcome {
    for_each(&a.containers, |name| {
        let id = ctx.root.resolve(name)?;
        let s = observed(ctx, &id)?;
        let want = if pause {
            Status::Running
        } else {
            Status::Paused
        };
        if s.status != want {
            if pause {
                bail!("Container {id} is not running");
            }
            bail!("Container {id} is not paused");
        }
        let verb = if pause { "pause" } else { "resume" };
        ctx.runtime
            .call(&[verb, &id])
            .map_err(|e| anyhow!("{name}: {e}"))?;
        ctx.root.update_state(&id, |st| {
            if st.status.is_live() {
                st.status = if pause {
                    Status::Paused
                } else {
                    Status::Running
                };
            }
        })?;
        println!("{name}");
        Ok(())
    })
}

pub fn update(ctx: &Ctx, a: UpdateArgs) -> Outcome {
    let memory = a.memory.as_deref().map(options::parse_bytes).transpose()?;
    let swap = match a.memory_swap.as_deref() {
        Some("-1") => Some(-1),
        Some(s) => Some(options::parse_bytes(s)? as i64),
        None => None,
    };
    let policy = a
        .restart
        .as_deref()
        .map(options::parse_restart)
        .transpose()?;
    for_each(&a.containers, |name| {
        let id = ctx.root.resolve(name)?;
        let s = observed(ctx, &id)?;
        let mut args: Vec<String> = vec!["update".into()];
        let mut put = |flag: &str, v: String| {
            args.push(format!("--{flag}"));
            args.push(v);
        };
        if let Some(m) = memory {
            put("memory", m.to_string());
        }
        if let Some(sw) = swap {
            put("memory-swap", sw.to_string());
        }
        if let Some(c) = a.cpu_shares {
            put("cpu-shares", c.to_string());
        }
        if let Some(c) = a.cpus {
            put("cpu-period", "100000".into());
            put("cpu-quota", ((c * 100_000.0).round() as i64).to_string());
        }
        if let Some(c) = &a.cpuset_cpus {
            put("cpuset-cpus", c.clone());
        }
        if let Some(p) = a.pids_limit {
            put("pids-limit", p.to_string());
        }
        if args.len() > 1 && s.status.is_live() {
            args.push(id.clone());
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            ctx.runtime
                .call(&refs)
                .map_err(|e| anyhow!("{name}: {e}"))?;
        }
        let mut r = ctx.root.record(&id)?;
        let h = &mut r.host;
        if let Some(m) = memory {
            h.memory = m as i64;
        }
        if let Some(sw) = swap {
            h.memory_swap = sw;
        }
        if let Some(c) = a.cpu_shares {
            h.cpu_shares = c;
        }
        if let Some(c) = a.cpus {
            h.nano_cpus = (c * 1e9) as i64;
        }
        if let Some(c) = &a.cpuset_cpus {
            h.cpuset_cpus = c.clone();
        }
        if let Some(p) = a.pids_limit {
            h.pids_limit = p;
        }
        if let Some(p) = &policy {
            h.restart_policy = p.clone();
        }
        {
            let _held = ctx.root.lock(&id)?;
            ctx.root.write_record(&r)?;
        }
        println!("{name}");
        Ok(())
    })
}

/// `rm -f`: SIGKILL at once, through the monitor when there is one.
pub fn stop_for_removal(ctx: &Ctx, id: &str) -> anyhow::Result<()> {
    stop_one(ctx, id, Some(0), Some("KILL"))
}
