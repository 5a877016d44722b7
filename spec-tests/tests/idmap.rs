//! Idmapped mounts (runtime-spec 1.2 mounts[].uidMappings/gidMappings,
//! runc 1.2's `idmap`/`ridmap` options). Known to fail with runc 1.1 (no
//! idmapped mounts).
//!
//! With a mount mapping `containerID 0 -> hostID 100000`, a file whose
//! on-disk owner is U appears as 100000 + U through the mount (the id
//! translated "down" the mapping), and a file created by host id 100000 + U
//! lands on disk owned by U. Ids outside the mapping can't write (EOVERFLOW).

use serde_json::{json, Value};
use spec_tests::*;
use std::fs;
use std::os::unix::fs::{chown, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

fn map(container: u32, host: u32, size: u32) -> Value {
    json!([{"containerID": container, "hostID": host, "size": size}])
}

/// A host dir (on the temp dir's filesystem) with f0 owned by 0:0 and
/// f1000 by 1000:1000.
fn owned_src(c: &Container, name: &str) -> PathBuf {
    let src = c.host_dir().join(name);
    fs::create_dir_all(&src).unwrap();
    for (f, id) in [("f0", 0), ("f1000", 1000)] {
        fs::write(src.join(f), f).unwrap();
        chown(src.join(f), Some(id), Some(id)).unwrap();
    }
    src
}

fn owner(p: &Path) -> (u32, u32) {
    let m = fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.uid(), m.gid())
}

fn sh(c: &mut Container, script: &str) -> Output {
    c.args(&["sh", "-c", script]);
    c.run()
}

/// sysfs/cgroup mounts need privileges over the host's (namespaces.rs).
fn without_cgroup_mount(c: &mut Container) {
    c.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "cgroup");
}

/// A new user namespace mapping 0 to `host_id`. The rootfs stays owned by
/// host root, unmapped there, so mount points are made here beforehand.
fn new_userns(c: &mut Container, host_id: u32) {
    for d in ["mnt/i", "mnt/plain"] {
        fs::create_dir_all(c.rootfs().join(d)).unwrap();
    }
    c.set_namespace("user", None);
    c.config["linux"]["uidMappings"] = map(0, host_id, 65536);
    c.config["linux"]["gidMappings"] = map(0, host_id, 65536);
    without_cgroup_mount(c);
}

#[test]
fn explicit_mappings_need_no_user_namespace() {
    let mut c = Container::new("idmap-nouserns");
    let src = owned_src(&c, "src");
    c.add_mount(json!({
        "destination": "/mnt/i", "type": "bind", "source": src, "options": ["bind"],
        "uidMappings": map(0, 100000, 65536), "gidMappings": map(0, 100000, 65536)
    }));
    c.add_mount(json!({
        "destination": "/mnt/plain", "type": "bind", "source": src, "options": ["bind"]
    }));
    // A file can be idmapped too.
    c.add_mount(json!({
        "destination": "/etc/f1000", "type": "bind", "source": src.join("f1000"),
        "options": ["bind"],
        "uidMappings": map(1000, 5000, 1), "gidMappings": map(1000, 6000, 1)
    }));
    let o = sh(
        &mut c,
        "stat -c %u:%g /mnt/i/f0 /mnt/i/f1000 /mnt/plain/f0 /etc/f1000; \
         touch /mnt/i/new 2>&1 || echo touch-failed",
    );
    o.assert_ok();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(
        &lines[..4],
        ["100000:100000", "101000:101000", "0:0", "5000:6000"],
        "{o}"
    );
    // Host root (uid 0) has no id in the mount's mapping: it can't create.
    assert!(
        o.stdout.contains("Value too large") && o.stdout.contains("touch-failed"),
        "{o}"
    );
    assert!(!src.join("new").exists());
}

#[test]
fn a_file_created_through_the_mount_lands_with_the_translated_owner() {
    let mut c = Container::new("idmap-create");
    let src = owned_src(&c, "src");
    c.add_mount(json!({
        "destination": "/mnt/i", "type": "bind", "source": src, "options": ["rbind", "idmap"],
        "uidMappings": map(0, 100000, 65536), "gidMappings": map(0, 200000, 65536)
    }));
    // uid 101000 / gid 201000 are on-disk 1000 through the mount; the source
    // dir (host 0:0, 0755) is 100000:200000's there, so 100000 may create.
    // The usual flags apply on top.
    c.add_mount(json!({
        "destination": "/mnt/ro", "type": "bind", "source": src, "options": ["bind", "ro"],
        "uidMappings": map(0, 100000, 65536), "gidMappings": map(0, 200000, 65536)
    }));
    c.config["process"]["user"] = json!({"uid": 100000, "gid": 200000});
    let o = sh(
        &mut c,
        "stat -c %u:%g /mnt/i /mnt/i/f1000; touch /mnt/i/new && stat -c %u:%g /mnt/i/new; \
         touch /mnt/ro/x 2>&1 || echo ro-refused",
    );
    o.assert_ok();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(
        &lines[..3],
        ["100000:200000", "101000:201000", "100000:200000"],
        "{o}"
    );
    assert!(
        o.stdout.contains("Read-only file system") && o.stdout.contains("ro-refused"),
        "{o}"
    );
    assert_eq!(owner(&src.join("new")), (0, 0), "on the host");
}

