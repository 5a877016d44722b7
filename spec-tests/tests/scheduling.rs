//! Where and how the container's processes run (runtime-spec 1.3):
//! process.execCPUAffinity (exec'd processes; the init's affinity is the
//! cgroup's), linux.memoryPolicy (set_mempolicy for the init and exec) and
//! linux.personality. Each is read back from inside: Cpus_allowed_list,
//! /proc/self/numa_maps, `uname -m`.
//!
//! Known to fail with runc 1.1: none of these fields exist there.

use serde_json::{json, Value};
use spec_tests::*;
use std::process::Command;

fn online_cpus() -> String {
    read_trim(std::path::Path::new("/sys/devices/system/cpu/online"))
}

fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A created and started `sleep` container.
fn sleeper(c: &mut Container) {
    c.args(&["sleep", "1000"]);
    c.create().assert_ok();
    c.start().assert_ok();
    c.wait_status("running", 10);
}

/// `exec --process` of a shell command with extra process fields.
fn exec_process(c: &Container, script: &str, extra: Value) -> Output {
    let mut p = c.config["process"].clone();
    p["args"] = json!(["sh", "-c", script]);
    if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    let file = c.host_dir().join("process.json");
    std::fs::write(&file, p.to_string()).unwrap();
    c.runtime(&["exec", "--process", file.to_str().unwrap(), &c.id])
}

fn allowed_list(status: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap_or("")
        .trim()
        .to_string()
}

#[test]
fn exec_cpu_affinity_final_is_what_the_process_runs_on() {
    if cpu_count() < 2 {
        eprintln!("skipped: needs two CPUs");
        return;
    }
    let mut c = Container::new("aff-final");
    sleeper(&mut c);
    let aff = json!({"execCPUAffinity": {"initial": "0", "final": "1"}});
    let o = exec_process(&c, "cat /proc/self/status", aff);
    o.assert_ok();
    assert_eq!(allowed_list(&o.stdout), "1", "{o}");
    // Only initial: the kernel decides after the cgroup join; it runs.
    let o = exec_process(&c, "true", json!({"execCPUAffinity": {"initial": "1"}}));
    o.assert_ok();
}

#[test]
fn exec_inherits_config_affinity_and_the_init_keeps_the_cgroups_cpus() {
    let mut c = Container::new("aff-inherit");
    c.config["process"]["execCPUAffinity"] = json!({"final": "0"});
    c.args(&["sleep", "1000"]);
    c.write_config();
    // Started pinned to CPU 0 as the caller, the init still gets every CPU
    // its cgroup allows (execCPUAffinity is not the init's).
    let b = c.bundle();
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "0"])
        .arg(runtime_bin())
        .arg("--root")
        .arg(c.state_root())
        .args(["run", "-d", "--bundle", b.to_str().unwrap(), &c.id]);
    c.exec_cmd(cmd, Spawn::default()).assert_ok();
    let pid = c.state()["pid"].as_i64().unwrap();
    let init = read_or_empty(std::path::Path::new(&format!("/proc/{pid}/status")));
    assert_eq!(allowed_list(&init), online_cpus(), "init: {init}");
    // exec without --process takes config.json's process, affinity included.
    let o = c.runtime(&["exec", &c.id, "cat", "/proc/self/status"]);
    o.assert_ok();
    assert_eq!(allowed_list(&o.stdout), "0", "{o}");
}

#[test]
fn exec_cpu_affinity_naming_an_offline_cpu_fails_naming_the_field() {
    let mut c = Container::new("aff-bad");
    sleeper(&mut c);
    let far = (cpu_count() + 60).to_string();
    let o = exec_process(&c, "true", json!({"execCPUAffinity": {"final": far}}));
    o.assert_fail();
    assert!(
        o.stderr.contains("process.execCPUAffinity.final") && o.stderr.contains(&far),
        "{o}"
    );
    // A malformed list is a config error at create.
    let mut d = Container::new("aff-malformed");
    d.config["process"]["execCPUAffinity"] = json!({"initial": "1-x"});
    let o = d.run();
    o.assert_fail();
    assert!(o.stderr.contains("execCPUAffinity"), "{o}");
    assert!(!d.has_state_dir(), "nothing left: {:?}", d.state_entries());
}

