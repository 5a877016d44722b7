//! runc's other verbs on real containers: pause/resume (freezer), ps (the
//! cgroup's pids), update (limits read back from the host cgroup and from
//! inside), events (stats JSON, an OOM event), kill --all.
//! Works on v1 (hybrid) and v2 hosts: each check reads the host layout's file.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use spec_tests::*;

/// A container with its own absolute cgroupsPath and /out bound to its host dir.
fn container(name: &str) -> (Container, String) {
    let mut c = Container::new(name);
    let path = format!("/berth-spec-verbs-{}", c.id);
    c.config["linux"]["cgroupsPath"] = json!(path);
    let dir = c.host_dir();
    c.add_mount(json!({"destination": "/out", "type": "bind",
                       "source": dir, "options": ["bind"]}));
    (c, path)
}

/// A started container that appends a line to /out/count ten times a second.
fn counting(name: &str) -> (Container, String) {
    let (mut c, path) = container(name);
    c.args(&[
        "sh",
        "-c",
        "while true; do echo x >> /out/count; sleep 0.1; done",
    ]);
    c.create().assert_ok();
    c.start().assert_ok();
    c.wait_status("running", 10);
    wait_until(|| count(&c) > 0, "the counter to start");
    (c, path)
}

fn count(c: &Container) -> usize {
    read_or_empty(&c.host_dir().join("count")).len()
}

#[track_caller]
fn wait_until(mut f: impl FnMut() -> bool, what: &str) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ps_json(c: &Container) -> Vec<i64> {
    let o = c.runtime(&["ps", "--format", "json", &c.id]);
    o.assert_ok();
    let v: Value = serde_json::from_str(o.stdout.trim())
        .unwrap_or_else(|e| panic!("ps --format json is not JSON ({e}): {o}"));
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {o}"))
        .iter()
        .map(|p| p.as_i64().unwrap())
        .collect()
}

#[test]
fn pause_stops_progress_and_resume_restarts_it() {
    let (c, path) = counting("pause");
    c.runtime(&["pause", &c.id]).assert_ok();
    assert_eq!(c.state()["status"], "paused");
    let freezer = cgroup_file("freezer", &path, "freezer.state", "cgroup.freeze");
    let f = read_trim(&freezer);
    assert!(f == "FROZEN" || f == "1", "freezer says {f:?}");
    let before = count(&c);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(&c), before, "the paused container kept writing");
    // Pausing twice is an error naming the id and the status, and changes nothing.
    let o = c.runtime(&["pause", &c.id]);
    o.assert_fail();
    assert!(
        o.stderr.contains(&c.id) && o.stderr.contains("paused"),
        "{o}"
    );

    c.runtime(&["resume", &c.id]).assert_ok();
    assert_eq!(c.state()["status"], "running");
    wait_until(|| count(&c) > before, "the counter to grow after resume");
    let o = c.runtime(&["resume", &c.id]);
    o.assert_fail();
    assert!(
        o.stderr.contains(&c.id) && o.stderr.contains("running"),
        "{o}"
    );
}

#[test]
fn pause_of_stopped_or_created_container_fails() {
    let (mut c, _path) = container("pause-stopped");
    c.args(&["/bin/true"]);
    c.create().assert_ok();
    let o = c.runtime(&["pause", &c.id]);
    o.assert_fail();
    assert!(
        o.stderr.contains(&c.id) && o.stderr.contains("created"),
        "{o}"
    );
    c.start().assert_ok();
    c.wait_status("stopped", 10);
    let o = c.runtime(&["pause", &c.id]);
    o.assert_fail();
    assert!(
        o.stderr.contains(&c.id) && o.stderr.contains("stopped"),
        "{o}"
    );
    assert_eq!(c.state()["status"], "stopped");
}

#[test]
fn ps_lists_init_and_exec_pids() {
    let (c, _path) = counting("ps");
    let init = c.state()["pid"].as_i64().unwrap();
    assert!(ps_json(&c).contains(&init), "init {init} missing");
    c.runtime(&["exec", "-d", &c.id, "sleep", "1000"])
        .assert_ok();
    let sleeper = |pids: &[i64]| {
        pids.iter().any(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .is_ok_and(|s| s.starts_with("sleep\u{0}1000"))
        })
    };
    wait_until(|| sleeper(&ps_json(&c)), "the exec'd sleep in ps");
    // Flags after the id, as runc takes them.
    let o = c.runtime(&["ps", &c.id, "--format", "json"]);
    o.assert_ok();
    assert!(o.stdout.trim().starts_with('['), "{o}");
    // Table mode: ps -ef rows of the container only.
    let o = c.runtime(&["ps", &c.id]);
    o.assert_ok();
    let mut lines = o.stdout.lines();
    assert!(lines.next().unwrap_or("").contains("PID"), "{o}");
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.iter()
            .any(|l| l.split_whitespace().nth(1) == Some(&init.to_string())),
        "{o}"
    );
    let me = std::process::id().to_string();
    assert!(
        !rows
            .iter()
            .any(|l| l.split_whitespace().nth(1) == Some(&me)),
        "the test process is listed: {o}"
    );
}

