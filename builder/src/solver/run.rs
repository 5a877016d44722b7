//! RUN: the step's overlay snapshot as an OCI bundle's rootfs, a generated
//! config.json (the image's Env, User, WorkingDir, the SHELL, Docker's
//! default capabilities and seccomp profile, /etc/hosts and resolv.conf),
//! executed with `RUNTIME run`; its output streamed; its diff committed.

use std::collections::VecDeque;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Stdio};
use std::sync::{Arc, Mutex};

use super::commit;
use super::interrupt::Active;
use super::key::KeyHasher;
use super::mounts::{self, Prepared};
use super::progress::StepLog;
use super::stage::{step_error, step_snapshot, BuildEnv, StageState};
use super::{args::PROXY_ARGS, BuildError, Result};
use crate::bundle::{self, Network, RunSpec};
use crate::dockerfile::{Command, Run, Step};
use crate::store::StoreError;

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const HEREDOC_DIR: &str = "/dev/.berth-heredoc";

pub fn run(
    env: &BuildEnv,
    state: &mut StageState,
    step: &Step,
    r: &Run,
    deps: &std::collections::HashMap<usize, Arc<StageState>>,
    log: &StepLog,
) -> Result<()> {
    let (argv, script) = argv(state, r);
    let network = network(env, step, r)?;
    let run_env = run_env(env, state);
    let prepared = mounts::prepare(env, state, step, &r.mounts, deps)?;
    let created_by = created_by(&argv, r);
    let mut k = KeyHasher::new(&state.key, "RUN");
    k.field(serde_json::to_vec(&state.config.config).unwrap_or_default());
    k.field(argv.join("\0")).field(format!("{network:?}"));
    for e in &run_env {
        if !PROXY_ARGS.iter().any(|p| e.starts_with(&format!("{p}="))) {
            k.field(e);
        }
    }
    for m in &prepared.key_parts {
        k.field(m);
    }
    let key = k.finish();
    if commit::reused(env, state, key, &created_by, log) {
        return Ok(());
    }
    let dir = env
        .scratch
        .fast_dir("run")
        .map_err(io_err(&env.scratch.fast))?;
    let result = execute(
        env, state, step, &dir, argv, script, network, run_env, &prepared, log,
    );
    let out = match result {
        Ok(upper) => commit::commit(env, state, step, &upper, key, created_by),
        Err(e) => Err(e),
    };
    crate::store::remove_tree(&dir);
    if out.is_ok() {
        log.done();
    }
    out
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| {
        BuildError::Store(StoreError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// The process's argv; for a RUN whose whole command is one heredoc, the
/// script (run by SHELL, or executed when it has a `#!` line).
fn argv(state: &StageState, r: &Run) -> (Vec<String>, Option<String>) {
    match &r.command {
        Command::Exec(v) => (v.clone(), None),
        Command::Shell(text) => {
            if r.heredocs.len() == 1 && is_only_heredoc(text) {
                let body = r.heredocs[0].content.clone();
                if body.starts_with("#!") {
                    return (vec![format!("{HEREDOC_DIR}/script")], Some(body));
                }
                let mut v = state.shell();
                v.push(body);
                return (v, None);
            }
            // Heredocs inside a command go to the shell as written.
            let mut full = text.clone();
            for h in &r.heredocs {
                full.push('\n');
                full.push_str(&h.content);
                if !h.content.ends_with('\n') && !h.content.is_empty() {
                    full.push('\n');
                }
                full.push_str(&h.name);
            }
            let mut v = state.shell();
            v.push(full);
            (v, None)
        }
    }
}

fn is_only_heredoc(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("<<") && !t.contains(char::is_whitespace)
}

fn created_by(argv: &[String], r: &Run) -> String {
    let shown = match &r.command {
        Command::Exec(v) => serde_json::to_string(v).unwrap_or_default(),
        Command::Shell(_) => argv.join(" "),
    };
    format!("RUN {shown} # buildkit")
}

fn network(env: &BuildEnv, step: &Step, r: &Run) -> Result<Network> {
    match r.network.as_deref() {
        None | Some("default") => Ok(env.opts.network.clone()),
        Some("none") => Ok(Network::None),
        Some("host") => Ok(Network::Host),
        Some(other) => Err(step_error(
            env,
            step,
            format!("--network={other}: want default, none or host"),
        )),
    }
}

/// Env of the step: the image's, then the stage's args that ENV does not
/// shadow, the proxy args given, and PATH when the image has none.
fn run_env(env: &BuildEnv, state: &StageState) -> Vec<String> {
    let mut out: Vec<String> = state.config.config.env.clone().unwrap_or_default();
    let has = |out: &[String], k: &str| out.iter().any(|e| e.split('=').next() == Some(k));
    for (k, v) in &state.args {
        if !has(&out, k) {
            out.push(format!("{k}={v}"));
        }
    }
    for p in PROXY_ARGS {
        if !has(&out, p) {
            if let Some(v) = super::args::given(env, p) {
                out.push(format!("{p}={v}"));
            }
        }
    }
    if !has(&out, "PATH") {
        out.push(DEFAULT_PATH.into());
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn execute(
    env: &BuildEnv,
    state: &StageState,
    step: &Step,
    dir: &Path,
    argv: Vec<String>,
    script: Option<String>,
    network: Network,
    mut run_env: Vec<String>,
    prepared: &Prepared,
    log: &StepLog,
) -> Result<PathBuf> {
    let mut snap = step_snapshot(env, step, &state.lowers)?;
    let user = bundle::resolve_user(
        &snap.merged,
        state.config.config.user.as_deref().unwrap_or(""),
    )
    .map_err(|e| step_error(env, step, e))?;
    if !run_env.iter().any(|e| e.starts_with("HOME=")) {
        run_env.push(format!(
            "HOME={}",
            user.home.clone().unwrap_or_else(|| "/".into())
        ));
    }
    let mut binds = support_files(dir, &network).map_err(io_err(dir))?;
    if let Some(s) = &script {
        binds.push(heredoc_script(dir, s).map_err(io_err(dir))?);
    }
    binds.extend(prepared.binds.iter().cloned());
    let mut dests: Vec<String> = ["/proc", "/dev", "/sys"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    dests.extend(binds.iter().map(|b| b.destination.clone()));
    dests.extend(prepared.tmpfs.iter().cloned());
    let stubs = mounts::missing_paths(&snap.merged, &dests);
    let spec = RunSpec {
        args: argv.clone(),
        env: run_env,
        cwd: state.workdir(),
        uid: user.uid,
        gid: user.gid,
        additional_gids: user.additional_gids,
        hostname: "berth-build".into(),
        network,
        rootfs: snap.merged.clone(),
        readonly_rootfs: false,
        binds,
        tmpfs: prepared.tmpfs.clone(),
        caps: crate::seccomp::DEFAULT_CAPS
            .iter()
            .map(|c| c.to_string())
            .collect(),
        seccomp: true,
        terminal: false,
        annotations: Vec::new(),
    };
    let bundle_dir = dir.join("bundle");
    fs::create_dir(&bundle_dir).map_err(io_err(&bundle_dir))?;
    bundle::write_bundle(&bundle_dir, &spec).map_err(|e| step_error(env, step, e))?;
    let status = run_container(env, &bundle_dir, log)?;
    snap.unmount().map_err(|e| step_error(env, step, e))?;
    mounts::remove_stubs(&snap.upper, &stubs);
    if super::interrupted() {
        return Err(BuildError::Interrupted);
    }
    if let Err((code, last)) = status {
        let shown = argv.join(" ");
        let tail = last
            .map(|l| format!(" (last output: {l:?})"))
            .unwrap_or_default();
        return Err(step_error(
            env,
            step,
            format!("process \"{shown}\" did not complete successfully: exit code: {code}{tail}"),
        ));
    }
    env.counters
        .runs
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(snap.upper.clone())
}

/// /etc/hosts and /etc/resolv.conf of the step, bind-mounted read-only.
fn support_files(dir: &Path, network: &Network) -> std::io::Result<Vec<bundle::Bind>> {
    let hosts = dir.join("hosts");
    fs::write(
        &hosts,
        "127.0.0.1\tlocalhost berth-build\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    )?;
    let resolv = dir.join("resolv.conf");
    let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let text = match network {
        Network::Host => host_resolv,
        // No loopback resolvers in a netns of its own: they are not there.
        _ => host_resolv
            .lines()
            .filter(|l| !l.contains("127.0.0."))
            .map(|l| format!("{l}\n"))
            .collect(),
    };
    fs::write(&resolv, text)?;
    Ok(vec![
        bundle::Bind {
            source: hosts,
            destination: "/etc/hosts".into(),
            readonly: true,
        },
        bundle::Bind {
            source: resolv,
            destination: "/etc/resolv.conf".into(),
            readonly: true,
        },
    ])
}

fn heredoc_script(dir: &Path, body: &str) -> std::io::Result<bundle::Bind> {
    use std::os::unix::fs::PermissionsExt;
    let d = dir.join("heredoc");
    fs::create_dir(&d)?;
    let p = d.join("script");
    fs::write(&p, body)?;
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755))?;
    Ok(bundle::Bind {
        source: d,
        destination: HEREDOC_DIR.into(),
        readonly: true,
    })
}

type Status = std::result::Result<(), (i32, Option<String>)>;

/// `RUNTIME run`, its stdout and stderr streamed line by line (never
/// clipped); the exit code and the last line on failure.
fn run_container(env: &BuildEnv, bundle: &Path, log: &StepLog) -> Result<Status> {
    if super::interrupted() {
        return Err(BuildError::Interrupted);
    }
    let id = format!("berth-build-{}", crate::store::atomic::unique());
    note_run(&env.scratch.disk, &env.opts.runtime, &id);
    let _active = Active::new(&env.opts.runtime, &id);
    let mut child = Proc::new(&env.opts.runtime)
        .arg("run")
        .arg("--bundle")
        .arg(bundle)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            BuildError::Usage(format!(
                "cannot run the runtime {}: {e}",
                env.opts.runtime.display()
            ))
        })?;
    let last: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());
    let (out, err) = (child.stdout.take(), child.stderr.take());
    std::thread::scope(|s| {
        let last = &last;
        if let Some(o) = out {
            s.spawn(move || pump(o, log, last));
        }
        if let Some(e) = err {
            s.spawn(move || pump(e, log, last));
        }
    });
    let status = child
        .wait()
        .map_err(|e| BuildError::Usage(format!("waiting for the runtime: {e}")))?;
    if status.success() {
        return Ok(Ok(()));
    }
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    let tail = last
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .pop_back();
    Ok(Err((code, tail)))
}

fn pump(r: impl Read, log: &StepLog, last: &Mutex<VecDeque<String>>) {
    let mut r = BufReader::with_capacity(64 * 1024, r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                let line = line.trim_end_matches('\n');
                log.output(line);
                let mut l = last.lock().unwrap_or_else(|p| p.into_inner());
                if l.len() == 10 {
                    l.pop_front();
                }
                l.push_back(line.to_string());
            }
        }
    }
}

/// Records the container in the build's temp dir, so that whoever reclaims
/// the dir after a SIGKILL deletes the container too.
fn note_run(scratch: &Path, runtime: &Path, id: &str) {
    use std::io::Write;
    if let Ok(mut f) = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(scratch.join("runs"))
    {
        let _ = writeln!(f, "{}\t{id}", runtime.display());
    }
}
