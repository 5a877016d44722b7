//! Harness of the Berth conformance suite.
//!
//! Every test builds its own bundle in a fresh temp dir (busybox-static rootfs + the static
//! `checker`), mutates a runc-default config.json as a [`serde_json::Value`], and drives the
//! runtime under test with runc's command line:
//! `$BERTH_RUNTIME --root <per-test dir> run|create|start|state|kill|delete ...`.
//!
//! * `BERTH_RUNTIME`: path or `PATH` name of the binary under test (`runc` works);
//!   default `<workspace>/target/release/runtime`.
//! * `BERTH_CHECKER`: a prebuilt static checker; default: the harness builds it once with
//!   `cargo build --release -p spec-tests --bin checker --target x86_64-unknown-linux-gnu`
//!   and `RUSTFLAGS=-C target-feature=+crt-static`.
//!
//! * `BERTH_KEEP=1`: keep each test's temp dir (bundle, state root, logs) for inspection.
//!
//! Run: `CARGO_TARGET_DIR=/work/main/target BERTH_RUNTIME=runc cargo test -p spec-tests`
//! (as root). Tests documented "Known to fail with runc 1.1" assert what the spec demands.
//!
//! A [`Container`] deletes itself (`delete --force`) and removes its temp dirs on drop, even
//! when the test panics.

use serde_json::{json, Value};
use std::fs;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Busybox applets linked into every rootfs.
pub const APPLETS: &[&str] = &[
    "sh", "cat", "ls", "echo", "true", "false", "sleep", "id", "mount", "umount", "mkdir", "touch",
    "test", "stat", "readlink", "grep", "head", "env", "hostname", "ps", "kill", "rm", "chmod",
    "ln", "printf", "pwd", "tty", "wc", "date", "uname", "cp", "mv", "cut", "ip",
];

/// Workspace root (the directory holding the top-level Cargo.toml).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("spec-tests lives inside the workspace")
        .to_path_buf()
}

/// The cargo target dir (`CARGO_TARGET_DIR` or `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let p = PathBuf::from(d);
            if p.is_absolute() {
                p
            } else {
                workspace_dir().join(p)
            }
        }
        _ => workspace_dir().join("target"),
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found
}

/// The runtime binary under test, resolved to an absolute path.
pub fn runtime_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let p = match std::env::var("BERTH_RUNTIME") {
            Ok(v) if !v.is_empty() => {
                if v.contains('/') {
                    PathBuf::from(v)
                } else {
                    which(&v).unwrap_or_else(|| panic!("BERTH_RUNTIME={v}: not found in PATH"))
                }
            }
            _ => target_dir().join("release/runtime"),
        };
        assert!(
            p.is_file(),
            "runtime binary {} not found: build it with `cargo build --release -p runtime`, \
             or point BERTH_RUNTIME at a runc-compatible binary (e.g. BERTH_RUNTIME=runc)",
            p.display()
        );
        fs::canonicalize(&p).unwrap_or(p)
    })
    .clone()
}

/// The static checker binary; built on first use unless `BERTH_CHECKER` names one.
pub fn checker_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(v) = std::env::var("BERTH_CHECKER") {
            if !v.is_empty() {
                let p = PathBuf::from(v);
                assert!(p.is_file(), "BERTH_CHECKER={} does not exist", p.display());
                return p;
            }
        }
        let triple = "x86_64-unknown-linux-gnu";
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(&cargo)
            .current_dir(workspace_dir())
            .args(["build", "--release", "-p", "spec-tests", "--bin", "checker"])
            .args(["--target", triple])
            .env("CARGO_TARGET_DIR", target_dir())
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {cargo}: {e}"));
        let p = target_dir().join(triple).join("release/checker");
        assert!(
            out.status.success() && p.is_file(),
            "building the checker failed; build it by hand with\n  RUSTFLAGS='-C \
             target-feature=+crt-static' cargo build --release -p spec-tests --bin checker \
             --target {triple}\nor set BERTH_CHECKER=/path/to/static/checker\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        p
    })
    .clone()
}

