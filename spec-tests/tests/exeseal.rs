//! CVE-2019-5736, seen from the host: while a container is `created`, its init is still a
//! runtime process, so `/proc/<init>/exe` is the file the runtime runs from. That file must
//! not be the host's runtime binary, and it must refuse writes by itself — a read-only
//! overlay (EROFS) or a sealed memfd (EPERM) — not merely because it is busy (ETXTBSY lasts
//! only while some process executes it; the CVE's attacker waits for that to end).
//!
//! runc 1.2+ runs `runc init` from a read-only overlay or a sealed memfd. Known to fail with
//! Debian's runc 1.1.5: its created init's exe is the host binary's own inode.

use serde_json::Value;
use spec_tests::*;
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};

const BASE_SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

fn init_pid(state: &Value) -> i32 {
    let pid = state["pid"].as_i64().unwrap_or(0);
    assert!(pid > 0, "state has no init pid: {state}");
    pid as i32
}

fn seals(f: &File) -> Option<libc::c_int> {
    // SAFETY: fcntl(F_GET_SEALS) on a valid fd only reads its seal set.
    let s = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GET_SEALS) };
    (s >= 0).then_some(s)
}

/// Panics unless `exe` refuses to be written for a reason that outlives its execution.
fn assert_not_writable(exe: &str) {
    let link = fs::read_link(exe).unwrap_or_default();
    match OpenOptions::new().write(true).open(exe) {
        Err(e) if e.raw_os_error() == Some(libc::EROFS) => {}
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES)) => {}
        Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
            // Busy because the init executes it: only fine if it is a sealed copy, which
            // stays unwritable once nobody executes it any more.
            let f = File::open(exe).unwrap_or_else(|e| panic!("open {exe} ({link:?}): {e}"));
            let s = seals(&f);
            assert!(
                s.is_some_and(|s| s & BASE_SEALS == BASE_SEALS),
                "{exe} ({link:?}) is refused for writing only because it is busy (ETXTBSY); \
                 it is neither on a read-only filesystem nor a sealed memfd (seals {s:?})"
            );
        }
        Err(e) => panic!("opening {exe} ({link:?}) for writing failed oddly: {e}"),
        Ok(f) => {
            // Opening a sealed memfd for writing succeeds; writing must not.
            let mut b = [0u8; 1];
            File::open(exe).unwrap().read_exact_at(&mut b, 0).unwrap();
            match f.write_at(&b, 0) {
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
                r => panic!("{exe} ({link:?}) is writable from the host: write gave {r:?}"),
            }
        }
    }
}

#[test]
fn created_init_does_not_run_from_the_host_binary() {
    let _g = exclusive();
    let mut c = Container::new("exeseal-created");
    c.args(&["/bin/true"]);
    c.create().assert_ok();
    let pid = init_pid(&c.wait_status("created", 10));
    let exe = format!("/proc/{pid}/exe");
    let host = runtime_bin();
    let (dev, ino) = dev_ino(&host);
    let m = fs::metadata(&exe).unwrap_or_else(|e| panic!("stat {exe}: {e}"));
    assert_ne!(
        (m.dev(), m.ino()),
        (dev, ino),
        "the created init runs from the host runtime binary {} ({:?})",
        host.display(),
        fs::read_link(&exe)
    );
    assert_not_writable(&exe);
    // The init still works afterwards.
    c.start().assert_ok();
    c.wait_status("stopped", 10);
}

/// The protection must not leave its own descriptors (fs contexts, mount fds, the memfd)
/// in the container's init.
#[test]
fn created_init_inherits_no_sealing_descriptors() {
    let _g = exclusive();
    let mut c = Container::new("exeseal-fds");
    c.args(&["/bin/true"]);
    c.create().assert_ok();
    let pid = init_pid(&c.wait_status("created", 10));
    let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    let dir = format!("/proc/{pid}/fd");
    let mut leaked = Vec::new();
    for e in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let e = e.unwrap();
        let target = match fs::read_link(e.path()) {
            Ok(t) => t,
            Err(err) if err.kind() == ErrorKind::NotFound => continue,
            Err(err) => panic!("readlink {}: {err}", e.path().display()),
        };
        let t = target.to_string_lossy();
        if t.contains("fscontext") || t.starts_with("/memfd:") || target == exe {
            leaked.push(format!("{} -> {t}", e.file_name().to_string_lossy()));
        }
    }
    assert!(
        leaked.is_empty(),
        "init {pid} holds sealing descriptors: {leaked:?}"
    );
}

