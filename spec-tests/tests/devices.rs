//! Runtime spec, "Linux: Devices" and the default devices / dev symlinks.

use serde_json::{json, Value};
use spec_tests::*;

fn dev<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["dev"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("/dev/{name} missing: {}", r["dev"]))
}

#[test]
fn default_devices_exist() {
    let mut c = Container::new("dev-default");
    let r = c.check(&[
        "write",
        "/dev/null",
        "read",
        "/dev/null",
        "write",
        "/dev/full",
    ]);
    for (name, maj, min) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        let d = dev(&r, name);
        assert_eq!(d["type"], "char", "{d}");
        assert_eq!(
            (d["major"].as_u64(), d["minor"].as_u64()),
            (Some(maj), Some(min)),
            "{d}"
        );
        assert_eq!(d["mode"], 0o666, "{d}");
    }
    assert_eq!(probe_errno(&r, 0), 0);
    assert_eq!(probe(&r, 1)["len"], 0);
    assert_eq!(
        probe_errno(&r, 2),
        libc::ENOSPC as i64,
        "/dev/full works: {}",
        brief(&r)
    );
}

#[test]
fn default_dev_symlinks_and_dirs() {
    let mut c = Container::new("dev-links");
    let r = c.check(&["stat", "/dev/pts/ptmx"]);
    for (name, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let d = dev(&r, name);
        assert_eq!(d["type"], "symlink", "{d}");
        assert_eq!(d["link"], target, "{d}");
    }
    assert_eq!(dev(&r, "shm")["type"], "dir");
    assert_eq!(dev(&r, "pts")["type"], "dir");
    assert_eq!(probe(&r, 0)["type"], "char");
    // no host devices leak in
    for name in ["sda", "vda", "kmsg", "mem", "console"] {
        assert!(
            !r["dev"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["name"] == name),
            "/dev/{name} leaked"
        );
    }
}

#[test]
fn linux_devices_are_created_with_mode_and_owner() {
    let mut c = Container::new("dev-custom");
    c.config["linux"]["devices"] = json!([
        {"path": "/dev/testfull", "type": "c", "major": 1, "minor": 7, "fileMode": 0o640, "uid": 1000, "gid": 1000},
        {"path": "/dev/sub/testnull", "type": "c", "major": 1, "minor": 3},
        {"path": "/dev/testfifo", "type": "p"}
    ]);
    c.config["linux"]["resources"]["devices"]
        .as_array_mut()
        .unwrap()
        .push(json!({"allow": true, "type": "c", "major": 1, "minor": 7, "access": "rwm"}));
    // run as the device's owner: root here has no CAP_DAC_OVERRIDE (runc's default caps)
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let r = c.check(&[
        "stat",
        "/dev/testfull",
        "write",
        "/dev/testfull",
        "stat",
        "/dev/sub/testnull",
        "write",
        "/dev/sub/testnull",
        "stat",
        "/dev/testfifo",
    ]);
    let st = probe(&r, 0);
    assert_eq!(st["type"], "char", "{st}");
    assert_eq!(
        (st["major"].as_u64(), st["minor"].as_u64()),
        (Some(1), Some(7))
    );
    assert_eq!(st["mode"], 0o640, "{st}");
    assert_eq!(
        (st["uid"].as_u64(), st["gid"].as_u64()),
        (Some(1000), Some(1000)),
        "{st}"
    );
    assert_eq!(probe_errno(&r, 1), libc::ENOSPC as i64, "{}", brief(&r));
    assert_eq!(probe(&r, 2)["type"], "char");
    assert_eq!(probe_errno(&r, 3), 0, "{}", brief(&r));
    assert_eq!(probe(&r, 4)["type"], "fifo");
}

#[test]
fn device_cgroup_denies_unlisted_device() {
    // A device node that is present but not allowed by linux.resources.devices cannot be opened
    // (deny-all default, like runc's spec). Here: /dev/kmsg (1:11) created via linux.devices but
    // explicitly denied after.
    let mut c = Container::new("dev-deny");
    c.config["linux"]["devices"] =
        json!([{"path": "/dev/kmsg2", "type": "c", "major": 1, "minor": 11}]);
    c.config["linux"]["resources"]["devices"]
        .as_array_mut()
        .unwrap()
        .push(json!({"allow": false, "type": "c", "major": 1, "minor": 11, "access": "rwm"}));
    let r = c.check(&["stat", "/dev/kmsg2", "read", "/dev/kmsg2"]);
    assert_eq!(probe(&r, 0)["type"], "char", "{}", brief(&r));
    assert_eq!(probe_errno(&r, 1), libc::EPERM as i64, "{}", brief(&r));
}
