//! `top` (the host's ps, cut to the container's processes) and `stats`
//! (CPU, memory, network, block I/O and pids from the cgroup).

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::Args;

use super::ps::render_table;
use super::{Ctx, Outcome};
use crate::cgroup;
use crate::records::{state, Status};

#[derive(Args)]
pub struct TopArgs {
    container: String,
    /// ps options (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

#[derive(Args)]
pub struct StatsArgs {
    /// One sample, then exit.
    #[arg(long)]
    no_stream: bool,
    /// Every container, not just running ones.
    #[arg(short, long)]
    all: bool,
    #[arg(long)]
    no_trunc: bool,
    /// json or a Go template.
    #[arg(long)]
    format: Option<String>,
    containers: Vec<String>,
}

pub fn top(ctx: &Ctx, a: TopArgs) -> Outcome {
    let id = ctx.root.resolve(&a.container)?;
    let s = state::observe(&ctx.root, &id, ctx.root.state(&id)?);
    if !matches!(s.status, Status::Running | Status::Paused) {
        bail!("Container {id} is not running");
    }
    let pids = ctx
        .runtime
        .pids(&id)
        .map_err(|e| anyhow!("{}: {e}", a.container))?;
    let args = if a.ps_args.is_empty() {
        vec!["-ef".to_string()]
    } else {
        a.ps_args.clone()
    };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .context("running ps")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| anyhow!("ps {}: no PID column in its output", args.join(" ")))?;
    println!("{header}");
    for l in lines {
        let pid = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{l}");
        }
    }
    Ok(0)
}

/// Memory as docker prints it: binary units, four significant digits
/// (go-units' BytesSize).
fn bytes(n: u64) -> String {
    scaled(n, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB"], 4)
}

/// Network and block I/O as docker prints them: decimal units, three
/// significant digits (go-units' HumanSizeWithPrecision).
fn io_bytes(n: u64) -> String {
    scaled(n, 1000.0, &["B", "kB", "MB", "GB", "TB"], 3)
}

fn scaled(n: u64, base: f64, units: &[&str], digits: i32) -> String {
    let mut v = n as f64;
    let mut u = 0;
    while v >= base && u + 1 < units.len() {
        v /= base;
        u += 1;
    }
    format!("{}{}", significant(v, digits), units[u])
}

/// `v` to `digits` significant digits without trailing zeros (Go's %.Ng).
fn significant(v: f64, digits: i32) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let decimals = (digits - 1 - v.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Bytes received and sent by the non-loopback interfaces of `pid`'s netns.
fn net_io(pid: i32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    let (mut rx, mut tx) = (0, 0);
    for l in text.lines().skip(2) {
        let Some((name, rest)) = l.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        rx += f.first().copied().unwrap_or(0);
        tx += f.get(8).copied().unwrap_or(0);
    }
    (rx, tx)
}

pub fn stats(ctx: &Ctx, a: StatsArgs) -> Outcome {
    let ids: Vec<String> = if a.containers.is_empty() {
        ctx.root
            .all()?
            .into_iter()
            .filter(|(_, s)| a.all || s.status.is_live())
            .map(|(r, _)| r.id)
            .collect()
    } else {
        a.containers
            .iter()
            .map(|n| ctx.root.resolve(n))
            .collect::<Result<_, _>>()?
    };
    loop {
        let first: Vec<(cgroup::Stats, Instant)> = ids
            .iter()
            .map(|id| {
                (
                    cgroup::stats(&crate::monitor::cgroup_path(id)),
                    Instant::now(),
                )
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let mut cells = vec![[
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS",
        ]
        .map(String::from)
        .to_vec()];
        let mut json_rows = Vec::new();
        for (id, (before, at)) in ids.iter().zip(first) {
            let r = ctx.root.record(id)?;
            let s = state::observe(&ctx.root, id, ctx.root.state(id)?);
            let live = matches!(s.status, Status::Running | Status::Paused);
            let now = if live {
                cgroup::stats(&crate::monitor::cgroup_path(id))
            } else {
                cgroup::Stats::default()
            };
            let wall = at.elapsed().as_nanos().max(1) as f64;
            let cpu = now.cpu_ns.saturating_sub(before.cpu_ns) as f64 / wall * 100.0;
            let mem_pct = if now.memory_limit > 0 {
                now.memory as f64 / now.memory_limit as f64 * 100.0
            } else {
                0.0
            };
            let (rx, tx) = if live { net_io(s.pid) } else { (0, 0) };
            let short = if a.no_trunc {
                id.clone()
            } else {
                id[..12].to_string()
            };
            let row = vec![
                short,
                r.name.clone(),
                format!("{cpu:.2}%"),
                format!("{} / {}", bytes(now.memory), bytes(now.memory_limit)),
                format!("{mem_pct:.2}%"),
                format!("{} / {}", io_bytes(rx), io_bytes(tx)),
                format!(
                    "{} / {}",
                    io_bytes(now.block_read),
                    io_bytes(now.block_write)
                ),
                now.pids.to_string(),
            ];
            json_rows.push(serde_json::json!({
                "ID": row[0], "Name": row[1], "CPUPerc": row[2], "MemUsage": row[3],
                "MemPerc": row[4], "NetIO": row[5], "BlockIO": row[6], "PIDs": row[7],
            }));
            cells.push(row);
        }
        match a.format.as_deref() {
            Some("json") => json_rows.iter().for_each(|r| println!("{r}")),
            Some(f) => {
                for r in &json_rows {
                    println!("{}", berth_builder::template::render(f, r)?);
                }
            }
            None => {
                if !a.no_stream {
                    print!("\x1b[2J\x1b[H");
                }
                print!("{}", render_table(&cells));
            }
        }
        if a.no_stream {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_as_dockers() {
        assert_eq!(super::bytes(0), "0B");
        assert_eq!(super::bytes(1536), "1.5KiB");
        assert_eq!(super::bytes(128 << 20), "128MiB");
        assert_eq!(super::bytes(700_416), "684KiB");
        assert_eq!(super::bytes(2_097_152_000), "1.953GiB");
        assert_eq!(super::io_bytes(0), "0B");
        assert_eq!(super::io_bytes(1_234_567), "1.23MB");
        assert_eq!(super::io_bytes(999), "999B");
    }
}
