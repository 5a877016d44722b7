//! Runtime spec, "Mounts" (+ linux.rootfsPropagation).

use serde_json::json;
use spec_tests::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn host_src(c: &Container) -> std::path::PathBuf {
    let src = c.host_dir().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("data"), "from-host").unwrap();
    fs::write(src.join("run.sh"), "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(src.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    src
}

#[test]
fn bind_mount_ro_nosuid_nodev_noexec() {
    let mut c = Container::new("bind-ro");
    let src = host_src(&c);
    c.add_mount(json!({
        "destination": "/mnt/b", "type": "bind", "source": src,
        "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]
    }));
    let r = c.check(&[
        "read",
        "/mnt/b/data",
        "write",
        "/mnt/b/data",
        "create",
        "/mnt/b/new",
        "exec",
        "/mnt/b/run.sh",
    ]);
    let m = find_mount(&r, "/mnt/b").expect("bind mount present");
    for o in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(mount_has(m, o), "{o} missing: {m}");
    }
    assert_eq!(probe(&r, 0)["content"], "from-host");
    assert_eq!(probe_errno(&r, 1), libc::EROFS as i64, "{}", brief(&r));
    assert_eq!(probe_errno(&r, 2), libc::EROFS as i64, "{}", brief(&r));
    assert_eq!(
        probe_errno(&r, 3),
        libc::EACCES as i64,
        "noexec: {}",
        brief(&r)
    );
    assert_eq!(fs::read_to_string(src.join("data")).unwrap(), "from-host");
    assert!(!src.join("new").exists());
}

#[test]
fn bind_mount_rw_writes_reach_host() {
    let mut c = Container::new("bind-rw");
    let src = host_src(&c);
    c.add_mount(
        json!({"destination": "/mnt/rw", "type": "none", "source": src, "options": ["bind"]}),
    );
    let r = c.check(&["create", "/mnt/rw/new", "exec", "/mnt/rw/run.sh"]);
    assert_eq!(probe_errno(&r, 0), 0, "{}", brief(&r));
    assert_eq!(
        probe(&r, 1)["code"],
        0,
        "exec allowed on a plain bind: {}",
        brief(&r)
    );
    assert_eq!(fs::read_to_string(src.join("new")).unwrap(), "berth");
    let m = find_mount(&r, "/mnt/rw").unwrap();
    assert!(mount_has(m, "rw"), "{m}");
}

#[test]
fn bind_mount_of_a_file_creates_file_destination() {
    let mut c = Container::new("bind-file");
    let src = host_src(&c);
    c.add_mount(json!({"destination": "/etc/injected/conf", "type": "bind", "source": src.join("data"), "options": ["bind", "ro"]}));
    let r = c.check(&["read", "/etc/injected/conf", "stat", "/etc/injected/conf"]);
    assert_eq!(probe(&r, 0)["content"], "from-host");
    assert_eq!(probe(&r, 1)["type"], "file");
    // the destination was created inside the rootfs, as a file
    assert!(c.rootfs().join("etc/injected/conf").is_file());
}

#[test]
fn tmpfs_with_options() {
    let mut c = Container::new("tmpfs");
    c.add_mount(json!({
        "destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=0700", "uid=1000", "gid=1000"]
    }));
    // the owner of the tmpfs root writes into it (root has no CAP_DAC_OVERRIDE by default)
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let r = c.check(&["stat", "/scratch", "create", "/scratch/f"]);
    let m = find_mount(&r, "/scratch").expect("tmpfs mounted");
    assert_eq!(m["fstype"], "tmpfs");
    for o in [
        "nosuid",
        "nodev",
        "noexec",
        "size=1024k",
        "mode=700",
        "uid=1000",
        "gid=1000",
    ] {
        assert!(mount_has(m, o), "{o} missing: {m}");
    }
    let st = probe(&r, 0);
    assert_eq!(st["mode"], 0o700, "{st}");
    assert_eq!(st["uid"], 1000, "{st}");
    assert_eq!(probe_errno(&r, 1), 0, "{}", brief(&r));
    // the write went to the tmpfs, not to the rootfs
    assert!(!c.rootfs().join("scratch/f").exists());
}