/// The policy field of the first mapping of `head` itself, as numa_maps shows it.
const POLICY: &str = "head -1 /proc/self/numa_maps | cut -d' ' -f2";

fn numa() -> bool {
    std::path::Path::new("/sys/devices/system/node/online").exists()
}

#[test]
fn memory_policy_reaches_the_init_and_exec() {
    if !numa() {
        eprintln!("skipped: no NUMA support on this host");
        return;
    }
    for (policy, want) in [
        (
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "0"}),
            "interleave:0",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
            "bind=static:0",
        ),
        (json!({"mode": "MPOL_DEFAULT"}), "default"),
    ] {
        let mut c = Container::new("mempolicy");
        c.config["linux"]["memoryPolicy"] = policy.clone();
        c.args(&["sh", "-c", POLICY]);
        let o = c.run();
        o.assert_ok();
        assert_eq!(o.stdout.trim(), want, "{policy}: {o}");
    }
    let mut c = Container::new("mempolicy-exec");
    c.config["linux"]["memoryPolicy"] = json!({"mode": "MPOL_PREFERRED", "nodes": "0"});
    sleeper(&mut c);
    let o = c.runtime(&["exec", &c.id, "sh", "-c", POLICY]);
    o.assert_ok();
    assert_eq!(o.stdout.trim(), "prefer:0", "{o}");
}

#[test]
fn bad_memory_policy_fails_before_anything_exists() {
    let far = "900";
    for (policy, want) in [
        (json!({"mode": "MPOL_BIND"}), "needs at least one node"),
        (
            json!({"mode": "MPOL_LOCAL", "nodes": "0"}),
            "takes no nodes",
        ),
        (
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "3-1"}),
            "invalid range",
        ),
        (json!({"mode": "MPOL_BIND", "nodes": far}), far),
        (json!({"mode": "MPOL_BOGUS"}), "MPOL_BOGUS"),
    ] {
        let mut c = Container::new("mempolicy-bad");
        c.config["linux"]["memoryPolicy"] = policy.clone();
        let o = c.run();
        o.assert_fail();
        // A mode serde does not know is named with config.json's line.
        let named = o.stderr.contains("linux.memoryPolicy") || o.stderr.contains("config.json");
        assert!(named && o.stderr.contains(want), "{policy}: {o}");
        assert!(!c.has_state_dir(), "nothing left: {:?}", c.state_entries());
    }
}

#[test]
fn personality_linux32_for_the_init_and_exec() {
    let mut c = Container::new("persona");
    c.config["linux"]["personality"] = json!({"domain": "LINUX32"});
    c.args(&["uname", "-m"]);
    let o = c.run();
    o.assert_ok();
    assert_eq!(o.stdout.trim(), "i686", "{o}");
    let mut c = Container::new("persona-exec");
    c.config["linux"]["personality"] = json!({"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]});
    sleeper(&mut c);
    let o = c.runtime(&["exec", &c.id, "uname", "-m"]);
    o.assert_ok();
    assert_eq!(o.stdout.trim(), "i686", "{o}");
    // LINUX is the default domain.
    let mut c = Container::new("persona-linux");
    c.config["linux"]["personality"] = json!({"domain": "LINUX"});
    c.args(&["uname", "-m"]);
    let o = c.run();
    o.assert_ok();
    assert_eq!(o.stdout.trim(), std::env::consts::ARCH, "{o}");
    let mut c = Container::new("persona-bad");
    c.config["linux"]["personality"] = json!({"domain": "LINUX64"});
    let o = c.run();
    o.assert_fail();
    assert!(o.stderr.contains("LINUX64"), "{o}");
}