#[test]
fn idmap_with_a_new_user_namespace_takes_the_containers_maps() {
    let mut c = Container::new("idmap-userns");
    let src = owned_src(&c, "src");
    new_userns(&mut c, 100000);
    c.add_mount(json!({
        "destination": "/mnt/i", "type": "bind", "source": src, "options": ["bind", "idmap"]
    }));
    c.add_mount(json!({
        "destination": "/mnt/plain", "type": "bind", "source": src, "options": ["bind"]
    }));
    let o = sh(
        &mut c,
        "stat -c %u:%g /mnt/i/f0 /mnt/i/f1000 /mnt/plain/f0 && touch /mnt/i/new && \
         stat -c %u:%g /mnt/i/new",
    );
    o.assert_ok();
    // Inside, the files keep their on-disk owners; through a plain bind host
    // root is unmapped (the overflow id).
    assert_eq!(
        o.stdout.lines().collect::<Vec<_>>(),
        ["0:0", "1000:1000", "65534:65534", "0:0"],
        "{o}"
    );
    // Container root (host 100000) writes as on-disk root.
    assert_eq!(owner(&src.join("new")), (0, 0));
}

/// In the host's mount namespace the moved tree lands under the rootfs, and
/// goes with the container.
#[test]
fn without_a_mount_namespace_the_idmapped_bind_goes_with_the_container() {
    let mut c = Container::new("idmap-no-mnt");
    let src = owned_src(&c, "src");
    c.remove_namespace("mount");
    c.config["linux"]["maskedPaths"] = json!([]);
    c.config["linux"]["readonlyPaths"] = json!([]);
    c.add_mount(json!({
        "destination": "/mnt/i", "type": "bind", "source": src, "options": ["bind"],
        "uidMappings": map(0, 100000, 65536), "gidMappings": map(0, 100000, 65536)
    }));
    let o = sh(&mut c, "stat -c %u:%g /mnt/i/f1000");
    o.assert_ok();
    assert_eq!(o.stdout.trim(), "101000:101000", "{o}");
    let base = c.base().to_str().unwrap().to_string();
    let left: Vec<String> = read_or_empty(Path::new("/proc/self/mountinfo"))
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|mp| mp.starts_with(&base))
        .collect();
    assert!(left.is_empty(), "left in the host's table: {left:?}");
}

/// A created "pod" with a user namespace mapping 0 to `host_id`; its init's pid.
fn userns_pod(name: &str, host_id: u32) -> (Container, i64) {
    let mut pod = Container::new(name);
    new_userns(&mut pod, host_id);
    pod.args(&["/bin/sleep", "30"]);
    pod.create().assert_ok();
    let pid = pod.state()["pid"].as_i64().unwrap();
    (pod, pid)
}

#[test]
fn idmap_with_a_joined_user_namespace_takes_its_maps() {
    let (pod, pod_pid) = userns_pod("idmap-pod", 200000);
    let mut c = Container::new("idmap-joined");
    let src = owned_src(&c, "src");
    c.set_namespace("user", Some(&format!("/proc/{pod_pid}/ns/user")));
    without_cgroup_mount(&mut c);
    fs::create_dir_all(c.rootfs().join("mnt/i")).unwrap();
    c.add_mount(json!({
        "destination": "/mnt/i", "type": "bind", "source": src, "options": ["bind", "idmap"]
    }));
    let o = sh(&mut c, "stat -c %u:%g /mnt/i/f0 /mnt/i/f1000");
    o.assert_ok();
    assert_eq!(
        o.stdout.lines().collect::<Vec<_>>(),
        ["0:0", "1000:1000"],
        "{o}"
    );
    pod.delete(true).assert_ok();
}

/// `src` with a tmpfs on src/sub holding g (owned 1000:1000); detached by
/// the caller (or, after a panic, by the Container's drop).
fn tree_with_submount(c: &Container) -> PathBuf {
    let src = owned_src(c, "tree");
    fs::create_dir_all(src.join("sub")).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "berth-idmap-sub"])
        .arg(src.join("sub"))
        .status()
        .unwrap();
    assert!(st.success(), "mount tmpfs for the test");
    fs::write(src.join("sub/g"), "g").unwrap();
    chown(src.join("sub/g"), Some(1000), Some(1000)).unwrap();
    src
}

fn detach(p: &Path) {
    let st = Command::new("umount").arg("-l").arg(p).status().unwrap();
    assert!(st.success(), "umount {}", p.display());
}

