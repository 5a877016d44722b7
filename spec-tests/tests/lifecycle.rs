//! Runtime spec, "Lifecycle" and "Operations": create, start, state, kill, delete, list.

use serde_json::json;
use spec_tests::*;
use std::path::Path;
use std::time::Duration;

/// A container whose process writes a marker into a bind-mounted host dir, then exits.
fn marker_container(name: &str) -> Container {
    let mut c = Container::new(name);
    let dir = c.host_dir();
    c.add_mount(json!({"destination": "/out", "type": "bind", "source": dir, "options": ["bind"]}));
    c.args(&["/bin/sh", "-c", "echo ran > /out/marker"]);
    c
}

/// A long-running container whose pid 1 exits 3 on SIGTERM (pid 1 ignores default-action
/// signals, so the trap is needed) and records the signal in /out/signal.
fn trap_container(name: &str) -> Container {
    let mut c = Container::new(name);
    let dir = c.host_dir();
    c.add_mount(json!({"destination": "/out", "type": "bind", "source": dir, "options": ["bind"]}));
    c.args(&[
        "/bin/sh",
        "-c",
        "trap 'echo TERM > /out/signal; exit 3' TERM; echo up > /out/up; while true; do sleep 0.05; done",
    ]);
    c
}

fn wait_file(p: &std::path::Path, secs: u64) -> bool {
    let t = std::time::Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if p.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn create_does_not_run_the_process_until_start() {
    let c = marker_container("lc-create");
    let marker = c.host_dir().join("marker");
    c.create().assert_ok();
    let st = c.state();
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], c.id.as_str());
    let pid = st["pid"].as_i64().expect("pid in state");
    assert!(
        pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "{st}"
    );
    assert_eq!(
        std::fs::canonicalize(st["bundle"].as_str().unwrap()).unwrap(),
        std::fs::canonicalize(c.bundle()).unwrap()
    );
    assert!(st["ociVersion"].is_string(), "{st}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!marker.exists(), "the user process ran before start");
    c.start().assert_ok();
    assert!(
        wait_file(&marker, 10),
        "the process did not run after start"
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
    // after the process exits the container is stopped, and still listed until deleted
    let st = c.wait_status("stopped", 10);
    assert_eq!(st["id"], c.id.as_str());
    assert!(c.has_state_dir());
    c.delete(false).assert_ok();
    assert!(
        !c.runtime(&["state", &c.id]).success(),
        "state after delete must fail"
    );
    assert!(!c.has_state_dir(), "state dir left after delete");
}

#[test]
fn start_runs_the_process_in_the_created_namespaces() {
    let c = trap_container("lc-ns");
    c.create().assert_ok();
    let pid = c.state()["pid"].as_i64().unwrap();
    let ns_before = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    c.start().assert_ok();
    assert!(wait_file(&c.host_dir().join("up"), 10));
    let st = c.state();
    assert_eq!(st["status"], "running");
    assert_eq!(
        st["pid"].as_i64().unwrap(),
        pid,
        "start must not change the init pid"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap(),
        ns_before
    );
    c.delete(true).assert_ok();
}

#[test]
fn start_twice_fails() {
    let c = trap_container("lc-start-twice");
    c.create().assert_ok();
    c.start().assert_ok();
    let o = c.start();
    o.assert_fail();
    assert_eq!(c.state()["status"], "running");
}

#[test]
fn kill_by_name_delivers_the_signal() {
    let c = trap_container("lc-kill-name");
    c.create().assert_ok();
    c.start().assert_ok();
    assert!(wait_file(&c.host_dir().join("up"), 10));
    c.kill("TERM").assert_ok();
    assert!(
        wait_file(&c.host_dir().join("signal"), 10),
        "SIGTERM not delivered"
    );
    c.wait_status("stopped", 10);
    // SIG-prefixed names work too (runc accepts both)
    let c2 = trap_container("lc-kill-signame");
    c2.create().assert_ok();
    c2.start().assert_ok();
    assert!(wait_file(&c2.host_dir().join("up"), 10));
    c2.kill("SIGTERM").assert_ok();
    assert!(wait_file(&c2.host_dir().join("signal"), 10));
}

#[test]
fn kill_by_number() {
    let c = trap_container("lc-kill-num");
    c.create().assert_ok();
    c.start().assert_ok();
    assert!(wait_file(&c.host_dir().join("up"), 10));
    c.kill("15").assert_ok();
    assert!(wait_file(&c.host_dir().join("signal"), 10));
    c.wait_status("stopped", 10);
    let c = trap_container("lc-kill-9");
    c.create().assert_ok();
    c.start().assert_ok();
    assert!(wait_file(&c.host_dir().join("up"), 10));
    let pid = c.state()["pid"].as_i64().unwrap();
    c.kill("9").assert_ok();
    c.wait_status("stopped", 10);
    assert!(
        !c.host_dir().join("signal").exists(),
        "SIGKILL cannot be trapped"
    );
    let t = std::time::Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && t.elapsed().as_secs() < 5 {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn kill_created_container() {
    let c = marker_container("lc-kill-created");
    c.create().assert_ok();
    c.kill("KILL").assert_ok();
    c.wait_status("stopped", 10);
    assert!(!c.host_dir().join("marker").exists());
}

#[test]
fn delete_force_on_running_container() {
    let c = trap_container("lc-delete-force");
    c.create().assert_ok();
    c.start().assert_ok();
    assert!(wait_file(&c.host_dir().join("up"), 10));
    let pid = c.state()["pid"].as_i64().unwrap();
    // plain delete of a running container is refused
    c.delete(false).assert_fail();
    assert_eq!(c.state()["status"], "running");
    c.delete(true).assert_ok();
    assert!(!c.runtime(&["state", &c.id]).success());
    assert!(!c.has_state_dir());
    let t = std::time::Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.contains(") Z ") {
            break; // a zombie of a process we do not reap is gone for our purposes
        }
        assert!(
            t.elapsed().as_secs() < 10,
            "container process {pid} survived delete --force"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // idempotent: a second delete --force of a gone container succeeds
    c.delete(true).assert_ok();
}

#[test]
fn delete_created_container_kills_it() {
    let c = marker_container("lc-delete-created");
    c.create().assert_ok();
    c.delete(true).assert_ok();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !c.host_dir().join("marker").exists(),
        "deleting must not start the process"
    );
    assert!(!c.has_state_dir());
}

#[test]
fn list_shows_containers() {
    let c = trap_container("lc-list");
    c.create().assert_ok();
    let o = c.runtime(&["list", "--format", "json"]);
    o.assert_ok();
    let v: serde_json::Value =
        serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o}"));
    let entry = v
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == c.id.as_str())
        .unwrap_or_else(|| panic!("{} not listed: {o}", c.id));
    assert_eq!(entry["status"], "created");
    assert!(entry["pid"].as_i64().unwrap() > 0);
    let o = c.runtime(&["list"]);
    o.assert_ok();
    assert!(
        o.stdout.contains(&c.id) && o.stdout.contains("created"),
        "{o}"
    );
    let q = c.runtime(&["list", "-q"]);
    assert_eq!(q.stdout.trim(), c.id, "{q}");
}

#[test]
fn duplicate_id_is_rejected() {
    let c = trap_container("lc-dup");
    c.create().assert_ok();
    let pid = c.state()["pid"].clone();
    let o = c.create();
    o.assert_fail();
    let st = c.state();
    assert_eq!(
        st["status"], "created",
        "the first container must be untouched"
    );
    assert_eq!(st["pid"], pid);
}

#[test]
fn run_detached() {
    let c = trap_container("lc-run-d");
    c.write_config();
    let b = c.bundle();
    let o = c.runtime_with(
        &["run", "-d", "--bundle", b.to_str().unwrap(), &c.id],
        Spawn {
            stdout: Some(std::fs::File::create(c.ctr_stdout()).unwrap()),
            stderr: Some(std::fs::File::create(c.ctr_stderr()).unwrap()),
            ..Default::default()
        },
    );
    assert!(o.success(), "{o}\n{}", read_or_empty(&c.ctr_stderr()));
    assert!(wait_file(&c.host_dir().join("up"), 10));
    assert_eq!(c.state()["status"], "running");
    c.kill("KILL").assert_ok();
    c.wait_status("stopped", 10);
}

#[test]
fn state_of_stopped_container_after_exit_code() {
    let mut c = Container::new("lc-exit");
    c.args(&["/bin/sh", "-c", "exit 7"]);
    c.create().assert_ok();
    c.start().assert_ok();
    let st = c.wait_status("stopped", 10);
    assert_eq!(st["id"], c.id.as_str());
    // starting a stopped container is an error
    c.start().assert_fail();
}

/// With no pid namespace of its own, what the init leaves running stays in
/// the container's cgroup after the init exits: `delete` of the stopped
/// container kills it, then removes the cgroup (its rmdir first meets EBUSY).
#[test]
fn delete_of_a_stopped_container_kills_what_its_init_left() {
    let mut c = Container::new("lc-delete-leftover");
    let dir = c.host_dir();
    std::fs::create_dir_all(&dir).unwrap();
    c.add_mount(json!({"destination": "/out", "type": "bind", "source": dir, "options": ["bind"]}));
    c.remove_namespace("pid");
    c.args(&[
        "/bin/sh",
        "-c",
        "sleep 1000 & echo $! > /out/bg.tmp && mv /out/bg.tmp /out/bg",
    ]);
    c.create().assert_ok();
    let init = c.state()["pid"].as_i64().unwrap() as i32;
    c.start().assert_ok();
    assert!(
        wait_file(&dir.join("bg"), 10),
        "the background sleep never started"
    );
    let bg: i32 = std::fs::read_to_string(dir.join("bg"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let t = std::time::Instant::now();
    while Path::new(&format!("/proc/{init}")).exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(c.state()["status"], "stopped");
    let cgroup = std::fs::read_to_string(format!("/proc/{bg}/cgroup")).unwrap();
    assert!(
        cgroup.contains(&c.id),
        "the sleep is not in the container's cgroup: {cgroup}"
    );
    c.delete(false).assert_ok();
    let t = std::time::Instant::now();
    let gone = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
    };
    while !gone(bg) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(gone(bg), "pid {bg} outlived delete");
    assert!(!c.has_state_dir());
    for line in cgroup.lines() {
        let rel = line.splitn(3, ':').nth(2).unwrap_or("");
        let ctrl = line.split(':').nth(1).unwrap_or("");
        let ctrl = ctrl.strip_prefix("name=").unwrap_or(ctrl);
        let d = if ctrl.is_empty() {
            format!("/sys/fs/cgroup/unified{rel}")
        } else {
            format!("/sys/fs/cgroup/{ctrl}{rel}")
        };
        if rel.contains(&c.id) {
            assert!(!Path::new(&d).exists(), "{d} left behind");
        }
    }
}
