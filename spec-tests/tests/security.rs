//! Security regressions of the runc CVE classes. Every test here takes [`exclusive`] so that no
//! other runtime invocation of this test binary runs at the same time (a concurrently running
//! runtime keeps its binary busy, which would hide a CVE-2019-5736 hole behind ETXTBSY).

use serde_json::{json, Value};
use spec_tests::*;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

fn wait_file(p: &Path, secs: u64) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if p.exists() && std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn fingerprint(p: &Path) -> (u64, i64, i64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).unwrap();
    (m.len(), m.mtime(), m.mtime_nsec())
}

/// CVE-2019-5736: a container process must never be able to open the host's runtime binary
/// for writing through /proc/PID/exe of a runtime process that is (or was) inside it.
///
/// The container's init sits in `created` state as a runtime process; a watcher exec'd into the
/// container (detached) takes O_PATH handles on every /proc/PID/exe it sees, then keeps trying
/// to reopen them O_WRONLY. Meanwhile we `start` (the init execs the user process, the runtime
/// binary is no longer busy) and `exec` a `#!/proc/self/exe` script (the runtime's exec
/// helper re-executes itself inside the container). A naive runtime (no memfd/sealed/ro copy)
/// lets the watcher open the host binary for writing; runc's sealed memfd does not.
#[test]
fn cve_2019_5736_runtime_binary_not_writable_from_container() {
    let _g = exclusive();
    let mut c = Container::new("cve-2019-5736");
    let out = c.host_dir();
    c.add_mount(json!({"destination": "/out", "type": "bind", "source": out, "options": ["bind"]}));
    let evil = c.rootfs().join("bin/evil");
    std::fs::write(&evil, "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
    c.args(&["/bin/sleep", "20"]);
    let bin = runtime_bin();
    let before = fingerprint(&bin);
    let (dev, ino) = dev_ino(&bin);
    c.create().assert_ok();
    let dev_s = dev.to_string();
    let ino_s = ino.to_string();
    let o = c.runtime(&[
        "exec",
        "-d",
        &c.id,
        "/bin/checker",
        "exewatch",
        &dev_s,
        &ino_s,
        "4",
        "/out/watch.json",
    ]);
    o.assert_ok();
    std::thread::sleep(Duration::from_millis(500));
    c.start().assert_ok();
    for _ in 0..3 {
        // runs the runtime binary inside the container via the script's interpreter
        let _ = c.runtime(&["exec", "-d", &c.id, "/bin/evil"]);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        wait_file(&out.join("watch.json"), 15),
        "watcher produced no report"
    );
    let report: Value = serde_json::from_str(&read_or_empty(&out.join("watch.json"))).unwrap();
    eprintln!("watcher report: {report}");
    let seen = report["seen"].as_array().unwrap();
    assert!(
        seen.iter().any(|s| s["pid"] == 1),
        "the watcher never saw the container's init: {report}"
    );
    let bad: Vec<&Value> = report["writable"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["host_runtime"] == true)
        .collect();
    assert!(
        bad.is_empty(),
        "the host runtime binary was opened for writing from the container: {report}"
    );
    assert_eq!(fingerprint(&bin), before, "the runtime binary changed");
}

/// Spawn `run` with fd 7 = a host directory inherited without CLOEXEC (and optionally fd 3).
fn run_with_leaked_fd(c: &Container, extra_args: &[&str], fd3: Option<&std::fs::File>) -> Output {
    c.write_config();
    let hostdir = std::fs::File::open(c.host_dir()).unwrap();
    let mut fds = vec![(7, hostdir.as_raw_fd())];
    if let Some(f) = fd3 {
        fds.push((3, f.as_raw_fd()));
    }
    let b = c.bundle();
    let mut args = vec!["run", "--bundle", b.to_str().unwrap()];
    args.extend_from_slice(extra_args);
    args.push(&c.id);
    let o = c.runtime_with(
        &args,
        Spawn {
            extra_fds: fds,
            ..Default::default()
        },
    );
    drop(hostdir);
    o
}

fn fd_numbers(r: &Value) -> Vec<i64> {
    r["fds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fd"].as_i64().unwrap())
        .collect()
}

