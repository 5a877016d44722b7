//! Shared by the shim's tests: a shim root and an image store of the test's
//! own (a busybox image made FROM scratch, imported), the built `shim`
//! binary, the runtime it drives, and cleanup that runs pass or fail.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn shim_bin() -> &'static str {
    env!("CARGO_BIN_EXE_shim")
}

/// $BERTH_RUNTIME (make exports the static one), else the workspace's build.
pub fn runtime() -> PathBuf {
    if let Some(p) = std::env::var_os("BERTH_RUNTIME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    Path::new(shim_bin()).with_file_name("runtime")
}

pub fn busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Whether containers can run here (root and busybox); tests skip if not.
pub fn can_run() -> bool {
    let ok = nix::unistd::geteuid().is_root() && busybox().is_some();
    if !ok {
        eprintln!("skipping: needs root and busybox-static");
    }
    ok
}

pub struct Env {
    pub dir: tempfile::TempDir,
}

const APPLETS: &[&str] = &[
    "sh", "echo", "cat", "sleep", "ls", "id", "env", "hostname", "seq", "yes", "true", "false",
    "head", "wc", "ps", "dd", "touch", "kill", "trap", "printf", "pwd", "tail", "mkdir", "rm",
    "grep", "tr", "stty", "test", "[", "whoami", "awk",
];

impl Env {
    /// A fresh root and store with `bb:latest` (busybox, CMD sh) in it.
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("berth-shim-")
            .tempdir()
            .expect("tempdir");
        let rootfs = dir.path().join("image-rootfs");
        for d in ["bin", "etc", "tmp"] {
            fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        fs::copy(busybox().expect("busybox"), rootfs.join("bin/busybox")).unwrap();
        for a in APPLETS {
            symlink("busybox", rootfs.join("bin").join(a)).unwrap();
        }
        fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n",
        )
        .unwrap();
        fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
        let store = berth_builder::store::Store::open(&dir.path().join("store")).unwrap();
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .args(["-cf", "-", "."])
            .stdout(Stdio::piped())
            .spawn()
            .expect("tar");
        let mut out = tar.stdout.take().unwrap();
        berth_builder::archive::import(
            &store,
            &mut out,
            &["bb:latest".to_string()],
            "test",
            &["CMD [\"sh\"]".to_string()],
        )
        .expect("import the test image");
        assert!(tar.wait().unwrap().success());
        Env { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(shim_bin());
        c.arg("--root")
            .arg(self.root())
            .arg("--store")
            .arg(self.store())
            .arg("--runtime")
            .arg(runtime());
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run shim")
    }

    /// `shim ARGS` that must succeed: its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "shim {args:?} failed:\n{}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `shim ARGS` that must fail: its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "shim {args:?} succeeded:\n{}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `run -d ARGS`: the new container's id.
    pub fn run_d(&self, args: &[&str]) -> String {
        let mut all = vec!["run", "-d"];
        all.extend_from_slice(args);
        let id = self.ok(&all).trim().to_string();
        assert_eq!(id.len(), 64, "{id}");
        id
    }

    pub fn inspect(&self, name: &str, format: &str) -> String {
        self.ok(&["inspect", "-f", format, name]).trim().to_string()
    }

    /// Waits until `cond` holds (checked every 10 ms), at most `secs`.
    pub fn until(&self, secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
        let end = Instant::now() + Duration::from_secs(secs);
        while !cond() {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn status(&self, name: &str) -> String {
        self.inspect(name, "{{.State.Status}}")
    }

    pub fn ids(&self) -> Vec<String> {
        fs::read_dir(self.root().join("containers"))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Mounts under this test's dir.
    pub fn mounts(&self) -> Vec<String> {
        let base = self.dir.path().to_string_lossy().into_owned();
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(String::from))
            .filter(|m| m.starts_with(&base))
            .collect()
    }

    /// Cgroups the shim's runtime made for this test's containers.
    pub fn cgroups(&self) -> Vec<String> {
        self.ids()
            .iter()
            .map(|id| format!("/sys/fs/cgroup/memory/berth/{id}"))
            .filter(|p| Path::new(p).exists())
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for id in self.ids() {
            let _ = self.cmd().args(["rm", "-f", &id]).output();
        }
        for m in self.mounts() {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
