//! Container logs: the monitor's writer (Kubernetes CRI lines by default,
//! docker's json-file as an option, rotation at max-size keeping max-file
//! files) and the reader behind `logs` (tail, since/until, timestamps,
//! follow across rotations).

mod format;
mod reader;
mod writer;

#[cfg(test)]
pub use format::parse_line;
pub use format::{Entry, Stream};
pub use reader::{read_all, Follow, ReadOptions};
pub use writer::{Driver, LogWriter};

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("invalid log option {0}: {1}")]
    BadOption(String, String),
    #[error("unknown log driver {0:?} (k8s-file, json-file or none)")]
    BadDriver(String),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Rotation settings from `--log-opt max-size=N,max-file=N`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rotation {
    pub max_size: Option<u64>,
    pub max_file: u32,
}

impl Rotation {
    pub fn from_opts(
        opts: &std::collections::BTreeMap<String, String>,
    ) -> Result<Rotation, LogError> {
        let mut r = Rotation {
            max_size: None,
            max_file: 1,
        };
        for (k, v) in opts {
            let bad = || LogError::BadOption(format!("{k}={v}"), "not a size".into());
            match k.as_str() {
                "max-size" => {
                    let n = crate::options::parse_bytes(v).map_err(|_| bad())?;
                    if n == 0 {
                        return Err(bad());
                    }
                    r.max_size = Some(n);
                }
                "max-file" => {
                    r.max_file = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        LogError::BadOption(format!("{k}={v}"), "must be a number >= 1".into())
                    })?;
                }
                // Where the log goes (podman's option); checked in run.
                "path" => {}
                "mode" if v == "blocking" || v == "non-blocking" => {}
                _ => return Err(LogError::BadOption(k.clone(), "unknown option".into())),
            }
        }
        Ok(r)
    }
}
