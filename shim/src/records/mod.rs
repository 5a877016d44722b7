//! Container records: one dir per container under `<root>/containers/<id>`,
//! a name index under `<root>/names`, and the lookups every verb starts with
//! (full id, unique id prefix, name).
//!
//! record.json is what the container was made with (written at create and at
//! rename), state.json what it is doing (written by its monitor and by the
//! verbs, under the container's lock). Every write is atomic.

mod files;
mod names;
pub mod state;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use files::{read_json, write_json, Lock};
pub use names::{random_name, valid_name};
pub use state::{State, Status};

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("No such container: {0}")]
    NoSuch(String),
    #[error("multiple containers match the prefix {0}: use more characters of the id")]
    Ambiguous(String),
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameTaken { name: String, id: String },
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    BadName(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not a valid record: {why}")]
    Corrupt { path: PathBuf, why: String },
}

pub type Result<T> = std::result::Result<T, RecordError>;

pub(crate) fn io_at(path: &Path) -> impl FnOnce(io::Error) -> RecordError + '_ {
    move |source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// How a container was made: docker's Config and HostConfig, as inspect
/// shows them, plus where its parts are.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub name: String,
    /// The image as the user named it ("" for --bundle).
    pub image: String,
    /// The image's id (sha256:...), "" for --bundle.
    pub image_id: String,
    /// The process's argv (entrypoint + cmd).
    pub args: Vec<String>,
    pub created: String,
    /// The OCI bundle dir (its config.json is the container's).
    pub bundle: PathBuf,
    /// The overlay mount point when the rootfs is an image's layers.
    pub rootfs_mount: Option<PathBuf>,
    /// The image store the layers come from.
    pub store: PathBuf,
    pub config: Config,
    pub host: HostConfig,
}

/// docker inspect's Config.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Config {
    pub hostname: String,
    pub domainname: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub stdin_once: bool,
    pub on_build: Option<Vec<String>>,
    pub user: String,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub entrypoint: Vec<String>,
    pub working_dir: String,
    pub tty: bool,
    pub open_stdin: bool,
    pub labels: std::collections::BTreeMap<String, String>,
    pub stop_signal: String,
    pub stop_timeout: u64,
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub image: String,
}

/// docker inspect's HostConfig (the parts this shim knows).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    pub binds: Vec<String>,
    pub network_mode: String,
    pub restart_policy: RestartPolicy,
    pub auto_remove: bool,
    pub log_config: LogConfig,
    pub privileged: bool,
    pub readonly_rootfs: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub init: bool,
    pub memory: i64,
    pub memory_swap: i64,
    pub cpu_shares: u64,
    pub nano_cpus: i64,
    pub cpuset_cpus: String,
    pub pids_limit: i64,
    pub ulimits: Vec<String>,
    pub devices: Vec<String>,
    pub security_opt: Vec<String>,
    pub runtime: String,
    #[serde(rename = "ContainerIDFile", default)]
    pub container_id_file: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    /// "no", "always", "unless-stopped", "on-failure".
    pub name: String,
    pub maximum_retry_count: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LogConfig {
    /// "k8s-file", "json-file" or "none".
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Config")]
    pub opts: std::collections::BTreeMap<String, String>,
}

impl Record {
    /// The container's log file: `--log-opt path=` or ctr.log in its dir.
    pub fn log_path(&self, dir: &Path) -> PathBuf {
        match self.host.log_config.opts.get("path") {
            Some(p) => PathBuf::from(p),
            None => dir.join("ctr.log"),
        }
    }
}

