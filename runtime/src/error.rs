//! The runtime's error type: every variant renders as one line a user can act on.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// config.json (or process.json) is malformed or fails validation.
    #[error("{file}: {msg}")]
    Config { file: PathBuf, msg: String },
    /// A field of the spec has a value we cannot honour.
    #[error("{field}: {msg}")]
    Field { field: String, msg: String },
    #[error("container id {id:?}: {msg}")]
    Id { id: String, msg: String },
    #[error("container {0:?} does not exist")]
    NotFound(String),
    /// state.json is there but unreadable: empty or cut short (a power loss
    /// after an unsynced write) or not ours. `delete --force` removes it.
    #[error("{file}: {msg} (the container's state is unreadable; `delete --force` removes it)")]
    StateFile { file: PathBuf, msg: String },
    #[error("container {0:?} already exists")]
    Exists(String),
    #[error("container {id:?} is {status}: {msg}")]
    BadState {
        id: String,
        status: String,
        msg: String,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{context}: {errno}")]
    Sys { context: String, errno: nix::Error },
    #[error("hook {kind}[{index}] ({path}): {msg}")]
    Hook {
        kind: String,
        index: usize,
        path: String,
        msg: String,
    },
    /// criu is missing or `criu check` fails: `checkpoint`/`restore` refuse
    /// before touching anything.
    #[error("{verb}: criu does not work on this host ({why})")]
    CriuUnavailable { verb: &'static str, why: String },
    /// A criu run failed; `msg` quotes its log.
    #[error("{verb}: criu {action} failed: {msg}")]
    Criu {
        verb: &'static str,
        action: &'static str,
        msg: String,
    },
    #[error("cgroups: {0}")]
    Cgroup(String),
    /// An error reported by the container's init across the sync channel.
    #[error("{0}")]
    Init(String),
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
    pub fn sys(context: impl Into<String>, errno: nix::Error) -> Self {
        Error::Sys {
            context: context.into(),
            errno,
        }
    }
    pub fn field(field: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Field {
            field: field.into(),
            msg: msg.into(),
        }
    }
}

/// Adds a context line to io and nix results.
pub trait Context<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, std::io::Error> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}

impl<T> Context<T> for std::result::Result<T, nix::Error> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::sys(context(), e))
    }
}
