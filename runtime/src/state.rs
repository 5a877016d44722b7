//! Container state on disk: one directory per container under `--root`,
//! holding `state.json` (written atomically), the exec FIFO and a lock.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Hook;
use serde::{Deserialize, Serialize};

use crate::error::Context;
use crate::{Error, Result};

pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What we keep about a container between invocations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    /// Host pid of the container's init; 0 until it exists.
    pub pid: i32,
    /// The init's start time (clock ticks since boot): tells our init from a
    /// later process that reused its pid.
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// True until create has finished; a crash leaves it set for delete --force.
    pub creating: bool,
    /// The cgroup path we created (relative to each hierarchy's root).
    pub cgroup_path: Option<PathBuf>,
    #[serde(default)]
    pub poststop: Vec<Hook>,
    /// The init has its own pid namespace: killing it kills the container.
    #[serde(default)]
    pub own_pidns: bool,
    /// linux.resources as `update` last left them (None: as config.json says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<oci_spec::runtime::LinuxResources>,
    /// In the host's mount namespace (no mount namespace of its own): the
    /// ids of the mounts under the rootfs before create; delete detaches
    /// every other (rootfs::hostns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_mounts: Option<Vec<u64>>,
}

/// The JSON runc's `state` prints (the runtime-spec state plus runc's extras).
#[derive(Serialize)]
pub struct Report<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: Status,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    pub owner: &'a str,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
}

impl State {
    pub fn report(&self, status: Status) -> Report<'_> {
        Report {
            oci_version: crate::spec::OCI_VERSION,
            id: &self.id,
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status,
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            owner: "",
            annotations: &self.annotations,
        }
    }
}

/// Checks a container id the way runc does, so that it is a safe directory name.
pub fn validate_id(id: &str) -> Result<()> {
    let bad = |msg: &str| Error::Id {
        id: id.to_string(),
        msg: msg.to_string(),
    };
    if id.is_empty() {
        return Err(bad("must not be empty"));
    }
    if id.len() > 255 {
        return Err(bad("is longer than 255 bytes"));
    }
    if id == "." || id == ".." {
        return Err(bad("must not be . or .."));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+')))
    {
        return Err(bad(&format!(
            "contains {c:?}; allowed are letters, digits and _ - . +"
        )));
    }
    Ok(())
}

/// A container's directory, locked for the lifetime of this value.
pub struct ContainerDir {
    pub path: PathBuf,
    _lock: File,
}

impl ContainerDir {
    /// Creates the directory for a new container; fails if the id exists.
    pub fn create(root: &Path, id: &str) -> Result<ContainerDir> {
        validate_id(id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(root)
            .ctx(|| format!("state root {}", root.display()))?;
        let path = root.join(id);
        match fs::DirBuilder::new().mode(0o711).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::Exists(id.to_string()))
            }
            Err(e) => return Err(Error::io(format!("state dir {}", path.display()), e)),
        }
        let lock = lock_dir(&path)?;
        Ok(ContainerDir { path, _lock: lock })
    }

    /// Opens and locks an existing container's directory.
    pub fn open(root: &Path, id: &str) -> Result<ContainerDir> {
        validate_id(id)?;
        let path = root.join(id);
        let lock = match lock_dir(&path) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()))
            }
            other => other?,
        };
        if !path.join(STATE_FILE).exists() {
            return Err(Error::NotFound(id.to_string()));
        }
        Ok(ContainerDir { path, _lock: lock })
    }

    pub fn load(&self) -> Result<State> {
        let file = self.path.join(STATE_FILE);
        let data = fs::read(&file).ctx(|| file.display().to_string())?;
        serde_json::from_slice(&data).map_err(|e| Error::StateFile {
            file,
            msg: e.to_string(),
        })
    }

    pub fn save(&self, state: &State) -> Result<()> {
        let data = serde_json::to_vec(state).map_err(|e| Error::Other(e.to_string()))?;
        write_volatile(&self.path.join(STATE_FILE), &data)
    }

    /// In a forked child: let go of the lock without touching the parent's.
    pub fn forget_lock_in_child(&self) {
        // SAFETY: closes our copy of the fd; the File is never dropped in the
        // child, which execs or exits.
        unsafe { libc::close(self._lock.as_raw_fd()) };
    }

    pub fn fifo(&self) -> PathBuf {
        self.path.join(EXEC_FIFO)
    }

    /// Removes the directory; the lock goes with it.
    pub fn remove(self) -> Result<()> {
        fs::remove_dir_all(&self.path).ctx(|| format!("remove {}", self.path.display()))
    }
}