/// In a private mount namespace (nothing left on the host): `setup` (shell), then
/// `BIN --debug VERB --bundle` for `c`, which must succeed.
fn in_private_mounts(c: &Container, setup: &str, bin: &std::path::Path, verb: &str) -> Output {
    let script = format!(
        "{setup} && exec {bin} --debug --root {root} {verb} --bundle {b} {id}",
        bin = bin.display(),
        root = c.state_root().display(),
        b = c.bundle().display(),
        id = c.id
    );
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &script]);
    let o = c.exec_cmd(cmd, Spawn::default());
    o.assert_ok();
    o
}

/// A runtime installed on a read-only mount is protected as it is: no re-exec, and the
/// created init's exe (that very file) refuses writes with EROFS. The mount is made in a
/// private mount namespace, so nothing is left on the host.
#[test]
fn runtime_on_a_read_only_mount_is_not_re_executed() {
    let _g = exclusive();
    let mut c = Container::new("exeseal-ro");
    c.args(&["/bin/true"]);
    c.write_config();
    let dir = c.host_dir().join("ro-bin");
    fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("runtime");
    fs::copy(runtime_bin(), &bin).unwrap();
    let d = dir.to_str().unwrap();
    let o = in_private_mounts(
        &c,
        &format!("mount --bind {d} {d} && mount -o remount,bind,ro {d}"),
        &bin,
        "create",
    );
    assert!(
        o.stderr
            .contains("exeseal: running from a read-only mount binary"),
        "{o}"
    );
    assert!(!o.stderr.contains("overlayfs binary"), "re-executed: {o}");
    let pid = init_pid(&c.wait_status("created", 10));
    let exe = format!("/proc/{pid}/exe");
    assert_eq!(
        dev_ino(std::path::Path::new(&exe)),
        dev_ino(&bin),
        "the init runs from the read-only binary itself"
    );
    // The CVE's attacker: hold the exe (O_PATH), wait until nothing executes it, then
    // reopen it for writing. Before that the open fails ETXTBSY, which proves nothing.
    let held = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(&exe)
        .unwrap_or_else(|e| panic!("O_PATH {exe}: {e}"));
    c.start().assert_ok();
    c.wait_status("stopped", 10);
    let again = format!("/proc/self/fd/{}", held.as_raw_fd());
    match OpenOptions::new().write(true).open(&again) {
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EROFS), "{exe}: {e}"),
        Ok(_) => panic!("{exe} opened for writing once the init had exec'd"),
    }
    c.delete(true).assert_ok();
}

/// A read-only superblock of a writable filesystem is not protection: the host may remount
/// it read-write later while a container holds the binary open (O_PATH). The runtime must not
/// trust it: for runc's default config its init execs through the sealed trampoline.
#[test]
fn runtime_on_a_read_only_superblock_is_not_trusted() {
    let _g = exclusive();
    let mut c = Container::new("exeseal-rosb");
    c.args(&["/bin/true"]);
    c.write_config();
    let dir = c.host_dir().join("rosb-bin");
    fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let setup = format!(
        "mount -t tmpfs tmpfs {d} && cp {} {d}/runtime && mount -o remount,ro {d}",
        runtime_bin().display()
    );
    let o = in_private_mounts(&c, &setup, &dir.join("runtime"), "run");
    assert!(
        o.stderr
            .contains("exeseal: the program is exec'd through a sealed trampoline"),
        "{o}"
    );
    assert!(!o.stderr.contains("read-only mount binary"), "{o}");
}

/// runc's default config: no re-exec of the runtime (trampoline.rs); the created init runs
/// the sealed trampoline, a memfd, and the container's program still runs after `start`.
#[test]
fn created_init_runs_the_sealed_trampoline_without_a_re_exec() {
    let _g = exclusive();
    let mut c = Container::new("exeseal-tramp");
    c.args(&["/bin/sh", "-c", "echo started"]);
    let o = c.create_with(&["--debug"], Spawn::default());
    o.assert_ok();
    assert!(
        o.stderr.contains("through a sealed trampoline") && !o.stderr.contains("overlayfs binary"),
        "{o}"
    );
    let pid = init_pid(&c.wait_status("created", 10));
    let exe = format!("/proc/{pid}/exe");
    let link = fs::read_link(&exe).unwrap();
    assert!(
        link.to_string_lossy().starts_with("/memfd:berth-exec"),
        "the created init runs {link:?}"
    );
    let f = File::open(&exe).unwrap();
    assert!(
        seals(&f).is_some_and(|s| s & BASE_SEALS == BASE_SEALS),
        "{link:?} is not sealed"
    );
    assert_not_writable(&exe);
    c.start().assert_ok();
    c.wait_status("stopped", 10);
    assert_eq!(c.container_stdout().trim(), "started");
}

