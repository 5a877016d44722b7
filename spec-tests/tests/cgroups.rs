//! linux.cgroupsPath and linux.resources: the cgroup exists before the user
//! process runs, limits reach the kernel (read from the host and from inside),
//! a limit the kernel refuses fails create cleanly, delete removes the cgroup.
//! Works on v1 (hybrid) and v2 hosts: each check reads the file of the host's
//! layout.

use std::path::Path;

use serde_json::json;
use spec_tests::*;

fn container_with_cgroup(name: &str) -> (Container, String) {
    let mut c = Container::new(name);
    let path = format!("/berth-spec-cg-{}", c.id);
    c.config["linux"]["cgroupsPath"] = json!(path);
    (c, path)
}

#[test]
fn cgroup_exists_before_start_and_is_removed_by_delete() {
    let (mut c, path) = container_with_cgroup("cg-life");
    c.args(&["/bin/true"]);
    c.create().assert_ok();
    let pid = c.state()["pid"].as_i64().unwrap();
    let procs = cgroup_file("pids", &path, "cgroup.procs", "cgroup.procs");
    let listed = read_trim(&procs);
    assert!(
        listed.lines().any(|l| l == pid.to_string()),
        "init {pid} not in {}: {listed:?}",
        procs.display()
    );
    c.start().assert_ok();
    c.wait_status("stopped", 10);
    c.delete(false).assert_ok();
    assert!(
        !procs.parent().unwrap().exists(),
        "{} left",
        procs.display()
    );
}

/// The init (born in its cgroup, or moving itself into each v1 hierarchy) and
/// an exec'd process sit in the container's cgroup in every hierarchy the
/// host has, v1 ones, name=systemd and the unified one alike.
#[test]
fn init_and_exec_are_in_the_cgroup_in_every_hierarchy() {
    let (mut c, path) = container_with_cgroup("cg-every");
    c.args(&["sleep", "1000"]);
    c.create().assert_ok();
    let pid = c.state()["pid"].as_i64().unwrap();
    let host_view = read_trim(Path::new(&format!("/proc/{pid}/cgroup")));
    assert!(!host_view.is_empty());
    for line in host_view.lines() {
        assert!(line.ends_with(&format!(":{path}")), "{line} in {host_view}");
    }
    c.start().assert_ok();
    let o = c.runtime(&[
        "exec",
        &c.id,
        "sh",
        "-c",
        "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup",
    ]);
    o.assert_ok();
    let (exec, init) = o.stdout.split_once("--\n").expect("two lists");
    assert_eq!(exec.trim(), init.trim(), "{o}");
    assert_eq!(
        exec.trim().lines().count(),
        host_view.lines().count(),
        "{o}"
    );
    c.delete(true).assert_ok();
}

#[test]
fn memory_pids_cpu_limits_reach_the_kernel() {
    let (mut c, path) = container_with_cgroup("cg-limits");
    c.config["linux"]["resources"] = json!({
        "devices": [{"allow": false, "access": "rwm"}],
        "memory": {"limit": 67108864},
        "pids": {"limit": 42},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}
    });
    // The container reads its own limits through the /sys/fs/cgroup mount.
    let (mem_in, pids_in) = if cgroup_v2() {
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/pids.max")
    } else {
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/pids/pids.max",
        )
    };
    c.args(&[
        "/bin/sh",
        "-c",
        &format!("cat {mem_in} {pids_in}; exec sleep 30"),
    ]);
    c.create().assert_ok();
    let mem = read_trim(&cgroup_file(
        "memory",
        &path,
        "memory.limit_in_bytes",
        "memory.max",
    ));
    assert_eq!(mem, "67108864");
    assert_eq!(
        read_trim(&cgroup_file("pids", &path, "pids.max", "pids.max")),
        "42"
    );
    assert_eq!(
        read_trim(&cgroup_file("cpuset", &path, "cpuset.cpus", "cpuset.cpus")),
        "0"
    );
    if cgroup_v2() {
        assert_eq!(
            read_trim(&cgroup_file("cpu", &path, "", "cpu.max")),
            "50000 100000"
        );
    } else {
        assert_eq!(
            read_trim(&cgroup_file("cpu", &path, "cpu.shares", "")),
            "512"
        );
        assert_eq!(
            read_trim(&cgroup_file("cpu", &path, "cpu.cfs_quota_us", "")),
            "50000"
        );
    }
    c.start().assert_ok();
    let mut inside = String::new();
    for _ in 0..50 {
        inside = c.container_stdout();
        if inside.lines().count() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let lines: Vec<&str> = inside.lines().collect();
    assert_eq!(lines, ["67108864", "42"], "seen from inside: {inside:?}");
    c.delete(true).assert_ok();
}

#[test]
fn refused_limit_fails_create_and_leaves_nothing() {
    let (mut c, path) = container_with_cgroup("cg-refused");
    c.config["linux"]["resources"]["cpu"] = json!({"cpus": "63"});
    let o = c.create();
    o.assert_fail();
    assert!(o.stderr.contains("linux.resources"), "{o}");
    assert!(!c.has_state_dir(), "state left: {:?}", c.state_entries());
    let dir = cgroup_file("cpuset", &path, "", "");
    assert!(!dir.exists(), "{} left", dir.display());
}

#[test]
fn devices_allowed_by_linux_devices_are_usable() {
    let mut c = Container::new("cg-dev-allow");
    c.config["linux"]["devices"] = json!([{
        "path": "/dev/kmsg-copy", "type": "c", "major": 1, "minor": 11, "fileMode": 420
    }]);
    let r = c.check(&["read", "/dev/null", "stat", "/dev/kmsg-copy"]);
    assert_eq!(probe(&r, 0)["ok"], true, "{}", brief(&r));
    assert_eq!(probe(&r, 1)["ok"], true, "{}", brief(&r));
}

/// hugetlb lives on the cgroup2 mount of this hybrid host (MACHINE.md): the
/// limit must land there, and the directory must go with delete.
#[test]
fn hugepage_limits_apply_on_this_layout() {
    let (mut c, path) = container_with_cgroup("cg-huge");
    c.config["linux"]["resources"]["hugepageLimits"] =
        json!([{"pageSize": "2MB", "limit": 4194304}]);
    c.args(&["/bin/sleep", "30"]);
    c.create().assert_ok();
    let rel = path.trim_start_matches('/');
    let file = if Path::new("/sys/fs/cgroup/hugetlb").is_dir() {
        Path::new("/sys/fs/cgroup/hugetlb")
            .join(rel)
            .join("hugetlb.2MB.limit_in_bytes")
    } else if Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists() {
        Path::new("/sys/fs/cgroup/unified")
            .join(rel)
            .join("hugetlb.2MB.max")
    } else {
        Path::new("/sys/fs/cgroup")
            .join(rel)
            .join("hugetlb.2MB.max")
    };
    assert_eq!(read_trim(&file), "4194304");
    // update reaches the same place.
    let res = c.base().join("resources.json");
    std::fs::write(
        &res,
        json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 8388608}]}).to_string(),
    )
    .unwrap();
    c.runtime(&["update", "--resources", res.to_str().unwrap(), &c.id])
        .assert_ok();
    assert_eq!(read_trim(&file), "8388608");
    c.delete(true).assert_ok();
    assert!(!file.parent().unwrap().exists(), "{} left", file.display());
}
