//! `exec`: a command in a running container through `runtime exec`, with the
//! caller's stdio (the runtime proxies a pty for -t); its exit code.

use std::process::Stdio;

use anyhow::{anyhow, bail};
use clap::Args;

use super::{Ctx, Outcome};
use crate::records::{state, Status};

#[derive(Args)]
pub struct ExecArgs {
    #[arg(short, long)]
    interactive: bool,
    #[arg(short, long)]
    tty: bool,
    #[arg(short, long)]
    detach: bool,
    #[arg(short, long = "env")]
    env: Vec<String>,
    #[arg(short, long)]
    workdir: Option<String>,
    /// USER[:GROUP] by name or id.
    #[arg(short, long)]
    user: Option<String>,
    #[arg(long)]
    privileged: bool,
    container: String,
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn exec(ctx: &Ctx, a: ExecArgs) -> Outcome {
    let id = ctx.root.resolve(&a.container)?;
    let r = ctx.root.record(&id)?;
    let s = state::observe(&ctx.root, &id, ctx.root.state(&id)?);
    match s.status {
        Status::Running => {}
        Status::Paused => bail!("Container {id} is paused, unpause the container before exec"),
        _ => bail!("Container {id} is not running"),
    }
    // The runtime's own failure goes to a log of this exec's (and as one
    // plain line to stderr), telling it apart from the command's exit 1.
    let log = ctx
        .root
        .dir(&id)
        .join(format!("exec-{}.log", std::process::id()));
    let mut cmd = ctx.runtime.command();
    cmd.arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "exec"]);
    if a.tty {
        cmd.arg("--tty");
    }
    if a.detach {
        cmd.arg("--detach");
    }
    for e in a.env.iter().filter_map(|e| crate::options::env_item(e)) {
        cmd.arg("--env").arg(e);
    }
    if let Some(w) = &a.workdir {
        cmd.arg("--cwd").arg(w);
    }
    if let Some(u) = &a.user {
        let rootfs = r
            .rootfs_mount
            .clone()
            .unwrap_or_else(|| r.bundle.join("rootfs"));
        let u = berth_builder::bundle::resolve_user(&rootfs, u)?;
        cmd.arg("--user").arg(format!("{}:{}", u.uid, u.gid));
        for g in &u.additional_gids {
            cmd.arg("--additional-gids").arg(g.to_string());
        }
    }
    if a.privileged {
        for c in crate::spec::bounding_caps() {
            cmd.arg("--cap").arg(c);
        }
    }
    cmd.arg(&id).args(&a.command);
    if !a.interactive && !a.tty {
        cmd.stdin(Stdio::null());
    }
    let status = cmd.status();
    let failure = std::fs::read_to_string(&log).ok();
    let _ = std::fs::remove_file(&log);
    let status = status.map_err(|e| anyhow!("{}: {e}", ctx.runtime.path.display()))?;
    if let Some(text) = failure.filter(|t| !t.trim().is_empty() && !status.success()) {
        // docker's codes: 127 the command is not there, 126 it cannot run.
        return Ok(super::run::start_failure_code(&crate::runtime::one_line(
            &text,
        )));
    }
    Ok(status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(0)
    }))
}