fn lock_dir(path: &Path) -> Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .ctx(|| format!("state dir {}", path.display()))?;
    // Serializes calls on one id; calls on different ids never meet here.
    // SAFETY: flock on an fd we own; the lock lives as long as the File.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    nix::errno::Errno::result(r).ctx(|| format!("lock {}", path.display()))?;
    Ok(f)
}

/// Write to a temp file, fsync, rename: readers see the old or the new file,
/// and after a power loss too.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    write_replacing(path, data, true)
}

/// Write to a temp file and rename, without fsync, for files that describe
/// live processes (state.json, pid files): readers, and a runtime killed
/// midway, still see the old or the new file, and a power loss ends the
/// processes the file describes anyway; runc and crun don't sync them either.
/// The fsync was 1.2 ms of an 11 ms `run` on ext4. A file a power loss left
/// empty is what `delete --force` cleans up (`ContainerDir::load`).
pub fn write_volatile(path: &Path, data: &[u8]) -> Result<()> {
    write_replacing(path, data, false)
}

fn write_replacing(path: &Path, data: &[u8], sync: bool) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(data)?;
        if sync {
            f.sync_all()?;
            return fs::rename(&tmp, path);
        }
        replace_unsynced(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(format!("write {}", path.display()), e)
    })
}

/// Puts `tmp` in place of `path`. Over an existing file by exchanging the
/// two and unlinking the old one: as atomic for readers as a rename, but
/// ext4 (this host's /run) flushes a file renamed over another at once
/// (auto_da_alloc), and a short container's state would reach the disk
/// just to be deleted.
fn replace_unsynced(tmp: &Path, path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap_or_default();
    let (from, to) = (c(tmp), c(path));
    // SAFETY: renameat2 with two NUL-terminated paths relative to the cwd.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        // The new file is in place; a leftover old one goes with the dir.
        let _ = fs::remove_file(tmp);
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        // Nothing to exchange with yet, or a filesystem without exchange.
        Some(libc::ENOENT) | Some(libc::EINVAL) | Some(libc::ENOSYS) => fs::rename(tmp, path),
        _ => Err(e),
    }
}

/// Reads a pid's state letter and start time from /proc/PID/stat.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let data = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may hold spaces and parens: fields start after the last ')'.
    let rest = &data[data.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// Whether the recorded init is still alive (not a zombie, not a reused pid).
pub fn init_alive(state: &State) -> bool {
    if state.pid <= 0 {
        return false;
    }
    match proc_stat(state.pid) {
        Some((s, start)) => start == state.pid_start && s != 'Z' && s != 'X',
        None => false,
    }
}

/// The status as the kernel and the state dir show it now.
pub fn status(dir: &ContainerDir, state: &State) -> Status {
    if !init_alive(state) {
        return if state.creating && state.pid <= 0 {
            Status::Creating
        } else {
            Status::Stopped
        };
    }
    if state.creating {
        return Status::Creating;
    }
    if dir.fifo().exists() {
        return Status::Created;
    }
    if crate::cgroups::is_frozen(state) {
        return Status::Paused;
    }
    Status::Running
}

/// Ids of every container under root, sorted.
pub fn list_ids(root: &Path) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(Error::io(root.display().to_string(), e)),
    };
    for e in entries.flatten() {
        if e.path().join(STATE_FILE).exists() {
            if let Some(name) = e.file_name().to_str() {
                ids.push(name.to_string());
            }
        }
    }
    ids.sort();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(validate_id("web-1_a.b+c").is_ok());
        for bad in ["", ".", "..", "a/b", "../x", "a b", &"x".repeat(256)] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn volatile_writes_replace_and_leave_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("berth-state-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("state.json");
        write_volatile(&f, b"one").unwrap();
        let first = std::fs::metadata(&f).unwrap();
        write_volatile(&f, b"two").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        use std::os::unix::fs::MetadataExt;
        assert_ne!(
            std::fs::metadata(&f).unwrap().ino(),
            first.ino(),
            "not replaced"
        );
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
    }

    #[test]
    fn own_stat_parses() {
        let me = std::process::id() as i32;
        let (s, start) = proc_stat(me).unwrap();
        assert!(s == 'R' || s == 'S');
        assert!(start > 0);
    }
}