#[test]
fn kill_all_signals_every_process() {
    let (c, _path) = counting("kill-all");
    c.runtime(&["exec", "-d", &c.id, "sleep", "1000"])
        .assert_ok();
    wait_until(|| ps_json(&c).len() >= 2, "two processes");
    let pids = ps_json(&c);
    c.runtime(&["kill", "--all", &c.id, "KILL"]).assert_ok();
    wait_until(
        || {
            pids.iter()
                .all(|p| state_letter(*p).is_none_or(|s| s == 'Z' || s == 'X'))
        },
        "every process to die",
    );
    c.wait_status("stopped", 10);
}

fn state_letter(pid: i64) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s[s.rfind(')')? + 2..].chars().next()
}

#[test]
fn update_memory_and_pids_reach_the_cgroup() {
    let (c, path) = counting("update");
    c.runtime(&["update", &c.id, "--memory", "64m"]).assert_ok();
    let (v1f, v2f) = ("memory.limit_in_bytes", "memory.max");
    assert_eq!(
        read_trim(&cgroup_file("memory", &path, v1f, v2f)),
        "67108864"
    );
    let inside = if cgroup_v2() {
        "/sys/fs/cgroup/memory.max"
    } else {
        "/sys/fs/cgroup/memory/memory.limit_in_bytes"
    };
    let o = c.runtime(&["exec", &c.id, "cat", inside]);
    o.assert_ok();
    assert_eq!(o.stdout.trim(), "67108864", "{o}");

    c.runtime(&["update", &c.id, "--pids-limit", "10"])
        .assert_ok();
    assert_eq!(
        read_trim(&cgroup_file("pids", &path, "pids.max", "pids.max")),
        "10"
    );
    // The memory limit was left alone by the pids update.
    assert_eq!(
        read_trim(&cgroup_file("memory", &path, v1f, v2f)),
        "67108864"
    );

    // A LinuxResources file.
    let res = c.host_dir().join("res.json");
    std::fs::write(&res, r#"{"pids": {"limit": 20}}"#).unwrap();
    c.runtime(&["update", "--resources", res.to_str().unwrap(), &c.id])
        .assert_ok();
    assert_eq!(
        read_trim(&cgroup_file("pids", &path, "pids.max", "pids.max")),
        "20"
    );
    assert_eq!(c.state()["status"], "running");
}

/// As runc: a refused group puts back what was written before it, and a successful
/// update is what the next refusal goes back to.
#[test]
fn refused_update_rolls_back_to_the_last_accepted_values() {
    let (c, path) = counting("update-rollback");
    let mem = || {
        read_trim(&cgroup_file(
            "memory",
            &path,
            "memory.limit_in_bytes",
            "memory.max",
        ))
    };
    c.runtime(&["update", &c.id, "--memory", "64m"]).assert_ok();
    let o = c.runtime(&["update", &c.id, "--memory", "128m", "--cpuset-cpus", "63"]);
    o.assert_fail();
    assert!(o.stderr.contains("--cpuset-cpus"), "{o}");
    assert_eq!(mem(), "67108864", "memory not rolled back: {o}");
    c.runtime(&["update", &c.id, "--memory", "96m"]).assert_ok();
    let o = c.runtime(&["update", &c.id, "--memory", "200m", "--cpuset-cpus", "63"]);
    o.assert_fail();
    assert_eq!(
        mem(),
        "100663296",
        "not rolled back to the recorded 96m: {o}"
    );
    assert_eq!(c.state()["status"], "running");
}

#[test]
fn update_of_unknown_id_fails() {
    let (c, _path) = container("update-unknown");
    let o = c.runtime(&["update", "no-such-container-xyz", "--memory", "64m"]);
    o.assert_fail();
    assert!(o.stderr.contains("no-such-container-xyz"), "{o}");
}

#[test]
fn update_below_usage_fails_naming_the_field() {
    if cgroup_v2() {
        // v2's memory.max reclaims and OOM-kills instead of refusing.
        eprintln!("skipped: only v1 refuses a limit below usage");
        return;
    }
    let (c, path) = counting("update-low");
    let file = cgroup_file("memory", &path, "memory.limit_in_bytes", "memory.max");
    let before = read_trim(&file);
    let o = c.runtime(&["update", &c.id, "--memory", "4k"]);
    o.assert_fail();
    assert!(
        o.stderr.contains("--memory") && o.stderr.contains("usage"),
        "{o}"
    );
    assert_eq!(read_trim(&file), before, "the limit changed");
    assert_eq!(c.state()["status"], "running");
}

#[test]
fn update_rejects_intel_rdt() {
    let (c, _path) = counting("update-rdt");
    let o = c.runtime(&["update", &c.id, "--l3-cache-schema", "L3:0=ff"]);
    o.assert_fail();
    assert!(o.stderr.contains("--l3-cache-schema"), "{o}");
}

#[test]
fn events_stats_prints_runc_json() {
    let (c, _path) = counting("events-stats");
    let o = c.runtime(&["events", "--stats", &c.id]);
    o.assert_ok();
    let v = o.json();
    assert_eq!(v["type"], "stats", "{o}");
    assert_eq!(v["id"], c.id.as_str(), "{o}");
    let usage = v["data"]["memory"]["usage"]["usage"].as_u64().unwrap_or(0);
    assert!(usage > 0, "memory usage 0: {o}");
    assert!(
        v["data"]["pids"]["current"].as_u64().unwrap_or(0) >= 1,
        "{o}"
    );
    assert!(v["data"]["cpu"]["usage"]["total"].is_u64(), "{o}");
}

#[test]
fn oom_kill_exits_137_and_events_reports_it() {
    let (mut c, _path) = container("oom");
    std::os::unix::fs::symlink("busybox", c.rootfs().join("bin/tail")).unwrap();
    c.args(&[
        "sh",
        "-c",
        "touch /out/ready; sleep 1; head -c 100000000 /dev/zero | tail -c 60000000 >/dev/null",
    ]);
    let mut mem = json!({"limit": 33554432});
    if cgroup_v2() || Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
        // No swapping around the limit.
        mem["swap"] = json!(33554432);
    }
    c.config["linux"]["resources"]["memory"] = mem;
    c.write_config();
    let out = std::fs::File::create(c.base().join("logs/run.out")).unwrap();
    let mut run = Command::new(runtime_bin())
        .arg("--root")
        .arg(c.state_root())
        .args(["run", "--bundle"])
        .arg(c.bundle())
        .arg(&c.id)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    wait_until(
        || c.host_dir().join("ready").exists(),
        "the container to start",
    );
    let ev_path = c.base().join("logs/events.out");
    let mut events = Command::new(runtime_bin())
        .arg("--root")
        .arg(c.state_root())
        .args(["events", "--interval", "200ms", &c.id])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&ev_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let status = loop {
        if let Some(s) = run.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > Duration::from_secs(60) {
            let _ = run.kill();
            let _ = events.kill();
            panic!("run did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let t = Instant::now();
    let ev_status = loop {
        if let Some(s) = events.try_wait().unwrap() {
            break Some(s);
        }
        if t.elapsed() > Duration::from_secs(10) {
            let _ = events.kill();
            let _ = events.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run_out = read_or_empty(&c.base().join("logs/run.out"));
    let ev = read_or_empty(&ev_path);
    assert_eq!(status.code(), Some(137), "run: {run_out}");
    assert!(
        ev_status.is_some(),
        "events kept running after the container stopped"
    );
    let lines: Vec<Value> = ev
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|v| v["type"] == "oom" && v["id"] == c.id.as_str()),
        "no oom event: {ev}"
    );
}

/// `runtime state ID | head -c0`: writing to a pipe whose reader is gone is
/// not a crash. Before, println! panicked on EPIPE: SIGABRT and a Rust panic
/// message on stderr (runc dies of SIGPIPE, quietly).
#[test]
fn output_to_a_closed_pipe_is_no_crash() {
    let (mut c, _path) = container("closed-pipe");
    c.args(&["/bin/true"]);
    c.create().assert_ok();
    for verb in [vec!["state", c.id.as_str()], vec!["features"]] {
        let mut child = Command::new(runtime_bin())
            .arg("--root")
            .arg(c.state_root())
            .args(&verb)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before the runtime writes
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code().is_some() && !stderr.contains("panicked"),
            "{verb:?} to a closed pipe: {:?}, stderr: {stderr}",
            out.status
        );
    }
}
