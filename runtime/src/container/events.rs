//! `events`: runc's event stream. `--stats` prints one
//! `{"type":"stats","id":ID,"data":{...}}` line (runc's types.Stats names,
//! from libcgroups' stats); without it, a stats event every interval and an
//! `{"type":"oom","id":ID}` event whenever the container's OOM-kill counter
//! rises, until the container stops. The container's lock is held only to
//! read its state, never while streaming.

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use libcgroups::stats::{BlkioDeviceStat, MemoryData, Stats};
use serde_json::{json, Map, Value};

use crate::state::{self, Status};
use crate::{cgroups, Error, Result};

pub fn events(root: &Path, id: &str, stats_once: bool, interval: Duration) -> Result<()> {
    let st = {
        let (_dir, st, status) = super::load(root, id)?;
        if status == Status::Stopped {
            return Err(Error::BadState {
                id: id.to_string(),
                status: status.to_string(),
                msg: "container not running".into(),
            });
        }
        st
    };
    let Some(cg) = st.cgroup_path.clone() else {
        return Err(Error::BadState {
            id: id.to_string(),
            status: "running".into(),
            msg: "it has no cgroup to read events from".into(),
        });
    };
    if stats_once {
        let s = cgroups::stats(&cg)?;
        emit(&json!({"type": "stats", "id": id, "data": stats_json(&s)}));
        return Ok(());
    }
    if interval.is_zero() {
        return Err(Error::field("--interval", "must be greater than 0"));
    }
    let efd = cgroups::controller_dir(&cg, "memory").and_then(|d| oom_eventfd(&d));
    let mut ooms = cgroups::oom_kills(&cg).unwrap_or(0);
    let mut next_stats = Instant::now() + interval;
    loop {
        let now = Instant::now();
        let wait = next_stats
            .saturating_duration_since(now)
            .min(Duration::from_millis(200));
        let fired = wait_fd(efd.as_ref().map(|(e, _)| e), wait);
        let alive = state::init_alive(&st);
        match cgroups::oom_kills(&cg) {
            Some(n) if n > ooms => {
                ooms = n;
                emit(&json!({"type": "oom", "id": id}));
            }
            Some(_) => {}
            // The cgroup went away: the eventfd fires once for that; more
            // than once means an OOM came first.
            None if fired >= 2 => emit(&json!({"type": "oom", "id": id})),
            None => {}
        }
        if !alive {
            return Ok(());
        }
        if Instant::now() >= next_stats {
            let Ok(s) = cgroups::stats(&cg) else {
                return Ok(());
            };
            emit(&json!({"type": "stats", "id": id, "data": stats_json(&s)}));
            next_stats += interval;
        }
    }
}

fn emit(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// An eventfd the kernel signals on every OOM of a v1 memory cgroup (and
/// once when the cgroup is removed). None on v2 (memory.events is polled).
fn oom_eventfd(dir: &Path) -> Option<(OwnedFd, std::fs::File)> {
    let ctl = std::fs::File::open(dir.join("memory.oom_control")).ok()?;
    // SAFETY: eventfd returns a new fd or -1.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if raw < 0 {
        return None;
    }
    // SAFETY: raw is a fresh fd we own.
    let efd = unsafe { OwnedFd::from_raw_fd(raw) };
    std::fs::write(
        dir.join("cgroup.event_control"),
        format!("{} {}", efd.as_raw_fd(), ctl.as_raw_fd()),
    )
    .ok()?;
    Some((efd, ctl))
}

/// Waits up to `timeout` for the eventfd; returns its counter (0 if it
/// did not fire, or there is none).
fn wait_fd(fd: Option<&OwnedFd>, timeout: Duration) -> u64 {
    let Some(fd) = fd else {
        std::thread::sleep(timeout);
        return 0;
    };
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one valid pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) };
    if r <= 0 {
        return 0;
    }
    let mut n = 0u64;
    // SAFETY: an eventfd read is 8 bytes into n.
    let got = unsafe { libc::read(fd.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
    if got == 8 {
        n
    } else {
        0
    }
}

/// libcgroups' Stats in the shape of runc's types.Stats.
pub fn stats_json(s: &Stats) -> Value {
    let entry = |m: &MemoryData| json!({"limit": m.limit, "usage": m.usage, "max": m.max_usage, "failcnt": m.fail_count});
    let blk = |v: &[BlkioDeviceStat]| -> Value {
        v.iter()
            .map(|e| {
                json!({"major": e.major, "minor": e.minor,
                       "op": e.op_type.clone().unwrap_or_default(), "value": e.value})
            })
            .collect()
    };
    let hugetlb: Map<String, Value> = s
        .hugetlb
        .iter()
        .map(|(k, h)| {
            (
                k.clone(),
                json!({"usage": h.usage, "max": h.max_usage, "failcnt": h.fail_count}),
            )
        })
        .collect();
    let u = &s.cpu.usage;
    let t = &s.cpu.throttling;
    json!({
        "cpu": {
            "usage": {
                "total": u.usage_total,
                "percpu": u.per_core_usage_total,
                "percpu_kernel": u.per_core_usage_kernel,
                "percpu_user": u.per_core_usage_user,
                "kernel": u.usage_kernel,
                "user": u.usage_user,
            },
            "throttling": {
                "periods": t.periods,
                "throttledPeriods": t.throttled_periods,
                "throttledTime": t.throttled_time,
            },
        },
        "memory": {
            "cache": s.memory.cache,
            "usage": entry(&s.memory.memory),
            "swap": entry(&s.memory.memswap),
            "kernel": entry(&s.memory.kernel),
            "kernelTCP": entry(&s.memory.kernel_tcp),
            "raw": s.memory.stats,
        },
        "pids": {"current": s.pids.current, "limit": s.pids.limit},
        "blkio": {
            "ioServiceBytesRecursive": blk(&s.blkio.service_bytes),
            "ioServicedRecursive": blk(&s.blkio.serviced),
            "ioQueueRecursive": blk(&s.blkio.queued),
            "ioServiceTimeRecursive": blk(&s.blkio.service_time),
            "ioWaitTimeRecursive": blk(&s.blkio.wait_time),
            "ioMergedRecursive": blk(&s.blkio.merged),
            "ioTimeRecursive": blk(&s.blkio.time),
            "sectorsRecursive": blk(&s.blkio.sectors),
        },
        "hugetlb": hugetlb,
    })
}

/// A Go duration (`5s`, `100ms`, `1m30s`, `1.5h`), as runc's --interval takes.
pub fn parse_duration(v: &str) -> Result<Duration> {
    let bad = || {
        Error::field(
            "--interval",
            format!("{v:?} is not a duration (e.g. 5s, 500ms)"),
        )
    };
    let mut rest = v.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..n_end].parse().map_err(|_| bad())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * secs;
        rest = &rest[u_end..];
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        for bad in ["", "5", "s", "5x", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn runc_field_names() {
        let mut s = Stats::default();
        s.memory.memory.usage = 4096;
        s.pids.current = 2;
        let v = stats_json(&s);
        assert_eq!(v["memory"]["usage"]["usage"], 4096);
        assert_eq!(v["pids"]["current"], 2);
        assert!(v["cpu"]["usage"]["total"].is_u64());
        assert!(v["cpu"]["throttling"]["throttledPeriods"].is_u64());
    }
}