#[test]
fn tmpfs_ro_option() {
    let mut c = Container::new("tmpfs-ro");
    c.add_mount(
        json!({"destination": "/rotmp", "type": "tmpfs", "source": "tmpfs", "options": ["ro"]}),
    );
    let r = c.check(&["create", "/rotmp/f"]);
    assert_eq!(probe_errno(&r, 0), libc::EROFS as i64, "{}", brief(&r));
}

#[test]
fn default_special_filesystems() {
    let mut c = Container::new("special-fs");
    let r = c.check(&["read", "/proc/self/comm"]);
    let want = [
        ("/proc", "proc"),
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
        ("/sys", "sysfs"),
    ];
    for (dest, fstype) in want {
        let m = find_mount(&r, dest).unwrap_or_else(|| panic!("{dest} not mounted"));
        assert_eq!(m["fstype"], fstype, "{m}");
    }
    // the container's /proc is its own pid namespace's proc
    assert_eq!(probe(&r, 0)["content"].as_str().unwrap().trim(), "checker");
    let sys = find_mount(&r, "/sys").unwrap();
    assert!(mount_has(sys, "ro"), "{sys}");
    let pts = find_mount(&r, "/dev/pts").unwrap();
    assert!(
        mount_has(pts, "ptmxmode=666"),
        "newinstance devpts with ptmxmode: {pts}"
    );
    let shm = find_mount(&r, "/dev/shm").unwrap();
    for o in ["nosuid", "noexec", "nodev", "size=65536k"] {
        assert!(mount_has(shm, o), "{o}: {shm}");
    }
}

#[test]
fn extra_proc_sysfs_mqueue_mounts() {
    let mut c = Container::new("extra-fs");
    c.add_mount(json!({"destination": "/proc2", "type": "proc", "source": "proc"}));
    c.add_mount(json!({"destination": "/sys2", "type": "sysfs", "source": "sysfs", "options": ["ro", "nosuid"]}));
    c.add_mount(json!({"destination": "/mq2", "type": "mqueue", "source": "mqueue"}));
    let r = c.check(&["read", "/proc2/1/comm", "exists", "/sys2/kernel"]);
    assert_eq!(find_mount(&r, "/proc2").unwrap()["fstype"], "proc");
    assert_eq!(find_mount(&r, "/sys2").unwrap()["fstype"], "sysfs");
    assert_eq!(find_mount(&r, "/mq2").unwrap()["fstype"], "mqueue");
    assert_eq!(probe(&r, 0)["content"].as_str().unwrap().trim(), "checker");
    assert_eq!(probe(&r, 1)["exists"], true);
}

#[test]
fn destinations_are_created_inside_rootfs() {
    let mut c = Container::new("mkdir-dest");
    c.add_mount(json!({"destination": "/deep/new/dir", "type": "tmpfs", "source": "tmpfs"}));
    let r = c.check(&[]);
    assert!(find_mount(&r, "/deep/new/dir").is_some());
    assert!(
        c.rootfs().join("deep/new/dir").is_dir(),
        "created in the bundle's rootfs"
    );
    assert!(
        !std::path::Path::new("/deep/new/dir").exists(),
        "created on the host!"
    );
}

