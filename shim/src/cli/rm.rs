//! rm, rename and container prune.

use std::time::Duration;

use anyhow::bail;
use clap::Args;

use super::{for_each, Ctx, Outcome};
use crate::records::{state, Status};

#[derive(Args)]
pub struct RmArgs {
    /// Kill a running container first.
    #[arg(short, long)]
    force: bool,
    /// Remove its anonymous volumes too (none exist before volumes land).
    #[arg(short, long)]
    volumes: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Removes one container; with `force` a live one is killed first.
pub fn remove(ctx: &Ctx, id: &str, name: &str, force: bool) -> anyhow::Result<()> {
    let r = ctx.root.record(id)?;
    let s = state::observe(&ctx.root, id, ctx.root.state(id)?);
    if s.status.is_live() {
        if !force {
            bail!(
                "cannot remove container \"/{}\": container is {}: stop the container before removing or force remove",
                r.name,
                s.status.as_str()
            );
        }
        super::lifecycle::stop_for_removal(ctx, id)?;
    }
    // A monitor finishing up (runtime delete, --rm) is waited for.
    if !ctx.root.wait_monitor_end(id, Duration::from_secs(10)) {
        bail!("{name}: its monitor does not end");
    }
    if !ctx.root.dir(id).exists() {
        return Ok(()); // --rm removed it meanwhile
    }
    // The lock is held through the removal: a second `rm` waits, then
    // finds the record gone. (flock is per open file: update_state here
    // would wait on this very lock.)
    let _held = ctx.root.lock(id)?;
    if let Ok(mut st) = ctx.root.state(id) {
        st.status = Status::Removing;
        let _ = ctx.root.write_state(id, &st);
    }
    let _ = ctx.runtime.delete(id, true);
    crate::cleanup::remove(&ctx.root, id).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    Ok(())
}

pub fn rm(ctx: &Ctx, a: RmArgs) -> Outcome {
    for_each(&a.containers, |name| {
        let id = ctx.root.resolve(name)?;
        remove(ctx, &id, name, a.force)?;
        println!("{name}");
        Ok(())
    })
}

pub fn rename(ctx: &Ctx, container: &str, new: &str) -> Outcome {
    let id = ctx.root.resolve(container)?;
    let new = new.strip_prefix('/').unwrap_or(new);
    let mut r = ctx.root.record(&id)?;
    if r.name == new {
        bail!("Renaming a container with the same name as its current name");
    }
    ctx.root.claim_name(new, &id)?;
    let old = std::mem::replace(&mut r.name, new.to_string());
    let write = {
        let _held = ctx.root.lock(&id)?;
        ctx.root.write_record(&r)
    };
    if let Err(e) = write {
        ctx.root.release_name(new, &id);
        return Err(e.into());
    }
    ctx.root.release_name(&old, &id);
    Ok(0)
}

pub fn prune(ctx: &Ctx) -> Outcome {
    println!("Deleted Containers:");
    for (r, s) in ctx.root.all()? {
        if s.status.is_live() || ctx.root.monitor_alive(&r.id) {
            continue;
        }
        if remove(ctx, &r.id, &r.name, false).is_ok() {
            println!("{}", r.id);
        }
    }
    println!("\nTotal reclaimed space: 0B");
    Ok(0)
}
