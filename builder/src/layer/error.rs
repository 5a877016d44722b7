//! The layer module's one error type. Every variant names what it is about:
//! the tar entry (as written in the tar, lossily decoded) or the source file.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// A filesystem or stream operation on behalf of one tar entry failed.
    #[error("layer entry {entry:?}: {op}: {source}")]
    Entry {
        entry: String,
        op: &'static str,
        source: io::Error,
    },

    /// `..` components that would climb above the layer root.
    #[error("layer entry {entry:?}: path escapes the layer root")]
    Escape { entry: String },

    /// A hardlink's target escapes the root or is not (yet) there.
    #[error("layer entry {entry:?}: hardlink target {target:?}: {why}")]
    Hardlink {
        entry: String,
        target: String,
        why: String,
    },

    /// An entry the applier refuses: unknown type, bad whiteout name, ...
    #[error("layer entry {entry:?}: {why}")]
    Invalid { entry: String, why: String },

    /// One of the `Limits` was crossed.
    #[error("layer entry {entry:?}: exceeds the limit on {what} ({limit})")]
    Limit {
        entry: String,
        what: &'static str,
        limit: u64,
    },

    /// The tar stream itself is malformed; names the entry before it
    /// (`after` is `entry "NAME"` or `the start of the stream`).
    #[error("layer tar at byte {offset} (after {after}): {why}")]
    Malformed {
        offset: u64,
        after: String,
        why: String,
    },

    /// Reading a file of the upper dir while writing a layer.
    #[error("layer source {path:?}: {op}: {source}")]
    Source {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },

    /// Writing (compressing) the blob, or a failure of the pipeline itself.
    #[error("layer blob {what}: {source}")]
    Blob {
        what: &'static str,
        source: io::Error,
    },
}

impl LayerError {
    pub(crate) fn entry(entry: &str, op: &'static str, source: io::Error) -> Self {
        LayerError::Entry {
            entry: entry.to_string(),
            op,
            source,
        }
    }
    pub(crate) fn invalid(entry: &str, why: impl Into<String>) -> Self {
        LayerError::Invalid {
            entry: entry.to_string(),
            why: why.into(),
        }
    }
    pub(crate) fn source(path: &std::path::Path, op: &'static str, source: io::Error) -> Self {
        LayerError::Source {
            path: path.to_path_buf(),
            op,
            source,
        }
    }
}

/// pathrs errors as io::Error: the errno's kind, and pathrs' whole chain
/// of messages (its top one alone says little: "openat2 subpath failed").
pub(crate) fn pathrs_io(e: pathrs::error::Error) -> io::Error {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        let m = s.to_string();
        if !msg.contains(&m) {
            msg = format!("{msg}: {m}");
        }
        src = s.source();
    }
    match e.kind() {
        pathrs::error::ErrorKind::OsError(Some(n)) => {
            io::Error::new(io::Error::from_raw_os_error(n).kind(), msg)
        }
        _ => io::Error::other(msg),
    }
}

/// The errno behind a pathrs error, if there is one: its kind's, else the
/// first io::Error with an errno down its source chain (some of pathrs'
/// wrapped syscall errors report no errno in their kind).
pub(crate) fn pathrs_errno(e: &pathrs::error::Error) -> Option<i32> {
    if let pathrs::error::ErrorKind::OsError(Some(n)) = e.kind() {
        return Some(n);
    }
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(n) = s
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error)
        {
            return Some(n);
        }
        src = s.source();
    }
    None
}

/// The error a budgeted reader returns once the stream passes `max_bytes`.
#[derive(Debug, thiserror::Error)]
#[error("the uncompressed layer is larger than {0} bytes")]
pub(crate) struct OverBudget(pub u64);

/// The byte limit, when `e` is an OverBudget.
pub(crate) fn over_budget(e: &io::Error) -> Option<u64> {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<OverBudget>())
        .map(|b| b.0)
}
