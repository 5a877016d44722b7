//! `checkpoint` and `restore` (runc's verbs, driven by criu).
//!
//! Where `criu check` passes, a sleeping container is checkpointed (it is
//! gone afterwards), restored from the images with --detach (running again,
//! under the same id) and cleaned up. Where criu does not work (this host:
//! "vdso: Failed to fill self vdso symtable"), checkpoint must refuse with one
//! line naming criu and change nothing: the container keeps running and no
//! images are written. Either way, bad input is named in one line.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use spec_tests::*;

/// Whether criu can checkpoint on this host, as the runtime decides it.
fn criu_works() -> bool {
    Command::new("criu")
        .arg("check")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The error lines a runtime printed (runc's logrus lines count as lines too).
fn lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.trim().is_empty()).collect()
}

/// A started container that sleeps, its stdio on the container's own
/// /dev/null (criu dumps files it can name inside the container).
fn sleeper(name: &str) -> Container {
    let mut c = Container::new(name);
    c.args(&["sh", "-c", "exec sleep 1000 </dev/null >/dev/null 2>&1"]);
    c.create().assert_ok();
    c.start().assert_ok();
    c.wait_status("running", 10);
    c
}

fn has_images(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

#[test]
fn checkpoint_refuses_where_criu_does_not_work_else_round_trips() {
    let c = sleeper("ckpt");
    let images = c.host_dir().join("images");
    let img = images.to_str().unwrap();
    let pid = c.state()["pid"].clone();
    let o = c.runtime(&["checkpoint", "--image-path", img, &c.id]);
    if !criu_works() {
        o.assert_fail();
        let l = lines(&o.stderr);
        assert_eq!(l.len(), 1, "want one error line: {o}");
        assert!(l[0].contains("criu"), "the error does not name criu: {o}");
        // Nothing changed: same init, still running, no images.
        let st = c.state();
        assert_eq!(st["status"], "running", "{st}");
        assert_eq!(st["pid"], pid, "{st}");
        assert!(!has_images(&images), "images were written to {img}");
        return;
    }
    o.assert_ok();
    assert!(images.join("inventory.img").is_file(), "no images in {img}");
    // The checkpointed container is gone (runc destroys it).
    let s = c.runtime(&["state", &c.id]);
    assert!(
        !s.success() || s.json()["status"] == "stopped",
        "the container survived checkpoint: {s}"
    );
    let b = c.bundle();
    let pid_file = c.host_dir().join("restored.pid");
    c.runtime(&[
        "restore",
        "--detach",
        "--image-path",
        img,
        "--bundle",
        b.to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &c.id,
    ])
    .assert_ok();
    let st = c.wait_status("running", 10);
    let recorded = read_trim(&pid_file);
    assert_eq!(st["pid"].to_string(), recorded, "{st}");
    let init = std::fs::read_to_string(format!("/proc/{recorded}/cmdline")).unwrap_or_default();
    assert!(init.contains("sleep"), "restored init is {init:?}");
    c.kill("KILL").assert_ok();
    c.wait_status("stopped", 10);
    c.delete(false).assert_ok();
}

#[test]
fn checkpoint_with_leave_running_keeps_the_container() {
    let c = sleeper("ckpt-leave");
    let images = c.host_dir().join("images");
    let o = c.runtime(&[
        "checkpoint",
        "--leave-running",
        "--image-path",
        images.to_str().unwrap(),
        &c.id,
    ]);
    if criu_works() {
        o.assert_ok();
        assert!(images.join("inventory.img").is_file(), "{o}");
    } else {
        o.assert_fail();
        assert_eq!(lines(&o.stderr).len(), 1, "{o}");
        assert!(!has_images(&images));
    }
    assert_eq!(c.state()["status"], "running");
}

#[test]
fn checkpoint_of_unknown_id_names_it() {
    let c = Container::new("ckpt-unknown");
    let dir = c.host_dir().join("images");
    let o = c.runtime(&[
        "checkpoint",
        "--image-path",
        dir.to_str().unwrap(),
        "no-such-ckpt",
    ]);
    o.assert_fail();
    let l = lines(&o.stderr);
    assert_eq!(l.len(), 1, "want one error line: {o}");
    assert!(
        l[0].contains("no-such-ckpt"),
        "the error does not name the id: {o}"
    );
    assert!(
        !dir.exists(),
        "checkpoint of an unknown id made {}",
        dir.display()
    );
}

#[test]
fn checkpoint_of_created_container_fails_naming_its_status() {
    let mut c = Container::new("ckpt-created");
    c.args(&["sleep", "1000"]);
    c.create().assert_ok();
    let o = c.runtime(&["checkpoint", &c.id]);
    o.assert_fail();
    let l = lines(&o.stderr);
    assert_eq!(l.len(), 1, "want one error line: {o}");
    assert!(l[0].contains(&c.id) && l[0].contains("created"), "{o}");
    assert_eq!(c.state()["status"], "created");
}

#[test]
fn restore_without_images_or_bundle_fails_clearly() {
    let c = Container::new("ckpt-restore");
    c.write_config();
    let b = c.bundle();
    let missing = c.host_dir().join("no-images");
    let o = c.runtime(&[
        "restore",
        "-d",
        "--image-path",
        missing.to_str().unwrap(),
        "--bundle",
        b.to_str().unwrap(),
        &c.id,
    ]);
    o.assert_fail();
    let l = lines(&o.stderr);
    assert_eq!(l.len(), 1, "want one error line: {o}");
    assert!(
        l[0].contains(missing.to_str().unwrap()),
        "the error does not name the image path: {o}"
    );
    assert!(!c.has_state_dir(), "a failed restore left state behind");

    // Images present (an empty inventory will do), bundle missing.
    let images = c.host_dir().join("images");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::write(images.join("inventory.img"), b"").unwrap();
    let gone = c.host_dir().join("no-bundle");
    let o = c.runtime(&[
        "restore",
        "-d",
        "--image-path",
        images.to_str().unwrap(),
        "--bundle",
        gone.to_str().unwrap(),
        &c.id,
    ]);
    o.assert_fail();
    let l = lines(&o.stderr);
    assert_eq!(l.len(), 1, "want one error line: {o}");
    assert!(
        l[0].contains(gone.to_str().unwrap()),
        "the error does not name the bundle: {o}"
    );
    assert!(!c.has_state_dir(), "a failed restore left state behind");
}

#[test]
fn bad_flags_are_named() {
    let mut c = Container::new("ckpt-flags");
    c.add_mount(json!({"destination": "/out", "type": "bind",
                       "source": c.host_dir(), "options": ["bind"]}));
    c.args(&["sleep", "1000"]);
    c.create().assert_ok();
    c.start().assert_ok();
    for (flag, value) in [
        ("--manage-cgroups-mode", "bogus"),
        ("--empty-ns", "ipc"),
        ("--page-server", "nowhere"),
    ] {
        let o = c.runtime(&["checkpoint", flag, value, &c.id]);
        o.assert_fail();
        let l = lines(&o.stderr);
        assert_eq!(l.len(), 1, "want one error line: {o}");
        assert!(
            l[0].contains(value),
            "the error does not name {value:?}: {o}"
        );
        assert_eq!(c.state()["status"], "running");
    }
}