/// Result of one runtime (or other) command.
#[derive(Debug, Clone)]
pub struct Output {
    pub cmd: String,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with the full command output unless the command exited 0.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(self.success(), "command failed: {self}");
        self
    }

    /// Panics unless the command exited non-zero (not killed by our timeout).
    #[track_caller]
    pub fn assert_fail(&self) -> &Self {
        assert!(
            !self.timed_out && !self.success(),
            "command was expected to fail: {self}"
        );
        self
    }

    /// stderr with runc's logrus quoting undone (`msg="a \"b\""` reads `msg="a "b""`),
    /// for matching messages that hold quotes.
    pub fn stderr_text(&self) -> String {
        self.stderr.replace("\\\"", "\"").replace("\\\\", "\\")
    }

    /// The last line of stdout that parses as a JSON object.
    #[track_caller]
    pub fn json(&self) -> Value {
        parse_last_json(&self.stdout).unwrap_or_else(|| panic!("no JSON object in stdout: {self}"))
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` -> code {:?} signal {:?}{} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmd,
            self.code,
            self.signal,
            if self.timed_out { " (TIMED OUT)" } else { "" },
            self.elapsed,
            self.stdout,
            self.stderr
        )
    }
}

/// The last line of `s` that parses as a JSON object (tty output has `\r\n` line ends).
pub fn parse_last_json(s: &str) -> Option<Value> {
    s.lines()
        .rev()
        .map(|l| l.trim())
        .filter(|l| l.starts_with('{'))
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
}

/// Extra settings for spawning a command.
#[derive(Default)]
pub struct Spawn {
    /// (fd number in the child, fd to dup there); the child's copy is inherited (no CLOEXEC).
    pub extra_fds: Vec<(RawFd, RawFd)>,
    /// Where stdout/stderr go; default: fresh files in the container's scratch dir.
    pub stdout: Option<fs::File>,
    pub stderr: Option<fs::File>,
    pub timeout: Option<Duration>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Global lock for tests that must not run concurrently with others in the same binary.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A unique, runc-valid container id: `<name>-<pid>-<counter>`.
pub fn unique_id(name: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    format!("{clean}-{}-{n}", std::process::id())
}

/// runc 1.1's `runc spec` output with `terminal: false`, `args: [/bin/checker]`, a writable
/// root and a Berth hostname: the default every test starts from.
pub fn default_spec() -> Value {
    json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["/bin/checker"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "berth-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// Populate `rootfs` with busybox, the checker, and /etc/passwd + /etc/group.
pub fn make_rootfs(rootfs: &Path) {
    for d in [
        "bin",
        "proc",
        "sys",
        "dev",
        "etc",
        "tmp",
        "root",
        "home/tester",
    ] {
        fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    // Copies, never hard links: a container that writes its /bin must not reach the host's.
    fs::copy("/bin/busybox", rootfs.join("bin/busybox"))
        .expect("copy /bin/busybox (install busybox-static)");
    fs::copy(checker_bin(), rootfs.join("bin/checker")).unwrap();
    for a in APPLETS {
        symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/home/tester:/bin/sh\n\
         nobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .unwrap();
    fs::write(
        rootfs.join("etc/group"),
        "root:x:0:\ntty:x:5:\ntester:x:1000:\nextra1:x:2001:tester\nextra2:x:2002:tester\n\
         nogroup:x:65534:\n",
    )
    .unwrap();
}

/// One test container: temp dirs, bundle, state root, config and a drop guard.
pub struct Container {
    pub id: String,
    pub config: Value,
    /// Holds everything; removed on drop.
    base: Option<tempfile::TempDir>,
    log_n: AtomicUsize,
}

impl Container {
    /// A fresh bundle with the default spec; `name` becomes part of the unique id.
    pub fn new(name: &str) -> Container {
        let _ = runtime_bin();
        let base = tempfile::Builder::new()
            .prefix("berth-spec-")
            .tempdir()
            .expect("temp dir");
        for d in ["bundle/rootfs", "state", "host", "logs"] {
            fs::create_dir_all(base.path().join(d)).unwrap();
        }
        make_rootfs(&base.path().join("bundle/rootfs"));
        Container {
            id: unique_id(name),
            config: default_spec(),
            base: Some(base),
            log_n: AtomicUsize::new(0),
        }
    }

    pub fn base(&self) -> &Path {
        self.base.as_ref().unwrap().path()
    }
    pub fn bundle(&self) -> PathBuf {
        self.base().join("bundle")
    }
    pub fn rootfs(&self) -> PathBuf {
        self.bundle().join("rootfs")
    }
    /// The `--root` state directory.
    pub fn state_root(&self) -> PathBuf {
        self.base().join("state")
    }
    /// A scratch dir on the host, outside the bundle, for markers, hook logs, bind sources.
    pub fn host_dir(&self) -> PathBuf {
        self.base().join("host")
    }
    /// Files where a created container's stdout/stderr go.
    pub fn ctr_stdout(&self) -> PathBuf {
        self.base().join("logs/ctr.out")
    }
    pub fn ctr_stderr(&self) -> PathBuf {
        self.base().join("logs/ctr.err")
    }

    /// Set `process.args`.
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.config["process"]["args"] = json!(args);
        self
    }

    /// Run the checker with probes: `checker PROBE ARG ...`.
    pub fn checker_args(&mut self, probes: &[&str]) -> &mut Self {
        let mut a = vec!["/bin/checker"];
        a.extend_from_slice(probes);
        self.args(&a)
    }

    /// Append a mount to `mounts`.
    pub fn add_mount(&mut self, m: Value) -> &mut Self {
        self.config["mounts"].as_array_mut().unwrap().push(m);
        self
    }

    /// Add (or replace the path of) a namespace in `linux.namespaces`.
    pub fn set_namespace(&mut self, typ: &str, path: Option<&str>) -> &mut Self {
        let ns = self.config["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != typ);
        let mut n = json!({"type": typ});
        if let Some(p) = path {
            n["path"] = json!(p);
        }
        ns.push(n);
        self
    }

    /// Remove a namespace from `linux.namespaces` (share the runtime's).
    pub fn remove_namespace(&mut self, typ: &str) -> &mut Self {
        self.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != typ);
        self
    }

    pub fn write_config(&self) {
        fs::write(
            self.bundle().join("config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// `$BERTH_RUNTIME --root <state> ARGS...`, stdin from /dev/null, 60 s limit.
    pub fn runtime(&self, args: &[&str]) -> Output {
        self.runtime_with(args, Spawn::default())
    }

    pub fn runtime_with(&self, args: &[&str], spawn: Spawn) -> Output {
        let mut cmd = Command::new(runtime_bin());
        cmd.arg("--root").arg(self.state_root()).args(args);
        self.exec_cmd(cmd, spawn)
    }

    /// Run any command with output captured through files (a container that inherits our
    /// stdout can outlive the command, so pipes could block forever).
    pub fn exec_cmd(&self, mut cmd: Command, spawn: Spawn) -> Output {
        let n = self.log_n.fetch_add(1, Ordering::SeqCst);
        let out_p = self.base().join(format!("logs/cmd{n}.out"));
        let err_p = self.base().join(format!("logs/cmd{n}.err"));
        let desc = format!("{cmd:?}");
        cmd.stdin(Stdio::null());
        cmd.stdout(match spawn.stdout {
            Some(f) => Stdio::from(f),
            None => Stdio::from(fs::File::create(&out_p).unwrap()),
        });
        cmd.stderr(match spawn.stderr {
            Some(f) => Stdio::from(f),
            None => Stdio::from(fs::File::create(&err_p).unwrap()),
        });
        if !spawn.extra_fds.is_empty() {
            let fds = spawn.extra_fds.clone();
            // SAFETY: only async-signal-safe dup2/fcntl between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    for (target, src) in &fds {
                        if target == src {
                            let fl = libc::fcntl(*src, libc::F_GETFD);
                            libc::fcntl(*src, libc::F_SETFD, fl & !libc::FD_CLOEXEC);
                        } else if libc::dup2(*src, *target) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
        let start = Instant::now();
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
        let limit = spawn.timeout.unwrap_or(Duration::from_secs(60));
        let mut timed_out = false;
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if start.elapsed() > limit {
                timed_out = true;
                let _ = child.kill();
                break child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        use std::os::unix::process::ExitStatusExt;
        Output {
            cmd: desc,
            code: status.code(),
            signal: status.signal(),
            stdout: fs::read_to_string(&out_p).unwrap_or_default(),
            stderr: fs::read_to_string(&err_p).unwrap_or_default(),
            timed_out,
            elapsed: start.elapsed(),
        }
    }

    /// Write config.json and `run --bundle B ID` in the foreground.
    pub fn run(&self) -> Output {
        self.write_config();
        let b = self.bundle();
        self.runtime(&["run", "--bundle", b.to_str().unwrap(), &self.id])
    }

    /// Run the checker with `probes` and return its report; panics unless it exits 0.
    #[track_caller]
    pub fn check(&mut self, probes: &[&str]) -> Value {
        self.checker_args(probes);
        let out = self.run();
        out.assert_ok();
        out.json()
    }

    /// Write config.json and `create --bundle B ID`; the container's stdio go to
    /// [`Self::ctr_stdout`] / [`Self::ctr_stderr`] (together with create's own output).
    pub fn create(&self) -> Output {
        self.create_with(&[], Spawn::default())
    }

    pub fn create_with(&self, extra: &[&str], mut spawn: Spawn) -> Output {
        self.write_config();
        let b = self.bundle();
        let mut args = vec!["create", "--bundle", b.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(&self.id);
        if spawn.stdout.is_none() {
            spawn.stdout = Some(fs::File::create(self.ctr_stdout()).unwrap());
        }
        if spawn.stderr.is_none() {
            spawn.stderr = Some(fs::File::create(self.ctr_stderr()).unwrap());
        }
        let mut o = self.runtime_with(&args, spawn);
        o.stdout = fs::read_to_string(self.ctr_stdout()).unwrap_or_default();
        o.stderr = fs::read_to_string(self.ctr_stderr()).unwrap_or_default();
        o
    }

    pub fn start(&self) -> Output {
        self.runtime(&["start", &self.id])
    }

    /// `state ID` parsed; panics if the command fails.
    #[track_caller]
    pub fn state(&self) -> Value {
        let o = self.runtime(&["state", &self.id]);
        o.assert_ok();
        serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("state is not JSON ({e}): {o}"))
    }

    pub fn kill(&self, sig: &str) -> Output {
        self.runtime(&["kill", &self.id, sig])
    }

    pub fn delete(&self, force: bool) -> Output {
        if force {
            self.runtime(&["delete", "--force", &self.id])
        } else {
            self.runtime(&["delete", &self.id])
        }
    }

    /// Poll `state` until `status` is reached; panics after `secs`.
    #[track_caller]
    pub fn wait_status(&self, status: &str, secs: u64) -> Value {
        let t = Instant::now();
        loop {
            let o = self.runtime(&["state", &self.id]);
            if o.success() {
                let v: Value = serde_json::from_str(&o.stdout).unwrap_or(Value::Null);
                if v["status"] == status {
                    return v;
                }
                if t.elapsed() > Duration::from_secs(secs) {
                    panic!("container never reached {status}: {v}");
                }
            } else if t.elapsed() > Duration::from_secs(secs) {
                panic!("container never reached {status}: {o}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The container's stdout after create/start (see [`Self::create`]).
    pub fn container_stdout(&self) -> String {
        fs::read_to_string(self.ctr_stdout()).unwrap_or_default()
    }

    /// Whether the state root holds any entry for this container id.
    pub fn has_state_dir(&self) -> bool {
        self.state_root().join(&self.id).exists()
    }

    /// Names in the state root (runc keeps one dir per container).
    pub fn state_entries(&self) -> Vec<String> {
        fs::read_dir(self.state_root())
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.base.is_none() {
            return;
        }
        let _ = self.runtime_with(
            &["delete", "--force", &self.id],
            Spawn {
                timeout: Some(Duration::from_secs(20)),
                ..Default::default()
            },
        );
        if let Some(base) = self.base.take() {
            let path = base.path().to_path_buf();
            // A broken runtime may leave mounts under the bundle in our namespace: detach them
            // first so that removing the tree cannot walk into a bind-mounted host dir.
            unmount_under(&path);
            if std::env::var_os("BERTH_KEEP").is_some() {
                eprintln!("BERTH_KEEP: leaving {}", base.keep().display());
            } else if let Err(e) = base.close() {
                eprintln!("warning: removing {}: {e}", path.display());
            }
        }
    }
}

/// Lazily unmount every mount point at or below `dir` in our mount namespace.
pub fn unmount_under(dir: &Path) {
    let dir = dir.to_string_lossy().into_owned();
    let mi = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<String> = mi
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|p| p == &dir || p.starts_with(&format!("{dir}/")))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        eprintln!("warning: runtime left a mount at {p} in the host namespace; detaching");
        let c = std::ffi::CString::new(p).unwrap();
        // SAFETY: c is a NUL-terminated path.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

/// (st_dev, st_ino) of a path.
pub fn dev_ino(p: &Path) -> (u64, u64) {
    let m = fs::metadata(p).unwrap_or_else(|e| panic!("stat {}: {e}", p.display()));
    (m.dev(), m.ino())
}

/// Inode of one of our own namespaces (`/proc/self/ns/<name>`).
pub fn host_ns(name: &str) -> u64 {
    fs::metadata(format!("/proc/self/ns/{name}")).unwrap().ino()
}

/// Find the mount entry in a checker report whose mount point is `dest`.
pub fn find_mount<'a>(report: &'a Value, dest: &str) -> Option<&'a Value> {
    report["mounts"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["mount_point"] == dest)
}

/// Whether a mount entry has option `opt` (per-mount or superblock options).
pub fn mount_has(m: &Value, opt: &str) -> bool {
    let has = |k: &str| {
        m[k].as_array()
            .map(|a| a.iter().any(|o| o == opt))
            .unwrap_or(false)
    };
    has("options") || has("super_options")
}

/// A short form of a checker report for assertion messages (probes, ids, caps, fds, cwd).
pub fn brief(r: &Value) -> String {
    let mut b = serde_json::Map::new();
    for k in [
        "args", "probes", "uid", "gid", "groups", "cwd", "caps", "fds", "umask", "hostname",
    ] {
        b.insert(k.to_string(), r[k].clone());
    }
    Value::Object(b).to_string()
}

/// The report of probe number `i`.
pub fn probe(report: &Value, i: usize) -> &Value {
    &report["probes"][i]
}

/// Errno of probe `i`, or 0 if it succeeded.
pub fn probe_errno(report: &Value, i: usize) -> i64 {
    let p = probe(report, i);
    if p["ok"] == true {
        0
    } else {
        p["errno"].as_i64().unwrap_or(-1)
    }
}

/// Parse a /proc/self/status capability mask (hex).
pub fn cap_mask(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap_or("ffffffffffffffff"), 16).unwrap()
}

/// Capability names to numbers (those used by the tests).
pub fn cap_bit(name: &str) -> u64 {
    const CAPS: &[&str] = &[
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    let i = CAPS
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("unknown capability {name}"));
    1u64 << i
}

/// Whether the test process itself has `cap` in its effective set.
pub fn host_has_cap(cap: &str) -> bool {
    let st = fs::read_to_string("/proc/self/status").unwrap_or_default();
    st.lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap_or(0) & cap_bit(cap) != 0)
        .unwrap_or(false)
}

/// Mask of a list of capability names.
pub fn caps_mask(names: &[&str]) -> u64 {
    names.iter().map(|n| cap_bit(n)).fold(0, |a, b| a | b)
}

/// Open a path with O_PATH|O_CLOEXEC (for handing to a child as an extra fd).
pub fn open_path(p: &Path) -> OwnedFd {
    fs::File::open(p)
        .unwrap_or_else(|e| panic!("open {}: {e}", p.display()))
        .into()
}

/// A background process the test owns (e.g. `unshare --net sleep`), killed on drop.
pub struct Helper(pub std::process::Child);

impl Helper {
    pub fn spawn(cmd: &mut Command) -> Helper {
        Helper(
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn helper"),
        )
    }
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Read everything from a raw fd until EOF or EIO (a tty master after the slave closes).
pub fn read_to_end_fd(fd: &OwnedFd, limit: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let start = Instant::now();
    let raw = fd.as_raw_fd();
    loop {
        let mut pfd = libc::pollfd {
            fd: raw,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, 100) };
        if r > 0 {
            let mut buf = [0u8; 4096];
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(raw, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        if start.elapsed() > limit {
            break;
        }
    }
    out
}

/// Read a whole file, or "" if missing.
pub fn read_or_empty(p: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = fs::File::open(p) {
        let _ = f.read_to_string(&mut s);
    }
    s
}

/// True on a pure cgroup v2 host (no v1 memory hierarchy).
pub fn cgroup_v2() -> bool {
    !Path::new("/sys/fs/cgroup/memory").is_dir()
}

/// The host file of controller `ctrl` (its v1 hierarchy name) for cgroup
/// `path`: `v1_file` in that hierarchy, or `v2_file` in the unified tree.
pub fn cgroup_file(ctrl: &str, path: &str, v1_file: &str, v2_file: &str) -> PathBuf {
    let rel = path.trim_start_matches('/');
    if cgroup_v2() {
        return Path::new("/sys/fs/cgroup").join(rel).join(v2_file);
    }
    let joined = Path::new("/sys/fs/cgroup").join(match ctrl {
        "cpu" => "cpu,cpuacct",
        other => other,
    });
    let base = if joined.is_dir() {
        joined
    } else {
        Path::new("/sys/fs/cgroup").join(ctrl)
    };
    base.join(rel).join(v1_file)
}

/// A file's contents without surrounding whitespace; panics naming the file.
pub fn read_trim(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

/// Accepts one connection on `listener` and receives one message with an fd
/// (SCM_RIGHTS): what the runtime sends to --console-socket and to a seccomp
/// listenerPath. Returns the message bytes and the fd.
pub fn accept_fd(listener: &std::os::unix::net::UnixListener) -> (Vec<u8>, OwnedFd) {
    use std::os::fd::FromRawFd;
    let (stream, _) = listener.accept().expect("the runtime never connected");
    let mut data = vec![0u8; 65536];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // Room for one fd.
    let mut cmsg = [0u64; 8];
    // SAFETY: msghdr is plain data; every pointer refers to live local buffers.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cmsg) as _;
        let n = libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
        assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
        let c = libc::CMSG_FIRSTHDR(&msg);
        assert!(!c.is_null(), "no fd came with the message");
        assert_eq!((*c).cmsg_level, libc::SOL_SOCKET);
        assert_eq!((*c).cmsg_type, libc::SCM_RIGHTS);
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const i32);
        data.truncate(n as usize);
        (data, OwnedFd::from_raw_fd(fd))
    }
}
