//! Runtime spec, "Linux: Masked Paths" and "Readonly Paths".

use serde_json::json;
use spec_tests::*;

#[test]
fn default_masked_paths_read_empty() {
    let mut c = Container::new("masked-default");
    let r = c.check(&[
        "read",
        "/proc/kcore",
        "read",
        "/proc/keys",
        "stat",
        "/sys/firmware",
        "read",
        "/proc/timer_list",
    ]);
    // a masked file reads as empty (bind of /dev/null) or cannot be read
    for i in [0, 1, 3] {
        let p = probe(&r, i);
        assert!(p["ok"] == false || p["len"] == 0, "{p}");
    }
    // /sys/firmware is masked with an empty read-only tmpfs
    let m = find_mount(&r, "/sys/firmware").expect("mask over /sys/firmware");
    assert!(mount_has(m, "ro"), "{m}");
}

#[test]
fn masked_file_and_dir() {
    let mut c = Container::new("masked-custom");
    std::fs::create_dir_all(c.rootfs().join("secret/dir")).unwrap();
    std::fs::write(c.rootfs().join("secret/file"), "top secret").unwrap();
    std::fs::write(c.rootfs().join("secret/dir/inner"), "also secret").unwrap();
    c.config["linux"]["maskedPaths"] = json!(["/secret/file", "/secret/dir", "/does/not/exist"]);
    let r = c.check(&[
        "read",
        "/secret/file",
        "exists",
        "/secret/dir/inner",
        "write",
        "/secret/file",
    ]);
    let p = probe(&r, 0);
    assert!(p["ok"] == false || p["len"] == 0, "file not masked: {p}");
    assert_eq!(probe(&r, 1)["exists"], false, "dir not masked: {r}");
    // writing to the mask must not reach the real file
    assert_eq!(
        std::fs::read_to_string(c.rootfs().join("secret/file")).unwrap(),
        "top secret"
    );
}

#[test]
fn readonly_paths_give_erofs() {
    let mut c = Container::new("readonly");
    std::fs::create_dir_all(c.rootfs().join("data")).unwrap();
    std::fs::write(c.rootfs().join("data/f"), "x").unwrap();
    c.config["linux"]["readonlyPaths"] =
        json!(["/data", "/proc/sys", "/proc/sysrq-trigger", "/nope"]);
    let r = c.check(&[
        "write",
        "/data/f",
        "create",
        "/data/new",
        "write",
        "/proc/sys/kernel/hostname",
        "read",
        "/data/f",
    ]);
    assert_eq!(probe_errno(&r, 0), libc::EROFS as i64, "{}", brief(&r));
    assert_eq!(probe_errno(&r, 1), libc::EROFS as i64, "{}", brief(&r));
    assert_eq!(probe_errno(&r, 2), libc::EROFS as i64, "{}", brief(&r));
    assert_eq!(probe(&r, 3)["content"], "x", "readonly path stays readable");
    let m = find_mount(&r, "/data").expect("/data is a ro bind mount");
    assert!(mount_has(m, "ro"), "{m}");
}

#[test]
fn default_readonly_paths() {
    let mut c = Container::new("readonly-default");
    let r = c.check(&[
        "write",
        "/proc/sys/kernel/domainname",
        "write",
        "/proc/sysrq-trigger",
    ]);
    assert_eq!(probe_errno(&r, 0), libc::EROFS as i64, "{}", brief(&r));
    // This kernel has no CONFIG_MAGIC_SYSRQ: /proc/sysrq-trigger may not exist at all.
    if std::path::Path::new("/proc/sysrq-trigger").exists() {
        assert_eq!(probe_errno(&r, 1), libc::EROFS as i64, "{}", brief(&r));
    }
}
