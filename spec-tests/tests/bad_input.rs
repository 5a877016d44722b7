//! Bad input: every case must exit non-zero, run nothing, and leave no state behind in --root.
//! The `*_names_*` tests add DESIGN.md's demand that the one-line error names the culprit
//! (runc 1.1 does not always do that).

use serde_json::json;
use spec_tests::*;

fn assert_rejected(c: &Container, o: &Output) {
    o.assert_fail();
    assert!(!o.stdout.contains("\"pid\""), "the process ran: {o}");
    assert!(
        c.state_entries().iter().all(|e| e != &c.id),
        "state left behind: {:?}",
        c.state_entries()
    );
    assert!(!c.runtime(&["state", &c.id]).success());
}

fn truncated(c: &Container) -> Output {
    c.write_config();
    let p = c.bundle().join("config.json");
    let full = std::fs::read(&p).unwrap();
    std::fs::write(&p, &full[..full.len() / 2]).unwrap();
    let b = c.bundle();
    c.runtime(&["run", "--bundle", b.to_str().unwrap(), &c.id])
}

#[test]
fn truncated_config_json() {
    let c = Container::new("bad-trunc");
    let o = truncated(&c);
    assert_rejected(&c, &o);
}

#[test]
fn truncated_config_json_names_the_file() {
    // Known to fail with runc 1.1: it prints only the JSON decoder's message.
    let c = Container::new("bad-trunc-msg");
    let o = truncated(&c);
    o.assert_fail();
    assert!(o.stderr.contains("config.json"), "{o}");
}

#[test]
fn missing_config_json() {
    let c = Container::new("bad-noconfig");
    let b = c.bundle();
    let o = c.runtime(&["run", "--bundle", b.to_str().unwrap(), &c.id]);
    assert_rejected(&c, &o);
    assert!(o.stderr.contains("config.json"), "{o}");
}

#[test]
fn unknown_oci_version_major() {
    // Known to fail with runc 1.1, which does not check ociVersion at all. A runtime that
    // implements 1.x cannot know what a 9.0.0 document means; it must refuse it.
    let mut c = Container::new("bad-ociversion");
    c.config["ociVersion"] = json!("9.0.0");
    let o = c.run();
    assert_rejected(&c, &o);
    assert!(
        o.stderr.contains("ociVersion") || o.stderr.contains("9.0.0"),
        "{o}"
    );
}

#[test]
fn missing_rootfs() {
    let mut c = Container::new("bad-rootfs");
    c.config["root"]["path"] = json!("no-such-rootfs");
    let o = c.run();
    assert_rejected(&c, &o);
    assert!(
        o.stderr.contains("no-such-rootfs"),
        "stderr should name the path: {o}"
    );
}

#[test]
fn missing_process_args() {
    let mut c = Container::new("bad-noargs");
    c.config["process"]["args"] = json!([]);
    let o = c.run();
    assert_rejected(&c, &o);
    assert!(o.stderr.contains("args"), "{o}");
}

fn bad_id(id: &str) {
    let c = Container::new("bad-id");
    c.write_config();
    let b = c.bundle();
    let o = c.runtime(&["run", "--bundle", b.to_str().unwrap(), id]);
    o.assert_fail();
    assert!(!o.stdout.contains("\"pid\""), "the process ran: {o}");
    let left = c.state_entries();
    assert!(left.is_empty(), "state left behind for {id:?}: {left:?}");
    // nothing was created next to the state root either
    let parent: Vec<_> = std::fs::read_dir(c.base())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        parent.len(),
        4,
        "unexpected files next to --root: {parent:?}"
    );
}

#[test]
fn empty_id() {
    bad_id("");
}

#[test]
fn too_long_id() {
    bad_id(&"a".repeat(1024));
}

#[test]
fn id_with_slash() {
    bad_id("a/b");
    bad_id("../escape");
}

#[test]
fn id_dot_dot() {
    bad_id("..");
    bad_id(".");
}

#[test]
fn duplicate_id() {
    let mut c = Container::new("bad-dup");
    c.args(&["/bin/sleep", "30"]);
    c.create().assert_ok();
    let o = c.create();
    o.assert_fail();
    assert!(
        o.stderr.contains(&c.id) || o.stderr.contains("exists"),
        "{o}"
    );
    assert_eq!(c.state()["status"], "created");
}

#[test]
fn non_executable_args0() {
    let mut c = Container::new("bad-noexec");
    std::fs::write(c.rootfs().join("bin/plain"), "not a program").unwrap();
    c.args(&["/bin/plain"]);
    let o = c.run();
    o.assert_fail();
    assert!(
        o.stderr.contains("/bin/plain") || o.stderr.contains("permission denied"),
        "{o}"
    );
    // create with a non-executable args[0] must not leave a half-made container
    let o = c.create();
    if o.success() {
        // runc checks exec-ability only at start (exec happens there); start must fail then
        c.start().assert_fail();
    }
}

#[test]
fn kill_unknown_id() {
    let c = Container::new("bad-kill");
    let o = c.runtime(&["kill", "no-such-container-xyz", "KILL"]);
    o.assert_fail();
    assert!(c.state_entries().is_empty());
}

#[test]
fn kill_unknown_id_names_the_id() {
    // Known to fail with runc 1.1 ("container does not exist", without the id).
    let c = Container::new("bad-kill-msg");
    let o = c.runtime(&["kill", "no-such-container-xyz", "KILL"]);
    o.assert_fail();
    assert!(o.stderr.contains("no-such-container-xyz"), "{o}");
}

