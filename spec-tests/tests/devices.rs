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

/// A container with the host's /dev/kmsg bind-mounted at /dev/kmsg2 (a node that linux.devices
/// does not list: runc, and we, allow those), CAP_SYSLOG (what a read-only open of it needs
/// where dmesg_restrict is set), and, with `allow`, a device cgroup rule allowing 1:11.
fn kmsg_open(id: &str, allow: bool) -> Value {
    let mut c = Container::new(id);
    c.config["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/dev/kmsg2", "type": "bind", "source": "/dev/kmsg", "options": ["bind"]}),
    );
    if allow {
        c.config["linux"]["resources"]["devices"]
            .as_array_mut()
            .unwrap()
            .push(json!({"allow": true, "type": "c", "major": 1, "minor": 11, "access": "r"}));
    }
    add_syslog(&mut c);
    c.check(&["stat", "/dev/kmsg2", "open", "/dev/kmsg2"])
}

#[test]
fn device_cgroup_denies_unlisted_device() {
    // A device node that is present but not allowed by linux.resources.devices can't be opened
    // (runc's spec denies all by default). The control run allows 1:11: the same open succeeds
    // there, so the EPERM is the device cgroup's, not a missing capability.
    let allowed = kmsg_open("dev-allow", true);
    assert_eq!(probe(&allowed, 0)["type"], "char", "{}", brief(&allowed));
    assert_eq!(probe_errno(&allowed, 1), 0, "{}", brief(&allowed));
    let denied = kmsg_open("dev-deny", false);
    assert_eq!(probe(&denied, 0)["type"], "char", "{}", brief(&denied));
    assert_eq!(
        probe_errno(&denied, 1),
        libc::EPERM as i64,
        "{}",
        brief(&denied)
    );
}

#[test]
fn linux_devices_are_allowed_in_the_device_cgroup() {
    // As runc does: a node listed in linux.devices gets an rwm allow rule after the config's
    // rules, so even an explicit deny of it in linux.resources.devices does not hold.
    let mut c = Container::new("dev-listed");
    c.config["linux"]["devices"] =
        json!([{"path": "/dev/kmsg2", "type": "c", "major": 1, "minor": 11}]);
    c.config["linux"]["resources"]["devices"]
        .as_array_mut()
        .unwrap()
        .push(json!({"allow": false, "type": "c", "major": 1, "minor": 11, "access": "rwm"}));
    add_syslog(&mut c);
    let r = c.check(&["open", "/dev/kmsg2"]);
    assert_eq!(probe_errno(&r, 0), 0, "{}", brief(&r));
}

fn add_syslog(c: &mut Container) {
    for set in ["bounding", "effective", "permitted"] {
        c.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_SYSLOG"));
    }
}

/// Without a tmpfs on /dev the rootfs's own /dev gets the nodes: what it
/// already holds at a node's path (a file, a symlink out of the root) is
/// replaced by the node, and nothing outside the rootfs is touched.
#[test]
fn nodes_replace_what_the_rootfs_holds_at_their_paths() {
    let mut c = Container::new("dev-replace");
    c.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/dev");
    c.config["mounts"].as_array_mut().unwrap().retain(|m| {
        !m["destination"]
            .as_str()
            .is_some_and(|d| d.starts_with("/dev/"))
    });
    let dev = c.rootfs().join("dev");
    std::fs::create_dir_all(&dev).unwrap();
    std::fs::write(dev.join("null"), "not a device").unwrap();
    std::fs::create_dir_all(c.host_dir()).unwrap();
    let outside = c.host_dir().join("zero-target");
    std::fs::write(&outside, "host file").unwrap();
    let _ = std::fs::remove_file(dev.join("zero"));
    std::os::unix::fs::symlink(&outside, dev.join("zero")).unwrap();
    let r = c.check(&["stat", "/dev/null", "stat", "/dev/zero"]);
    for i in [0, 1] {
        let st = probe(&r, i);
        assert_eq!(st["type"], "char", "{}", brief(&r));
        assert_eq!(st["mode"], 0o666, "{st}");
    }
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "host file");
    assert!(std::fs::symlink_metadata(&outside).unwrap().is_file());
}