#[test]
fn ridmap_idmaps_the_submounts_and_idmap_does_not() {
    let mut c = Container::new("idmap-ridmap");
    let src = tree_with_submount(&c);
    for (dest, opt) in [("/mnt/top", "idmap"), ("/mnt/all", "ridmap")] {
        c.add_mount(json!({
            "destination": dest, "type": "bind", "source": src, "options": ["rbind", opt],
            "uidMappings": map(0, 100000, 65536), "gidMappings": map(0, 100000, 65536)
        }));
    }
    let o = sh(
        &mut c,
        "stat -c %u:%g /mnt/top/f1000 /mnt/top/sub/g /mnt/all/f1000 /mnt/all/sub/g",
    );
    detach(&src.join("sub"));
    o.assert_ok();
    assert_eq!(
        o.stdout.lines().collect::<Vec<_>>(),
        [
            "101000:101000",
            "1000:1000",
            "101000:101000",
            "101000:101000"
        ],
        "{o}"
    );
}

/// The copy is made in the container's mount namespace, as a plain bind
/// would be: what the kernel locks there (a read-only host mount, the
/// submounts of an rbind) stays locked for the container's root.
#[test]
fn in_a_user_namespace_an_idmapped_bind_keeps_the_host_mounts_locked() {
    let mut c = Container::new("idmap-locked");
    let src = tree_with_submount(&c);
    let ro = Command::new("mount")
        .args(["-o", "remount,bind,ro"])
        .arg(src.join("sub"))
        .status()
        .unwrap();
    assert!(ro.success());
    new_userns(&mut c, 100000);
    for cap in ["bounding", "effective", "permitted"] {
        c.config["process"]["capabilities"][cap]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_SYS_ADMIN"));
    }
    c.add_mount(json!({
        "destination": "/mnt/i", "type": "bind", "source": src, "options": ["rbind", "ridmap"]
    }));
    let o = sh(
        &mut c,
        "stat -c %u:%g /mnt/i/sub/g; \
         mount -o remount,bind,rw /mnt/i/sub 2>/dev/null && echo remounted-rw; \
         umount /mnt/i/sub 2>/dev/null && echo unmounted; \
         touch /mnt/i/sub/new 2>/dev/null && echo written; echo done",
    );
    detach(&src.join("sub"));
    o.assert_ok();
    assert_eq!(
        o.stdout.lines().collect::<Vec<_>>(),
        ["1000:1000", "done"],
        "{o}"
    );
}

/// runc's messages, naming the mount; nothing is left behind.
#[test]
fn bad_idmapped_mounts_are_refused_by_name() {
    let maps = || (map(0, 100000, 65536), map(0, 100000, 65536));
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs",
                   "options": ["idmap"], "uidMappings": maps().0, "gidMappings": maps().1}),
            "id-mapped mounts are only supported for bind-mounts",
        ),
        (
            json!({"destination": "/mnt/t", "type": "bind", "source": "/tmp",
                   "options": ["bind"], "uidMappings": maps().0}),
            "id-mapped mounts must have both uid and gid mappings specified",
        ),
        (
            json!({"destination": "/mnt/t", "type": "bind", "source": "/tmp",
                   "options": ["bind", "idmap"]}),
            "id-mapped mounts must have both uid and gid mappings specified",
        ),
    ];
    for (m, want) in cases {
        let mut c = Container::new("idmap-bad");
        c.add_mount(m);
        let o = c.run();
        o.assert_fail();
        assert!(
            o.stderr.contains(want) && o.stderr.contains("mounts[7] (/mnt/t)"),
            "{o}"
        );
        assert!(!c.has_state_dir(), "{:?}", c.state_entries());
    }
}

/// The kernel's refusal (sysfs can't be idmapped) comes once the init runs:
/// reported with runc's hint, and the container is undone.
#[test]
fn a_filesystem_that_cannot_be_idmapped_says_so() {
    let mut c = Container::new("idmap-sysfs");
    c.add_mount(json!({
        "destination": "/mnt/s", "type": "bind", "source": "/sys/kernel/mm", "options": ["bind"],
        "uidMappings": map(0, 100000, 65536), "gidMappings": map(0, 100000, 65536)
    }));
    let o = c.run();
    o.assert_fail();
    assert!(
        o.stderr.contains("mounts[7] (/mnt/s)")
            && o.stderr
                .contains("failed to set MOUNT_ATTR_IDMAP on /sys/kernel/mm")
            && o.stderr.contains("doesn't support idmap mounts"),
        "{o}"
    );
    assert!(!c.has_state_dir(), "{:?}", c.state_entries());
}

#[test]
fn features_report_idmap() {
    let c = Container::new("idmap-features");
    let o = c.runtime(&["features"]);
    o.assert_ok();
    let f: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(
        f["linux"]["mountExtensions"]["idmap"]["enabled"], true,
        "{o}"
    );
    let opts = f["mountOptions"].as_array().unwrap();
    for name in ["idmap", "ridmap"] {
        assert!(opts.iter().any(|o| o == name), "{name}: {opts:?}");
    }
}