#[test]
fn mounts_are_applied_in_order() {
    let mut c = Container::new("mount-order");
    let src = host_src(&c);
    c.add_mount(json!({"destination": "/stack", "type": "tmpfs", "source": "tmpfs"}));
    c.add_mount(
        json!({"destination": "/stack/inner", "type": "bind", "source": src, "options": ["bind"]}),
    );
    let r = c.check(&["read", "/stack/inner/data"]);
    assert_eq!(probe(&r, 0)["content"], "from-host", "{}", brief(&r));
    let pos = |d: &str| {
        r["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .position(|m| m["mount_point"] == d)
            .unwrap()
    };
    assert!(pos("/stack") < pos("/stack/inner"));
}

#[test]
fn relative_destination_and_missing_source() {
    // a mount source that does not exist must fail create, naming the path
    let mut c = Container::new("missing-src");
    c.add_mount(json!({"destination": "/x", "type": "bind", "source": "/nonexistent/berth-src", "options": ["bind"]}));
    let o = c.run();
    o.assert_fail();
    assert!(o.stdout.is_empty(), "{o}");
    assert!(
        o.stderr.contains("/nonexistent/berth-src") || o.stderr.contains("/x"),
        "{o}"
    );
}

fn root_optional(r: &serde_json::Value) -> Vec<String> {
    find_mount(r, "/").unwrap()["optional"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rootfs_propagation_private() {
    // The host tree is private here (MACHINE.md); the container's / follows rootfsPropagation.
    let mut c = Container::new("prop-private");
    c.config["linux"]["rootfsPropagation"] = json!("private");
    let r = c.check(&[]);
    assert!(root_optional(&r).is_empty(), "{:?}", root_optional(&r));
}

/// runtime-spec: rootfsPropagation "sets the rootfs's mount propagation".
/// Known to fail with runc 1.1: it applies the flag to the host "/" in the new mount namespace
/// *before* making the rootfs' parent mount private and bind-mounting the rootfs, so when the
/// bundle lives on the "/" filesystem (as here) the container's root ends up private anyway.
#[test]
fn rootfs_propagation_shared() {
    let mut c = Container::new("prop-shared");
    c.config["linux"]["rootfsPropagation"] = json!("shared");
    let r = c.check(&[]);
    assert!(
        root_optional(&r).iter().any(|o| o.starts_with("shared:")),
        "{:?}",
        root_optional(&r)
    );
}

#[test]
fn mount_propagation_option_shared() {
    let mut c = Container::new("prop-mount");
    let src = host_src(&c);
    c.config["linux"]["rootfsPropagation"] = json!("shared");
    c.add_mount(json!({"destination": "/pshared", "type": "bind", "source": src, "options": ["rbind", "rshared"]}));
    c.add_mount(json!({"destination": "/pprivate", "type": "bind", "source": src, "options": ["rbind", "rprivate"]}));
    let r = c.check(&[]);
    let sh = find_mount(&r, "/pshared").unwrap();
    assert!(
        sh["optional"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o.as_str().unwrap().starts_with("shared:")),
        "{sh}"
    );
    let pr = find_mount(&r, "/pprivate").unwrap();
    assert!(pr["optional"].as_array().unwrap().is_empty(), "{pr}");
}

#[test]
fn host_mount_table_untouched() {
    let before = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .count();
    let mut c = Container::new("host-mounts");
    let src = host_src(&c);
    c.add_mount(
        json!({"destination": "/mnt/b", "type": "bind", "source": src, "options": ["rbind"]}),
    );
    c.add_mount(json!({"destination": "/t", "type": "tmpfs", "source": "tmpfs"}));
    c.check(&[]);
    let after = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert_eq!(
        after.lines().count(),
        before,
        "mounts leaked into the host namespace:\n{after}"
    );
    assert!(!after.contains(c.base().to_str().unwrap()));
}

/// A host dir with a tmpfs mounted below it (at sub), for recursive binds.
/// The tmpfs is detached when the container is dropped (unmount_under).
fn tree_with_submount(c: &Container) -> std::path::PathBuf {
    let src = c.host_dir().join("tree");
    fs::create_dir_all(src.join("sub")).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "berth-sub"])
        .arg(src.join("sub"))
        .status()
        .unwrap();
    assert!(st.success(), "mount tmpfs for the test");
    src
}

/// Known to fail with runc 1.1 (no recursive attributes; 1.1 ignores rro).
#[test]
fn recursive_attributes_hold_for_every_mount_of_the_tree() {
    let mut c = Container::new("bind-rro");
    let src = tree_with_submount(&c);
    c.add_mount(json!({
        "destination": "/mnt/r", "type": "bind", "source": src,
        "options": ["rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnoatime"]
    }));
    c.add_mount(json!({
        "destination": "/mnt/plain", "type": "bind", "source": src, "options": ["rbind", "ro"]
    }));
    let r = c.check(&[
        "create",
        "/mnt/r/new",
        "create",
        "/mnt/r/sub/new",
        "create",
        "/mnt/plain/sub/new",
    ]);
    assert_eq!(probe_errno(&r, 0), libc::EROFS as i64, "{}", brief(&r));
    assert_eq!(
        probe_errno(&r, 1),
        libc::EROFS as i64,
        "rro below: {}",
        brief(&r)
    );
    // Plain ro is the top mount's only (runc's semantics too).
    assert_eq!(probe_errno(&r, 2), 0, "ro is not recursive: {}", brief(&r));
    for mp in ["/mnt/r", "/mnt/r/sub"] {
        let m = find_mount(&r, mp).unwrap_or_else(|| panic!("{mp} missing"));
        for o in ["ro", "nosuid", "nodev", "noexec", "noatime"] {
            assert!(mount_has(m, o), "{mp}: {o} missing: {m}");
        }
    }
}

#[test]
fn unknown_recursive_option_and_filesystem_data_on_a_bind_are_refused_by_name() {
    for (opt, want) in [("rsync", "rsync"), ("mode=755", "mode=755")] {
        let mut c = Container::new("bind-badopt");
        let src = host_src(&c);
        c.add_mount(json!({
            "destination": "/mnt/b", "type": "bind", "source": src, "options": ["rbind", opt]
        }));
        let o = c.run();
        o.assert_fail();
        assert!(
            o.stderr.contains(want) && o.stderr.contains("mounts["),
            "{o}"
        );
        assert!(!c.has_state_dir(), "{:?}", c.state_entries());
    }
}

/// Known to fail with runc 1.1? No: runc refuses it the same way.
#[test]
fn proc_or_sys_on_a_symlink_is_refused_saying_so() {
    for dir in ["proc", "sys"] {
        let c = Container::new("proc-symlink");
        let p = c.rootfs().join(dir);
        fs::remove_dir(&p).unwrap();
        std::os::unix::fs::symlink("tmp", &p).unwrap();
        let o = c.run();
        o.assert_fail();
        assert!(
            o.stderr
                .contains("must be mounted on an ordinary directory")
                && o.stderr.contains(&format!("/{dir}")),
            "{o}"
        );
        assert!(
            !c.rootfs().join("tmp/self").exists(),
            "procfs landed on the link target"
        );
    }
}

/// podman's --tmpfs default: the tmpfs starts with what the image had there.
/// Known to fail with Berth before 2026-12 (tmpcopyup was ignored).
#[test]
fn tmpcopyup_fills_the_tmpfs_with_the_directory_it_hides() {
    let mut c = Container::new("tmpcopyup");
    let etc = c.rootfs().join("opt/conf");
    fs::create_dir_all(etc.join("sub")).unwrap();
    fs::write(etc.join("sub/file"), "image-content").unwrap();
    fs::set_permissions(etc.join("sub/file"), fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("sub/file", etc.join("link")).unwrap();
    c.add_mount(
        json!({"destination": "/opt/conf", "type": "tmpfs", "source": "tmpfs",
                       "options": ["tmpcopyup", "mode=755"]}),
    );
    c.args(&[
        "sh",
        "-c",
        "cat /opt/conf/link; stat -c ' %a' /opt/conf/sub/file; echo new > /opt/conf/sub/file; \
         grep -c ' /opt/conf tmpfs' /proc/self/mounts",
    ]);
    let o = c.run();
    o.assert_ok();
    assert_eq!(o.stdout, "image-content 640\n1\n", "{o}");
    // Writes went to the tmpfs, not the image.
    assert_eq!(
        fs::read_to_string(etc.join("sub/file")).unwrap(),
        "image-content"
    );
}
