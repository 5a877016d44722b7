//! Runtime spec, "Root": root.path and root.readonly.

use serde_json::json;
use spec_tests::*;

#[test]
fn root_readonly_gives_erofs() {
    let mut c = Container::new("root-ro");
    c.config["root"]["readonly"] = json!(true);
    std::fs::write(c.rootfs().join("etc/existing"), "x").unwrap();
    let r = c.check(&[
        "create",
        "/newfile",
        "write",
        "/etc/existing",
        "create",
        "/tmp/t",
    ]);
    let root = find_mount(&r, "/").expect("/ mount");
    assert!(mount_has(root, "ro"), "{root}");
    assert_eq!(probe_errno(&r, 0), libc::EROFS as i64, "{}", brief(&r));
    assert_eq!(probe_errno(&r, 1), libc::EROFS as i64, "{}", brief(&r));
    assert_eq!(probe_errno(&r, 2), libc::EROFS as i64, "{}", brief(&r));
    // /dev is a separate tmpfs and stays writable
    assert!(!c.rootfs().join("newfile").exists());
}

#[test]
fn root_writable_when_not_readonly() {
    let mut c = Container::new("root-rw");
    c.config["root"]["readonly"] = json!(false);
    let r = c.check(&["create", "/newfile"]);
    assert_eq!(probe_errno(&r, 0), 0, "{}", brief(&r));
    assert_eq!(
        std::fs::read_to_string(c.rootfs().join("newfile")).unwrap(),
        "berth",
        "the write must land in the bundle's rootfs"
    );
}

#[test]
fn root_is_the_bundle_rootfs() {
    let mut c = Container::new("root-path");
    std::fs::write(c.rootfs().join("marker"), "in-rootfs").unwrap();
    let r = c.check(&["read", "/marker"]);
    assert_eq!(probe(&r, 0)["content"], "in-rootfs");
    // an absolute root.path works too
    let mut c2 = Container::new("root-abs");
    let abs = c2.rootfs();
    std::fs::write(abs.join("marker"), "abs").unwrap();
    c2.config["root"]["path"] = json!(abs.to_str().unwrap());
    let r = c2.check(&["read", "/marker"]);
    assert_eq!(probe(&r, 0)["content"], "abs");
}

#[test]
fn host_root_is_not_reachable() {
    // pivot_root (or equivalent) must leave no path to the host's /
    let mut c = Container::new("root-pivot");
    let r = c.check(&[
        "exists",
        "/work/main/Cargo.toml",
        "read",
        "/proc/1/root/etc/hostname",
    ]);
    assert_eq!(probe(&r, 0)["exists"], false);
    // /proc/1 is the container's own init, whose root is the container root
    let p = probe(&r, 1);
    assert!(
        p["ok"] == false || p["content"] != std::fs::read_to_string("/etc/hostname").unwrap(),
        "{p}"
    );
    assert!(!r["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["mount_point"] == "/work"));
}