/// What the trampoline can't serve (here a createContainer hook, which runs in the container
/// while the init is still the runtime) makes the runtime re-execute itself from its overlay,
/// as before: the created init's exe refuses writes with EROFS.
#[test]
fn a_config_the_trampoline_cannot_serve_re_executes_the_runtime() {
    let _g = exclusive();
    let mut c = Container::new("exeseal-hook");
    c.args(&["/bin/true"]);
    c.config["hooks"] = serde_json::json!({"createContainer": [{"path": "/bin/true"}]});
    let o = c.create_with(&["--debug"], Spawn::default());
    o.assert_ok();
    assert!(
        o.stderr
            .contains("no trampoline (hooks run in the container); re-executing")
            && o.stderr
                .contains("exeseal: running from a overlayfs binary"),
        "{o}"
    );
    let pid = init_pid(&c.wait_status("created", 10));
    let exe = format!("/proc/{pid}/exe");
    match OpenOptions::new().write(true).open(&exe) {
        Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EROFS), "{exe}: {e}"),
        Ok(_) => panic!("{exe} opened for writing"),
    }
    c.start().assert_ok();
    c.wait_status("stopped", 10);
}

/// An executable file `/bin/NAME` holding `text` in the container's rootfs.
fn install(c: &Container, name: &str, text: &str) {
    let f = c.rootfs().join("bin").join(name);
    fs::write(&f, text).unwrap();
    fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// `run` of `/bin/NAME`: its output and everything the run and the container said on stderr.
fn run_program(c: &mut Container, name: &str) -> (Output, String) {
    c.args(&[&format!("/bin/{name}")]);
    let o = c.run();
    let err = fs::read_to_string(c.ctr_stderr()).unwrap_or_default() + &o.stderr;
    (o, err)
}

/// CVE-2019-5736's entry point: a program whose interpreter is `/proc/self/exe`. Exec'd by the
/// trampoline, the interpreter is the sealed trampoline itself (which refuses to run as one),
/// never the runtime binary.
#[test]
fn a_proc_self_exe_interpreter_reaches_the_trampoline() {
    let _g = exclusive();
    let mut c = Container::new("exeseal-shebang");
    install(&c, "evil", "#!/proc/self/exe\n");
    let (o, err) = run_program(&mut c, "evil");
    assert_eq!(o.code, Some(127), "{o}");
    assert!(
        err.contains("runtime: exec trampoline: not started by the runtime's init"),
        "{o}\ncontainer stderr: {err}"
    );
}

/// An exec that fails after `start` is one line on the container's stderr, named as the init
/// names it, and exit status 127 (a file with no ELF header or #! line: ENOEXEC).
#[test]
fn a_program_the_kernel_cannot_exec_is_reported() {
    let _g = exclusive();
    let mut c = Container::new("exeseal-noexec");
    install(&c, "junk", "not a program\n");
    let (o, err) = run_program(&mut c, "junk");
    assert_eq!(o.code, Some(127), "{o}");
    assert!(
        err.contains("runtime: container init: exec \"/bin/junk\": Exec format error (os error 8)"),
        "{o}\ncontainer stderr: {err}"
    );
}

/// `exec` into a container with its own pid namespace: no re-exec either; the exec'd process
/// goes through the trampoline, so a `#!/proc/self/exe` program reaches the sealed trampoline,
/// and a program the kernel can't exec is the `exec` command's own error (ENOEXEC).
#[test]
fn exec_goes_through_the_trampoline_and_reports_a_failed_exec() {
    let _g = exclusive();
    let mut c = Container::new("exeseal-exec");
    install(&c, "evil", "#!/proc/self/exe\n");
    install(&c, "junk", "not a program\n");
    c.args(&["/bin/sleep", "30"]);
    c.create().assert_ok();
    c.start().assert_ok();
    let o = c.runtime(&["--debug", "exec", &c.id, "/bin/echo", "hi"]);
    o.assert_ok();
    assert_eq!(o.stdout.trim(), "hi", "{o}");
    assert!(
        o.stderr.contains("through a sealed trampoline") && !o.stderr.contains("overlayfs binary"),
        "{o}"
    );
    let o = c.runtime(&["exec", &c.id, "/bin/evil"]);
    assert_eq!(o.code, Some(127), "{o}");
    assert!(
        o.stderr
            .contains("runtime: exec trampoline: not started by the runtime's init"),
        "{o}"
    );
    let o = c.runtime(&["exec", &c.id, "/bin/junk"]);
    o.assert_fail();
    assert!(
        o.stderr
            .contains("exec \\\"/bin/junk\\\": Exec format error (os error 8)"),
        "{o}"
    );
    c.delete(true).assert_ok();
}
