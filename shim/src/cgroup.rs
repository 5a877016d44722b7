//! Reading a container's cgroup: whether the kernel OOM-killed in it, and
//! the figures `stats` shows. v1 (one hierarchy per controller, hybrid
//! hosts included) and v2 (one unified tree).

use std::fs;
use std::path::PathBuf;

const ROOT: &str = "/sys/fs/cgroup";

/// v1 when the memory controller has its own hierarchy.
pub fn is_v1() -> bool {
    std::path::Path::new(ROOT).join("memory").is_dir()
}

pub fn version() -> u32 {
    if is_v1() {
        1
    } else {
        2
    }
}

fn file(controller: &str, cgroup: &str, name: &str) -> PathBuf {
    let rel = cgroup.trim_start_matches('/');
    if is_v1() {
        PathBuf::from(ROOT).join(controller).join(rel).join(name)
    } else {
        PathBuf::from(ROOT).join(rel).join(name)
    }
}

fn read(controller: &str, cgroup: &str, name: &str) -> Option<String> {
    fs::read_to_string(file(controller, cgroup, name)).ok()
}

fn read_u64(controller: &str, cgroup: &str, name: &str) -> Option<u64> {
    read(controller, cgroup, name)?.trim().parse().ok()
}

/// `key value` lines: the value of `key`.
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// How many processes the kernel's OOM killer killed in the cgroup (v1
/// memory.oom_control's oom_kill, v2 memory.events'). Read before the
/// runtime deletes the cgroup.
pub fn oom_kills(cgroup: &str) -> u64 {
    if is_v1() {
        read("memory", cgroup, "memory.oom_control")
            .and_then(|t| keyed(&t, "oom_kill"))
            .unwrap_or(0)
    } else {
        read("", cgroup, "memory.events")
            .and_then(|t| keyed(&t, "oom_kill"))
            .unwrap_or(0)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// CPU time used, nanoseconds.
    pub cpu_ns: u64,
    /// Memory in use, less the inactive page cache (as docker shows it).
    pub memory: u64,
    /// The limit (the host's memory when unlimited).
    pub memory_limit: u64,
    pub pids: u64,
    pub block_read: u64,
    pub block_write: u64,
}

pub fn stats(cgroup: &str) -> Stats {
    let host_mem = host_memory();
    if is_v1() {
        let stat = read("memory", cgroup, "memory.stat").unwrap_or_default();
        let usage = read_u64("memory", cgroup, "memory.usage_in_bytes").unwrap_or(0);
        let inactive = keyed(&stat, "total_inactive_file").unwrap_or(0);
        let limit = read_u64("memory", cgroup, "memory.limit_in_bytes").unwrap_or(u64::MAX);
        let io = read("blkio", cgroup, "blkio.throttle.io_service_bytes").unwrap_or_default();
        let (r, w) = blkio_v1(&io);
        Stats {
            cpu_ns: read_u64("cpuacct", cgroup, "cpuacct.usage").unwrap_or(0),
            memory: usage.saturating_sub(inactive),
            memory_limit: limit.min(host_mem),
            pids: read_u64("pids", cgroup, "pids.current").unwrap_or(0),
            block_read: r,
            block_write: w,
        }
    } else {
        let stat = read("", cgroup, "memory.stat").unwrap_or_default();
        let usage = read_u64("", cgroup, "memory.current").unwrap_or(0);
        let inactive = keyed(&stat, "inactive_file").unwrap_or(0);
        let limit = read_u64("", cgroup, "memory.max").unwrap_or(u64::MAX);
        let cpu = read("", cgroup, "cpu.stat").unwrap_or_default();
        let io = read("", cgroup, "io.stat").unwrap_or_default();
        let (r, w) = io_v2(&io);
        Stats {
            cpu_ns: keyed(&cpu, "usage_usec").unwrap_or(0) * 1000,
            memory: usage.saturating_sub(inactive),
            memory_limit: limit.min(host_mem),
            pids: read_u64("", cgroup, "pids.current").unwrap_or(0),
            block_read: r,
            block_write: w,
        }
    }
}

fn blkio_v1(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if let [_, op, n] = f.as_slice() {
            let n: u64 = n.parse().unwrap_or(0);
            match *op {
                "Read" => r += n,
                "Write" => w += n,
                _ => {}
            }
        }
    }
    (r, w)
}

fn io_v2(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for kv in text.split_whitespace() {
        if let Some(n) = kv.strip_prefix("rbytes=") {
            r += n.parse().unwrap_or(0);
        } else if let Some(n) = kv.strip_prefix("wbytes=") {
            w += n.parse().unwrap_or(0);
        }
    }
    (r, w)
}

pub fn host_memory() -> u64 {
    let text = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(u64::MAX, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_counters_parse() {
        let v1 = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\n8:16 Read 10\nTotal 12298\n";
        assert_eq!(blkio_v1(v1), (4106, 8192));
        let v2 = "8:0 rbytes=100 wbytes=200 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n";
        assert_eq!(io_v2(v2), (101, 202));
        assert_eq!(keyed("oom 0\noom_kill 3\n", "oom_kill"), Some(3));
    }
}
