//! OCI hooks: each gets the state JSON on stdin, its own args and env, and an
//! optional timeout. Which namespace a hook runs in is the caller's business:
//! createContainer and startContainer are run by the container's init.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks};

use crate::{Error, Result};

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Prestart => "prestart",
            Kind::CreateRuntime => "createRuntime",
            Kind::CreateContainer => "createContainer",
            Kind::StartContainer => "startContainer",
            Kind::Poststart => "poststart",
            Kind::Poststop => "poststop",
        }
    }

    pub fn of(self, hooks: &Option<Hooks>) -> Vec<Hook> {
        let Some(h) = hooks else { return Vec::new() };
        let list = match self {
            #[allow(deprecated)]
            Kind::Prestart => h.prestart(),
            Kind::CreateRuntime => h.create_runtime(),
            Kind::CreateContainer => h.create_container(),
            Kind::StartContainer => h.start_container(),
            Kind::Poststart => h.poststart(),
            Kind::Poststop => h.poststop(),
        };
        list.clone().unwrap_or_default()
    }
}

/// Runs every hook of a kind in order; the first failure stops the list.
/// A hook without `env` inherits the runtime's environment, as under runc.
pub fn run_all(kind: Kind, hooks: &[Hook], state_json: &[u8]) -> Result<()> {
    run_list(kind, hooks, state_json, None)
}

/// The container-side hooks (createContainer, startContainer): a hook
/// without `env` gets `env`, the environment the container's process has at
/// that point (runc's init runs them with the process's env loaded).
pub fn run_all_with_env(
    kind: Kind,
    hooks: &[Hook],
    state_json: &[u8],
    env: &[String],
) -> Result<()> {
    run_list(kind, hooks, state_json, Some(env))
}

fn run_list(kind: Kind, hooks: &[Hook], state_json: &[u8], env: Option<&[String]>) -> Result<()> {
    for (i, h) in hooks.iter().enumerate() {
        run(h, state_json, env).map_err(|msg| Error::Hook {
            kind: kind.name().to_string(),
            index: i,
            path: h.path().display().to_string(),
            msg,
        })?;
    }
    Ok(())
}

/// Runs every hook of a kind, logging failures instead of stopping (poststart, poststop).
pub fn run_all_warn(kind: Kind, hooks: &[Hook], state_json: &[u8]) {
    for (i, h) in hooks.iter().enumerate() {
        if let Err(msg) = run(h, state_json, None) {
            crate::logging::warn(&format!(
                "hook {}[{i}] ({}): {msg}",
                kind.name(),
                h.path().display()
            ));
        }
    }
}

fn run(
    hook: &Hook,
    state_json: &[u8],
    default_env: Option<&[String]>,
) -> std::result::Result<(), String> {
    let mut cmd = Command::new(hook.path());
    let args = hook.args().clone().unwrap_or_default();
    if let Some((argv0, rest)) = args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    // `env: []` is an empty environment; no `env` at all inherits.
    if let Some(env) = hook.env().as_deref().or(default_env) {
        cmd.env_clear();
        for kv in env {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state_json);
    }
    let timeout = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64));
    let status = wait(&mut child, timeout)?;
    if status.success() {
        return Ok(());
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let err = err.trim();
    Err(if err.is_empty() {
        format!("failed: {status}")
    } else {
        format!("failed: {status}: {err}")
    })
}

fn wait(
    child: &mut std::process::Child,
    timeout: Option<Duration>,
) -> std::result::Result<std::process::ExitStatus, String> {
    let Some(timeout) = timeout else {
        return child.wait().map_err(|e| e.to_string());
    };
    let start = Instant::now();
    let mut nap = Duration::from_micros(200);
    loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(s);
        }
        if start.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {}s", timeout.as_secs()));
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}