#[test]
fn state_start_delete_unknown_id() {
    let c = Container::new("bad-unknown");
    for verb in ["state", "start", "delete"] {
        c.runtime(&[verb, "no-such-container-xyz"]).assert_fail();
    }
    // delete --force of an unknown id succeeds (containerd calls it after every delete)
    c.runtime(&["delete", "--force", "no-such-container-xyz"])
        .assert_ok();
    assert!(c.state_entries().is_empty());
}

#[test]
fn invalid_signal() {
    let mut c = Container::new("bad-signal");
    c.args(&["/bin/sleep", "30"]);
    c.create().assert_ok();
    let o = c.kill("SIGNOTASIGNAL");
    o.assert_fail();
    assert!(
        o.stderr.contains("SIGNOTASIGNAL") || o.stderr.contains("signal"),
        "{o}"
    );
    assert_eq!(c.state()["status"], "created");
}

#[test]
fn invalid_mount_type_or_bad_namespace_type() {
    let mut c = Container::new("bad-ns");
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "bogusns"}));
    let o = c.run();
    assert_rejected(&c, &o);
    assert!(o.stderr.contains("bogusns"), "{o}");
}

/// cgroupsPath is joined to every hierarchy's root: ".." must not climb out of it.
#[test]
fn cgroups_path_with_dot_dot_names_the_field() {
    let mut c = Container::new("bad-cgpath");
    let escape = format!("/../../../tmp/berth-escape-{}", c.id);
    c.config["linux"]["cgroupsPath"] = json!(escape);
    let o = c.run();
    assert_rejected(&c, &o);
    assert!(o.stderr.contains("linux.cgroupsPath"), "{o}");
    assert!(!std::path::Path::new(&format!("/tmp/berth-escape-{}", c.id)).exists());
}

/// Where the container's cgroup shows on this host (v1: the pids hierarchy).
fn cgroup_dir(path: &str) -> std::path::PathBuf {
    let v1 = std::path::Path::new("/sys/fs/cgroup/pids");
    let base = if v1.is_dir() {
        v1
    } else {
        std::path::Path::new("/sys/fs/cgroup")
    };
    base.join(path.trim_start_matches('/'))
}

/// A runtime killed between create's steps (here: by its own createRuntime
/// hook, after the init and the cgroup exist) leaves a state that
/// `delete --force` cleans completely.
#[test]
fn crash_during_create_is_cleaned_by_delete_force() {
    let mut c = Container::new("crash-create");
    let cg = format!("/berth-spec-{}", c.id);
    c.config["linux"]["cgroupsPath"] = json!(cg);
    c.config["hooks"] =
        json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "kill -9 $PPID"]}]});
    let o = c.create();
    assert_eq!(o.signal, Some(9), "the runtime was not killed: {o:?}");
    assert!(c.has_state_dir(), "a crash leaves its state dir");
    assert!(
        cgroup_dir(&cg).is_dir(),
        "the cgroup exists after the crash"
    );
    let st = c.runtime(&["state", &c.id]);
    st.assert_ok();
    c.delete(true).assert_ok();
    assert!(!c.has_state_dir(), "state left: {:?}", c.state_entries());
    assert!(!cgroup_dir(&cg).exists(), "cgroup {cg} left behind");
    assert!(!c.runtime(&["state", &c.id]).success());
}

/// state.json is written without fsync (it describes live processes): after a
/// power loss it may come back empty. Every verb then names the file and the
/// way out, and `delete --force` frees the id.
#[test]
fn an_empty_state_file_is_named_and_removed_by_delete_force() {
    let c = Container::new("empty-state");
    let dir = c.state_root().join(&c.id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("state.json"), b"").unwrap();
    for args in [vec!["state", c.id.as_str()], vec!["delete", c.id.as_str()]] {
        let o = c.runtime(&args);
        o.assert_fail();
        assert!(
            o.stderr.contains("state.json") && o.stderr.contains("delete --force"),
            "{args:?}: {o}"
        );
        assert!(c.has_state_dir(), "{args:?} removed it");
    }
    let o = c.delete(true);
    o.assert_ok();
    assert!(o.stderr.contains("level=warning"), "{o}");
    assert!(!c.has_state_dir(), "state left: {:?}", c.state_entries());
}

/// Scripts grep runc's stderr for `level=error`: in text mode our errors
/// have runc's logrus shape; with --log FILE the file gets that line and
/// stderr the bare message, as runc prints them.
#[test]
fn errors_read_as_runc_s() {
    let c = Container::new("bad-msg");
    let o = c.runtime(&["state", "no-such-container-msg"]);
    o.assert_fail();
    let line = o.stderr.trim();
    assert!(
        line.starts_with("time=\"") && line.contains(" level=error msg=\"") && line.ends_with('"'),
        "{o}"
    );
    assert!(line.contains("no-such-container-msg"), "{o}");
    assert_eq!(line.lines().count(), 1, "one line: {o}");
    let log = c.host_dir().join("log.json");
    let o = c.runtime(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "state",
        "no-such-container-msg",
    ]);
    o.assert_fail();
    let entry: serde_json::Value =
        serde_json::from_str(read_or_empty(&log).trim()).expect("one JSON line in the log");
    assert_eq!(entry["level"], "error");
    assert!(entry["msg"]
        .as_str()
        .unwrap()
        .contains("no-such-container-msg"));
    assert!(o.stderr.contains("no-such-container-msg"), "{o}");
}
