//! linux.resources beyond the basics of cgroups.rs: memory details, cpu
//! weight and realtime, block IO throttles, network classes, unified keys.
//! Each check reads the host layout's own file (v1 or v2), and each field a
//! layout can't hold must fail create naming the field, leaving nothing.

use std::path::Path;

use serde_json::{json, Value};
use spec_tests::*;

fn container(name: &str, resources: Value) -> (Container, String) {
    let mut c = Container::new(name);
    let path = format!("/berth-spec-res-{}", c.id);
    c.config["linux"]["cgroupsPath"] = json!(path);
    c.config["linux"]["resources"] = resources;
    c.args(&["/bin/sleep", "30"]);
    (c, path)
}

/// A create that must fail naming `field`, leaving no state and no cgroup.
fn assert_refused(c: &Container, path: &str, field: &str) {
    let o = c.create();
    o.assert_fail();
    assert!(o.stderr_text().contains(field), "want {field} named: {o}");
    assert_eq!(o.stderr.trim().lines().count(), 1, "one line: {o}");
    assert!(!c.has_state_dir(), "state left: {:?}", c.state_entries());
    let dir = cgroup_file("pids", path, "", "");
    assert!(!dir.exists(), "{} left", dir.display());
}

/// "major:minor" of a real disk (not loop or ram), for throttles.
fn block_device() -> Option<(u64, u64)> {
    let mut names: Vec<_> = std::fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("loop") && !n.starts_with("ram") && !n.starts_with("zram"))
        .collect();
    names.sort();
    let dev = std::fs::read_to_string(format!("/sys/block/{}/dev", names.first()?)).ok()?;
    let (ma, mi) = dev.trim().split_once(':')?;
    Some((ma.parse().ok()?, mi.parse().ok()?))
}

/// The v2 file `file` exists in our own cgroup (the kernel offers it).
fn v2_offers(file: &str) -> bool {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let rel = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/");
    Path::new("/sys/fs/cgroup")
        .join(rel.trim_start_matches('/'))
        .join(file)
        .exists()
}

#[test]
fn memory_details_reach_the_kernel() {
    let v2 = cgroup_v2();
    let swap = if v2 {
        v2_offers("memory.swap.max")
    } else {
        Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
    };
    let mut mem = json!({"limit": 67108864, "reservation": 33554432});
    if swap {
        mem["swap"] = json!(134217728);
    }
    if !v2 {
        // v1 only: v2 has neither swappiness per cgroup nor an OOM switch.
        mem["swappiness"] = json!(10);
        mem["disableOOMKiller"] = json!(true);
    }
    let (c, path) = container("res-mem", json!({"memory": mem}));
    c.create().assert_ok();
    let f = |v1: &str, v2: &str| read_trim(&cgroup_file("memory", &path, v1, v2));
    assert_eq!(f("memory.soft_limit_in_bytes", "memory.low"), "33554432");
    if swap {
        // v1 memsw counts memory + swap; v2 swap.max is swap alone.
        let want = if v2 { "67108864" } else { "134217728" };
        assert_eq!(f("memory.memsw.limit_in_bytes", "memory.swap.max"), want);
    } else {
        eprintln!("no swap accounting on this kernel: swap not checked");
    }
    if !v2 {
        assert_eq!(f("memory.swappiness", ""), "10");
        let oom = f("memory.oom_control", "");
        assert!(oom.lines().any(|l| l == "oom_kill_disable 1"), "{oom}");
    }
    c.delete(true).assert_ok();
}

#[test]
fn cpu_shares_become_v2_weight() {
    let (c, path) = container("res-cpu", json!({"cpu": {"shares": 512}}));
    c.create().assert_ok();
    let (file, want) = if cgroup_v2() {
        // runc >= 1.3.2's quadratic mapping of shares [2, 262144] to weight
        // [1, 10000] (1024 -> 100), which libcgroups follows.
        ("cpu.weight", "59")
    } else {
        ("cpu.shares", "512")
    };
    assert_eq!(read_trim(&cgroup_file("cpu", &path, file, file)), want);
    c.delete(true).assert_ok();
}

