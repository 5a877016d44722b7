//! OCI runtime bundles from images: the image-spec conversion rules (image
//! config -> config.json), users from the rootfs's /etc/passwd and /etc/group,
//! and the build-step config (OWNER: bundle helper).
//!
//! [`spec_from_image`] turns an image config into a [`RunSpec`], the caller
//! adjusts it (hostname, binds, network), [`runtime_config`] renders the
//! config.json Docker/BuildKit would give the process, and [`write_bundle`]
//! puts it in place for the runtime.

mod config;
mod image;
mod user;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use config::{runtime_config, MASKED_PATHS, READONLY_PATHS};
pub use image::{spec_from_image, DEFAULT_PATH, STOP_SIGNAL_ANNOTATION};
pub use user::{resolve_user, ResolvedUser, UserError};

/// How a process's network is set up.
#[derive(Clone, Debug, PartialEq)]
pub enum Network {
    /// A new network namespace (loopback only).
    None,
    /// The host's network namespace.
    Host,
    /// Join the namespace at this path (CNI, later).
    Path(PathBuf),
}

/// A bind mount added to the config.
#[derive(Clone, Debug, PartialEq)]
pub struct Bind {
    pub source: PathBuf,
    pub destination: String,
    pub readonly: bool,
}

/// Everything config.json is made from.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub hostname: String,
    pub network: Network,
    /// The rootfs path as config.json's root.path (absolute).
    pub rootfs: PathBuf,
    pub readonly_rootfs: bool,
    pub binds: Vec<Bind>,
    pub tmpfs: Vec<String>,
    pub caps: Vec<String>,
    /// Apply Docker's default seccomp profile.
    pub seccomp: bool,
    pub terminal: bool,
    pub annotations: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Docker's wording, for an image with neither Entrypoint nor Cmd.
    #[error(
        "no command specified: the image has no Entrypoint or Cmd and no arguments were given"
    )]
    NoCommand,
    #[error(transparent)]
    User(#[from] UserError),
    #[error("{0} is not valid UTF-8 (config.json holds paths as strings)")]
    NotUtf8(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `dir`/config.json for `spec` atomically: a temporary file in
/// `dir`, fsynced, renamed over config.json, then `dir` fsynced, so a
/// runtime never reads a half-written config.
pub fn write_bundle(dir: &Path, spec: &RunSpec) -> Result<(), BundleError> {
    check_utf8(spec)?;
    let text = serde_json::to_vec_pretty(&runtime_config(spec)).map_err(|e| BundleError::Io {
        path: dir.into(),
        source: e.into(),
    })?;
    // Unique per process and call: concurrent writers never share a temp file.
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".config.json.{}.{seq}.tmp", std::process::id()));
    let result = write_synced(&tmp, &text).and_then(|()| {
        let target = dir.join("config.json");
        fs::rename(&tmp, &target).map_err(io_error(&target))
    });
    if result.is_err() {
        // Best effort: the error that matters is the one returned.
        let _ = fs::remove_file(&tmp);
    }
    result?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .map_err(io_error(path))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io_error(path))
}