/// The shim's root: where records, names and logs live.
#[derive(Clone, Debug)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    pub fn open(dir: &Path) -> Result<Root> {
        let root = Root {
            dir: dir.to_path_buf(),
        };
        for d in [root.containers(), root.names()] {
            fs::create_dir_all(&d).map_err(io_at(&d))?;
        }
        Ok(root)
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
    fn containers(&self) -> PathBuf {
        self.dir.join("containers")
    }
    fn names(&self) -> PathBuf {
        self.dir.join("names")
    }

    /// The dir of container `id`.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.containers().join(id)
    }

    /// Every container's id, in no order.
    pub fn ids(&self) -> Result<Vec<String>> {
        let dir = self.containers();
        let mut ids = Vec::new();
        for e in fs::read_dir(&dir).map_err(io_at(&dir))? {
            let e = e.map_err(io_at(&dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if is_id(&name) {
                ids.push(name);
            }
        }
        Ok(ids)
    }

    /// A fresh 64-hex-digit id that no container has.
    pub fn new_id(&self) -> Result<String> {
        loop {
            let id = random_hex(32).map_err(io_at(Path::new("/dev/urandom")))?;
            // Docker skips ids that read as numbers: a prefix must not look
            // like a pid or an exit code in scripts.
            if id.bytes().all(|b| b.is_ascii_digit()) || self.dir(&id).exists() {
                continue;
            }
            return Ok(id);
        }
    }

    /// The id `what` names: a full id, a name, or a unique id prefix (a
    /// name wins over a prefix, as in docker).
    pub fn resolve(&self, what: &str) -> Result<String> {
        let what = what.strip_prefix('/').unwrap_or(what);
        if is_id(what) && self.dir(what).join("record.json").exists() {
            return Ok(what.to_string());
        }
        if let Some(id) = self.name_owner(what)? {
            if self.dir(&id).join("record.json").exists() {
                return Ok(id);
            }
        }
        if what.is_empty() || !what.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RecordError::NoSuch(what.into()));
        }
        let what_lower = what.to_ascii_lowercase();
        let mut found = self
            .ids()?
            .into_iter()
            .filter(|id| id.starts_with(&what_lower));
        match (found.next(), found.next()) {
            (Some(id), None) => Ok(id),
            (Some(_), Some(_)) => Err(RecordError::Ambiguous(what.into())),
            _ => Err(RecordError::NoSuch(what.into())),
        }
    }

    pub fn record(&self, id: &str) -> Result<Record> {
        read_json(&self.dir(id).join("record.json"))
    }

    pub fn write_record(&self, r: &Record) -> Result<()> {
        write_json(&self.dir(&r.id).join("record.json"), r)
    }

    /// The container's state, as written (see `state::observe` for what it
    /// is now).
    pub fn state(&self, id: &str) -> Result<State> {
        read_json(&self.dir(id).join("state.json"))
    }

    pub fn write_state(&self, id: &str, s: &State) -> Result<()> {
        write_json(&self.dir(id).join("state.json"), s)
    }

    /// Takes the container's lock (every read-modify-write of its state).
    pub fn lock(&self, id: &str) -> Result<Lock> {
        Lock::exclusive(&self.dir(id).join("lock"))
    }

    /// Changes the state under the lock.
    pub fn update_state(&self, id: &str, change: impl FnOnce(&mut State)) -> Result<State> {
        let _held = self.lock(id)?;
        let mut s = self.state(id)?;
        change(&mut s);
        self.write_state(id, &s)?;
        Ok(s)
    }

    /// Whether the container's monitor is alive: it holds monitor.lock for
    /// its whole life, so a free lock means it is gone (even after kill -9,
    /// and without pid reuse to fool us).
    pub fn monitor_alive(&self, id: &str) -> bool {
        let path = self.dir(id).join("monitor.lock");
        match Lock::try_exclusive(&path) {
            Ok(Some(_)) | Err(_) => false,
            Ok(None) => true,
        }
    }

    /// Waits up to `limit` for the monitor to end (a monitor that recorded
    /// the exit still runs `runtime delete` and flushes its clients): true
    /// when none is alive then. The wait is a blocking flock on a thread of
    /// its own, so it wakes when the lock is freed, not on a poll.
    pub fn wait_monitor_end(&self, id: &str, limit: std::time::Duration) -> bool {
        if !self.monitor_alive(id) {
            return true;
        }
        let path = self.dir(id).join("monitor.lock");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Dropped before the answer: our own lock must not look like a
            // monitor to the check below.
            drop(Lock::exclusive(&path));
            let _ = tx.send(());
        });
        let _ = rx.recv_timeout(limit);
        !self.monitor_alive(id)
    }

    /// Every record with its observed state; unreadable ones (a container
    /// being made or removed this instant) are skipped.
    pub fn all(&self) -> Result<Vec<(Record, State)>> {
        let mut out = Vec::new();
        for id in self.ids()? {
            let (Ok(r), Ok(s)) = (self.record(&id), self.state(&id)) else {
                continue;
            };
            let s = state::observe(self, &id, s);
            out.push((r, s));
        }
        Ok(out)
    }

    fn name_path(&self, name: &str) -> PathBuf {
        self.names().join(name)
    }

    /// The id holding `name`, if any.
    pub fn name_owner(&self, name: &str) -> Result<Option<String>> {
        if !valid_name(name) {
            return Ok(None);
        }
        let p = self.name_path(name);
        match fs::read_to_string(&p) {
            Ok(id) => Ok(Some(id.trim().to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_at(&p)(e)),
        }
    }

    /// Claims `name` for `id`: exactly one of two racing claims wins
    /// (the name file is made with O_EXCL after its content is written).
    pub fn claim_name(&self, name: &str, id: &str) -> Result<()> {
        if !valid_name(name) {
            return Err(RecordError::BadName(name.into()));
        }
        let p = self.name_path(name);
        match files::create_exclusive(&p, id.as_bytes()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let owner = self.name_owner(name)?.unwrap_or_default();
                // A name left by a container that is gone (crash between
                // removing its dir and its name) is free again.
                if !owner.is_empty() && !self.dir(&owner).exists() {
                    let _ = fs::remove_file(&p);
                    return self.claim_name(name, id);
                }
                Err(RecordError::NameTaken {
                    name: name.into(),
                    id: owner,
                })
            }
            Err(e) => Err(io_at(&p)(e)),
        }
    }

    /// Gives `name` back (only if `id` holds it).
    pub fn release_name(&self, name: &str, id: &str) {
        if self.name_owner(name).ok().flatten().as_deref() == Some(id) {
            let _ = fs::remove_file(self.name_path(name));
        }
    }

    /// A random docker-style name nobody holds, claimed for `id`.
    pub fn claim_random_name(&self, id: &str) -> Result<String> {
        for attempt in 0..64 {
            let name = random_name(attempt >= 8);
            match self.claim_name(&name, id) {
                Ok(()) => return Ok(name),
                Err(RecordError::NameTaken { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(RecordError::NameTaken {
            name: "(random)".into(),
            id: String::new(),
        })
    }
}

/// The name a container's hold on its image's layers goes by in the store.
pub fn holder(id: &str) -> String {
    format!("container-{id}")
}

pub fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> io::Result<String> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        // SAFETY: getrandom writes at most n - got bytes into the buffer.
        let r = unsafe { libc::getrandom(buf[got..].as_mut_ptr().cast(), n - got, 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        got += r as usize;
    }
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_resolve_by_name_full_id_and_unique_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::open(dir.path()).unwrap();
        let a = format!("ab{}", "0".repeat(62));
        let b = format!("ac{}", "1".repeat(62));
        for (id, name) in [(&a, "web"), (&b, "db")] {
            fs::create_dir_all(root.dir(id)).unwrap();
            root.write_record(&Record {
                id: id.clone(),
                name: name.into(),
                ..Default::default()
            })
            .unwrap();
            root.claim_name(name, id).unwrap();
        }
        assert_eq!(root.resolve("web").unwrap(), a);
        assert_eq!(root.resolve("/db").unwrap(), b);
        assert_eq!(root.resolve(&a).unwrap(), a);
        assert_eq!(root.resolve("ab").unwrap(), a);
        assert!(matches!(root.resolve("a"), Err(RecordError::Ambiguous(_))));
        assert!(matches!(root.resolve("ff"), Err(RecordError::NoSuch(_))));
        assert!(matches!(root.resolve("nope"), Err(RecordError::NoSuch(_))));
        let err = root.claim_name("web", &b).unwrap_err();
        assert!(err.to_string().contains("already in use"), "{err}");
        assert!(matches!(
            root.claim_name("-bad", &b),
            Err(RecordError::BadName(_))
        ));
        // A name whose owner is gone is free again.
        fs::remove_dir_all(root.dir(&a)).unwrap();
        root.claim_name("web", &b).unwrap();
        assert_eq!(root.name_owner("web").unwrap().as_deref(), Some(b.as_str()));
    }

    #[test]
    fn new_ids_are_64_hex_and_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::open(dir.path()).unwrap();
        let x = root.new_id().unwrap();
        assert!(is_id(&x), "{x}");
        assert_ne!(x, root.new_id().unwrap());
    }
}
