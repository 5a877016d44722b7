//! OCI runtime bundles from images: the image-spec conversion rules (image
//! config -> config.json), users from the rootfs's /etc/passwd and /etc/group,
//! and the build-step config (OWNER: bundle helper).

use std::path::{Path, PathBuf};

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
pub enum UserError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoGroup(String),
    #[error("reading {path} in the rootfs: {source}")]
    Io { path: String, source: std::io::Error },
}

/// uid, gid and supplementary gids of a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: Option<String>,
}

/// Resolves Docker's USER forms (`name`, `uid`, `name:group`, `uid:gid`, empty
/// = root) against `rootfs`'s /etc/passwd and /etc/group, read inside the
/// rootfs (a symlinked /etc cannot point outside).
pub fn resolve_user(_rootfs: &Path, _user: &str) -> Result<ResolvedUser, UserError> {
    Ok(ResolvedUser { uid: 0, gid: 0, additional_gids: vec![], home: None })
}

/// config.json for `spec`.
pub fn runtime_config(_spec: &RunSpec) -> serde_json::Value {
    serde_json::Value::Null
}