#[test]
fn realtime_cpu_on_v1_and_refused_on_v2() {
    let rt = json!({"cpu": {"realtimePeriod": 1000000, "realtimeRuntime": 10000}});
    let (c, path) = container("res-rt", rt);
    if cgroup_v2() {
        assert_refused(&c, &path, "linux.resources.cpu.realtime");
        return;
    }
    if !Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists() {
        // Kernel without RT_GROUP_SCHED: the field must fail, not vanish.
        assert_refused(&c, &path, "linux.resources.cpu");
        return;
    }
    c.create().assert_ok();
    let f = |n: &str| read_trim(&cgroup_file("cpu", &path, n, ""));
    assert_eq!(f("cpu.rt_period_us"), "1000000");
    assert_eq!(f("cpu.rt_runtime_us"), "10000");
    c.delete(true).assert_ok();
}

#[test]
fn block_io_throttles_reach_the_kernel() {
    let Some((major, minor)) = block_device() else {
        eprintln!("no block device in /sys/block: throttles not checked");
        return;
    };
    let dev = |rate: u64| json!([{"major": major, "minor": minor, "rate": rate}]);
    let (c, path) = container(
        "res-blkio",
        json!({"blockIO": {
            "throttleReadBpsDevice": dev(1048576),
            "throttleWriteIOPSDevice": dev(100)
        }}),
    );
    c.create().assert_ok();
    let id = format!("{major}:{minor}");
    if cgroup_v2() {
        let io = read_trim(&cgroup_file("blkio", &path, "", "io.max"));
        let want = format!("{id} rbps=1048576 wbps=max riops=max wiops=100");
        assert!(io.lines().any(|l| l == want), "io.max: {io:?}, want {want}");
    } else {
        let f = |n: &str| read_trim(&cgroup_file("blkio", &path, n, ""));
        assert_eq!(f("blkio.throttle.read_bps_device"), format!("{id} 1048576"));
        assert_eq!(f("blkio.throttle.write_iops_device"), format!("{id} 100"));
    }
    c.delete(true).assert_ok();
}

#[test]
fn network_classes_need_v1_net_cls() {
    let (c, path) = container("res-net", json!({"network": {"classID": 1048577}}));
    let net_cls = Path::new("/sys/fs/cgroup/net_cls/net_cls.classid").exists()
        || Path::new("/sys/fs/cgroup/net_cls,net_prio/net_cls.classid").exists();
    if net_cls {
        c.create().assert_ok();
        let f = cgroup_file("net_cls", &path, "net_cls.classid", "");
        assert_eq!(read_trim(&f), "1048577");
        c.delete(true).assert_ok();
    } else {
        // v2 has no such controller; this v1 host does not mount it.
        assert_refused(&c, &path, "linux.resources.network");
    }
}

#[test]
fn unified_keys_on_v2_and_refused_on_v1() {
    let u = json!({"unified": {"memory.high": "33554432", "pids.max": "17"}});
    let (c, path) = container("res-unified", u);
    if !cgroup_v2() {
        assert_refused(&c, &path, "linux.resources.unified");
        return;
    }
    c.create().assert_ok();
    let f = |n: &str| read_trim(&cgroup_file("memory", &path, "", n));
    assert_eq!(f("memory.high"), "33554432");
    assert_eq!(f("pids.max"), "17");
    c.delete(true).assert_ok();
}

#[test]
fn unified_key_outside_the_cgroup_is_refused() {
    let u = json!({"unified": {"../../escape.max": "1"}});
    let (c, path) = container("res-unified-bad", u);
    assert_refused(&c, &path, "linux.resources.unified[\"../../escape.max\"]");
    assert!(!Path::new("/sys/fs/cgroup/escape.max").exists());
}