/// serde_json would write non-UTF-8 paths lossily: refuse them instead.
fn check_utf8(spec: &RunSpec) -> Result<(), BundleError> {
    let paths = std::iter::once(&spec.rootfs).chain(spec.binds.iter().map(|b| &b.source));
    let net = match &spec.network {
        Network::Path(p) => Some(p),
        _ => None,
    };
    match paths.chain(net).find(|p| p.to_str().is_none()) {
        Some(p) => Err(BundleError::NotUtf8(p.clone())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn spec(rootfs: &Path) -> RunSpec {
        RunSpec {
            args: [
                "sh",
                "-c",
                "id -u; id -G; cat /proc/self/status | grep -i seccomp; echo $FOO",
            ]
            .map(String::from)
            .to_vec(),
            env: vec!["PATH=/bin".into(), "FOO=bar".into()],
            cwd: "/".into(),
            uid: 1000,
            gid: 1000,
            additional_gids: vec![2000],
            hostname: "berth-test".into(),
            network: Network::None,
            rootfs: rootfs.to_path_buf(),
            readonly_rootfs: false,
            binds: vec![],
            tmpfs: vec!["/tmp".into()],
            caps: crate::seccomp::DEFAULT_CAPS
                .iter()
                .map(|c| c.to_string())
                .collect(),
            seccomp: true,
            terminal: false,
            annotations: vec![("org.example".into(), "1".into())],
        }
    }

    #[test]
    fn write_bundle_replaces_config_atomically() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("config.json"), "old").unwrap();
        let s = spec(Path::new("/nonexistent/rootfs"));
        write_bundle(dir.path(), &s).unwrap();
        let text = fs::read_to_string(dir.path().join("config.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, runtime_config(&s));
        // Nothing but config.json is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["config.json"]);
        // A missing bundle directory is an error naming the path.
        let err = write_bundle(&dir.path().join("nope"), &s).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn non_utf8_paths_are_refused() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let bad = PathBuf::from(std::ffi::OsStr::from_bytes(b"/r\xff"));
        let err = write_bundle(dir.path(), &spec(&bad)).unwrap_err();
        assert!(matches!(err, BundleError::NotUtf8(_)), "{err}");
        assert!(!dir.path().join("config.json").exists());
    }

    /// A busybox rootfs: sh, id, cat and grep, and the mount points.
    fn busybox_rootfs(dir: &Path) -> std::io::Result<PathBuf> {
        let rootfs = dir.join("rootfs");
        for d in ["bin", "dev", "proc", "sys", "tmp", "etc"] {
            fs::create_dir_all(rootfs.join(d))?;
        }
        fs::copy("/bin/busybox", rootfs.join("bin/busybox"))?;
        for applet in ["sh", "id", "cat", "grep"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))?;
        }
        Ok(rootfs)
    }

    fn on_path(bin: &str) -> bool {
        if bin.contains('/') {
            return Path::new(bin).is_file();
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path).any(|d| d.join(bin).is_file())
    }

    /// Deletes the container when dropped, pass or fail.
    struct Container<'a> {
        runtime: &'a str,
        id: String,
    }

    impl Drop for Container<'_> {
        fn drop(&mut self) {
            let _ = Command::new(self.runtime)
                .args(["delete", "-f", &self.id])
                .stderr(Stdio::null())
                .status();
        }
    }

    /// `runtime run` of the bundle at `dir`; (success, stdout, stderr). With
    /// `unmount_v2`, in a private mount namespace without the cgroup v2 mount.
    fn run(runtime: &str, unmount_v2: bool, dir: &Path) -> (bool, String, String) {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let id = format!("berth-bundle-{}-{nanos}", std::process::id());
        let _guard = Container {
            runtime,
            id: id.clone(),
        };
        let bundle = dir.as_os_str();
        let mut cmd = if unmount_v2 {
            // crun 1.8 still makes unified/ID/cgroup.procs on the tmpfs below
            // the unmounted cgroup2, which is the host's: remove it after.
            let mut c = Command::new("unshare");
            let script = "umount /sys/fs/cgroup/unified || exit 1; \"$@\"; rc=$?; \
                          rm -rf \"/sys/fs/cgroup/unified/$ID\"; exit $rc";
            c.args(["-m", "sh", "-c", script, "sh"]).env("ID", &id);
            c
        } else {
            Command::new("env")
        };
        // timeout: a hung container fails the test instead of stalling it.
        cmd.args(["timeout", "60", runtime, "run", "--bundle"])
            .arg(bundle)
            .arg(&id);
        let result = match cmd.stdin(Stdio::null()).output() {
            Ok(out) => (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ),
            Err(e) => (false, String::new(), e.to_string()),
        };
        if unmount_v2 {
            assert!(
                !hidden_cgroup_left(&id),
                "{runtime} left unified/{id} behind"
            );
        }
        result
    }

    /// Is there a directory for `id` on the host's tmpfs under its cgroup2 mount?
    fn hidden_cgroup_left(id: &str) -> bool {
        let script = "umount /sys/fs/cgroup/unified && test -e \"/sys/fs/cgroup/unified/$ID\"";
        Command::new("unshare")
            .args(["-m", "sh", "-c", script])
            .env("ID", id)
            .status()
            .is_ok_and(|s| s.success())
    }

    fn check_output(runtime: &str, out: &str) {
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.first(), Some(&"1000"), "{runtime}: {out}");
        assert_eq!(lines.get(1), Some(&"1000 2000"), "{runtime}: {out}");
        assert!(lines.contains(&"Seccomp:\t2"), "{runtime}: {out}");
        assert_eq!(lines.last(), Some(&"bar"), "{runtime}: {out}");
    }

    #[test]
    fn runs_under_runc_and_crun() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping: running containers needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let rootfs = busybox_rootfs(dir.path()).unwrap();
        write_bundle(dir.path(), &spec(&rootfs)).unwrap();
        // BERTH_RUNTIME=path/to/runtime adds our own runtime to the check.
        let ours = std::env::var("BERTH_RUNTIME").ok();
        for runtime in ["runc", "crun"].into_iter().chain(ours.as_deref()) {
            if !on_path(runtime) {
                eprintln!("skipping {runtime}: not installed");
                continue;
            }
            let (mut ok, mut out, mut err) = run(runtime, false, dir.path());
            if !ok && err.contains("hybrid mode not supported") {
                // crun refuses hosts whose cgroup v2 hierarchy has controllers
                // next to v1 ones; without the v2 mount (in a private mount
                // namespace only) it runs as on a v1 host.
                eprintln!("{runtime}: cgroup hybrid mode; retrying without /sys/fs/cgroup/unified");
                (ok, out, err) = run(runtime, true, dir.path());
            }
            assert!(ok, "{runtime} failed: {err}\nstdout: {out}");
            check_output(runtime, &out);
            eprintln!("{runtime}: {out:?}");
        }
    }
}