/// CVE-2024-21626 (leaked fds): the process sees exactly 0, 1, 2 even though the runtime was
/// started with an extra inherited fd 7 to a host directory.
#[test]
fn cve_2024_21626_no_leaked_fds() {
    let _g = exclusive();
    let mut c = Container::new("cve-2024-21626-fds");
    c.checker_args(&[]);
    let o = run_with_leaked_fd(&c, &[], None);
    o.assert_ok();
    let r = o.json();
    assert_eq!(fd_numbers(&r), vec![0, 1, 2], "{}", brief(&r));
}

/// --preserve-fds N passes exactly fds 3..3+N, nothing else.
#[test]
fn preserve_fds_passes_only_the_requested_fds() {
    let _g = exclusive();
    let mut c = Container::new("preserve-fds");
    let f = c.host_dir().join("passed");
    std::fs::write(&f, "passed").unwrap();
    let file = std::fs::File::open(&f).unwrap();
    c.checker_args(&["read", "/proc/self/fd/3"]);
    let o = run_with_leaked_fd(&c, &["--preserve-fds", "1"], Some(&file));
    o.assert_ok();
    let r = o.json();
    assert_eq!(fd_numbers(&r), vec![0, 1, 2, 3], "{}", brief(&r));
    assert_eq!(r["fds"][3]["target"], f.to_str().unwrap());
    assert_eq!(probe(&r, 0)["content"], "passed");
}

/// CVE-2024-21626 (cwd through a leaked fd): process.cwd = /proc/self/fd/N must never leave the
/// process with a working directory on the host. Either the runtime refuses, or the cwd is
/// inside the container and a relative path cannot reach host files.
#[test]
fn cve_2024_21626_cwd_via_proc_self_fd() {
    let _g = exclusive();
    for n in [3, 4, 5, 6, 7, 8, 9] {
        let mut c = Container::new(&format!("cve-2024-21626-cwd{n}"));
        std::fs::write(c.host_dir().join("host-secret"), "HOST").unwrap();
        let (hdev, hino) = dev_ino(&c.host_dir());
        c.config["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        c.checker_args(&[
            "read",
            "host-secret",
            "read",
            "../../../../../../host-secret",
        ]);
        let o = run_with_leaked_fd(&c, &[], None);
        if !o.success() {
            continue; // refusing is fine
        }
        let r = o.json();
        let cwd = r["cwd"].as_str().unwrap();
        assert!(
            !cwd.starts_with("ERR") && !cwd.starts_with("(unreachable)"),
            "cwd {n} outside the root: {}",
            brief(&r)
        );
        assert!(
            !(r["cwd_stat"]["dev"] == hdev && r["cwd_stat"]["ino"] == hino),
            "cwd {n} is the host directory: {}",
            brief(&r)
        );
        for i in 0..2 {
            assert_ne!(
                probe(&r, i)["content"],
                "HOST",
                "host file read via cwd {n}: {}",
                brief(&r)
            );
        }
    }
}

/// CVE-2024-21626 via exec: `exec --cwd /proc/self/fd/7` with an inherited fd 7.
#[test]
fn cve_2024_21626_exec_cwd_via_proc_self_fd() {
    let _g = exclusive();
    let mut c = Container::new("cve-2024-21626-exec");
    let out = c.host_dir();
    std::fs::write(out.join("host-secret"), "HOST").unwrap();
    c.add_mount(json!({"destination": "/out", "type": "tmpfs", "source": "tmpfs"}));
    c.args(&["/bin/sleep", "20"]);
    c.create().assert_ok();
    c.start().assert_ok();
    let hostdir = std::fs::File::open(&out).unwrap();
    let o = c.runtime_with(
        &[
            "exec",
            "--cwd",
            "/proc/self/fd/7",
            &c.id,
            "/bin/checker",
            "read",
            "host-secret",
        ],
        Spawn {
            extra_fds: vec![(7, hostdir.as_raw_fd())],
            ..Default::default()
        },
    );
    if o.success() {
        let r = o.json();
        assert_eq!(fd_numbers(&r), vec![0, 1, 2], "{}", brief(&r));
        assert_ne!(probe(&r, 0)["content"], "HOST", "{}", brief(&r));
        assert!(
            !r["cwd"].as_str().unwrap().starts_with("ERR"),
            "{}",
            brief(&r)
        );
    }
    // and a plain exec sees only 0,1,2 despite the inherited fd
    let o = c.runtime_with(
        &["exec", &c.id, "/bin/checker"],
        Spawn {
            extra_fds: vec![(7, hostdir.as_raw_fd())],
            ..Default::default()
        },
    );
    o.assert_ok();
    assert_eq!(fd_numbers(&o.json()), vec![0, 1, 2]);
}

/// A host dir outside the bundle that a symlink in the rootfs points at.
fn host_target(c: &Container) -> std::path::PathBuf {
    let t = c.base().join("outside");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("keep"), "untouched").unwrap();
    t
}

fn assert_untouched(t: &Path) {
    let names: Vec<String> = std::fs::read_dir(t)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["keep".to_string()],
        "host dir {} was modified",
        t.display()
    );
    assert_eq!(
        std::fs::read_to_string(t.join("keep")).unwrap(),
        "untouched"
    );
}

/// CVE-2021-30465 class: a mount destination that goes through a symlink in the rootfs must be
/// resolved inside the rootfs (absolute and ../ symlinks alike), never on the host.
#[test]
fn cve_2021_30465_symlinked_mount_destination_stays_in_rootfs() {
    let _g = exclusive();
    for (name, relative) in [("abs", false), ("rel", true)] {
        let mut c = Container::new(&format!("cve-2021-30465-{name}"));
        let t = host_target(&c);
        let link_target = if relative {
            format!("../../../../../../../../../..{}", t.display())
        } else {
            t.display().to_string()
        };
        std::os::unix::fs::symlink(&link_target, c.rootfs().join("evil")).unwrap();
        let src = c.host_dir();
        std::fs::write(src.join("payload"), "payload").unwrap();
        c.add_mount(json!({"destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs"}));
        c.add_mount(json!({"destination": "/evil/bind", "type": "bind", "source": src, "options": ["bind"]}));
        c.add_mount(json!({"destination": "/evil/file", "type": "bind", "source": src.join("payload"), "options": ["bind"]}));
        c.checker_args(&[]);
        let o = c.run();
        assert_untouched(&t);
        if o.success() {
            // the mounts landed at the symlink's target *inside* the rootfs
            let r = o.json();
            let inside = t.display().to_string();
            assert!(
                find_mount(&r, &format!("{inside}/sub")).is_some(),
                "tmpfs not at {inside}/sub inside the container: {}",
                r["mounts"]
            );
            assert!(c
                .rootfs()
                .join(t.strip_prefix("/").unwrap())
                .join("sub")
                .is_dir());
        }
    }
}

/// CVE-2021-30465 class for maskedPaths / readonlyPaths: a masked path that is a symlink out of
/// the rootfs must not mask or remount anything outside.
#[test]
fn cve_2021_30465_symlinked_masked_and_readonly_paths() {
    let _g = exclusive();
    let mut c = Container::new("cve-2021-30465-mask");
    let t = host_target(&c);
    std::os::unix::fs::symlink(t.join("keep"), c.rootfs().join("evilmask")).unwrap();
    std::os::unix::fs::symlink(&t, c.rootfs().join("evilro")).unwrap();
    c.add_mount(
        json!({"destination": "/hostview", "type": "bind", "source": t, "options": ["bind"]}),
    );
    c.config["linux"]["maskedPaths"] = json!(["/evilmask"]);
    c.config["linux"]["readonlyPaths"] = json!(["/evilro"]);
    let r = c.check(&["read", "/hostview/keep", "create", "/hostview/new"]);
    // the bind-mounted host dir is neither masked nor made read-only through the symlinks
    assert_eq!(probe(&r, 0)["content"], "untouched", "{}", brief(&r));
    assert_eq!(probe_errno(&r, 1), 0, "{}", brief(&r));
    assert_eq!(
        std::fs::read_to_string(t.join("keep")).unwrap(),
        "untouched"
    );
    assert!(t.join("new").exists());
    // and host-side, the dir is still writable and unmasked
    std::fs::remove_file(t.join("new")).unwrap();
    assert_untouched(&t);
}

/// The container must not be able to reach the host through its /proc/1/root, /proc/self/cwd,
/// or the runtime's state dir.
#[test]
fn state_dir_not_visible_inside() {
    let _g = exclusive();
    let mut c = Container::new("state-hidden");
    let root = c.state_root();
    let r = c.check(&[
        "exists",
        root.to_str().unwrap(),
        "exists",
        c.bundle().join("config.json").to_str().unwrap(),
    ]);
    assert_eq!(probe(&r, 0)["exists"], false);
    assert_eq!(probe(&r, 1)["exists"], false);
}
