//! Lexical cleaning of tar entry names, as Docker does (`filepath.Clean` of
//! the name joined under the root): a leading `/` is dropped, `.` and empty
//! components vanish, `..` pops a component, and a `..` with nothing left to
//! pop would climb out of the root: refused.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// A cleaned, relative entry path: its components, none empty, `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Clean(Vec<Vec<u8>>);

impl Clean {
    /// `None` when the name climbs above the root.
    pub(crate) fn new(raw: &[u8]) -> Option<Clean> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        for c in raw.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    parts.pop()?;
                }
                _ => parts.push(c.to_vec()),
            }
        }
        Some(Clean(parts))
    }

    /// The last component (the entry's own name), if not the root.
    pub(crate) fn name(&self) -> Option<&OsStr> {
        self.0.last().map(|n| OsStr::from_bytes(n))
    }

    /// The path of the parent directory, relative to the root.
    pub(crate) fn parent(&self) -> PathBuf {
        let n = self.0.len().saturating_sub(1);
        join(&self.0[..n])
    }

    /// The whole path, relative to the root ("." for the root).
    pub(crate) fn path(&self) -> PathBuf {
        join(&self.0)
    }

    /// The same path with its last component replaced by `name`.
    pub(crate) fn with_name(&self, name: &[u8]) -> Clean {
        let mut v = self.0.clone();
        v.pop();
        v.push(name.to_vec());
        Clean(v)
    }
}

fn join(parts: &[Vec<u8>]) -> PathBuf {
    if parts.is_empty() {
        return PathBuf::from(".");
    }
    let mut p = PathBuf::new();
    for c in parts {
        p.push(OsStr::from_bytes(c));
    }
    p
}

/// How an entry is named in errors: its raw tar name, lossily decoded.
pub(crate) fn display(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning() {
        let c = |s: &str| Clean::new(s.as_bytes()).map(|c| c.path());
        assert_eq!(c("/etc/x"), Some("etc/x".into()));
        assert_eq!(c("./a//b/./c/"), Some("a/b/c".into()));
        assert_eq!(c("a/../x"), Some("x".into()));
        assert_eq!(c("./"), Some(".".into()));
        assert_eq!(c("../x"), None);
        assert_eq!(c("a/../../x"), None);
        assert_eq!(c("/.."), None);
        let x = Clean::new(b"a/b/c").unwrap();
        assert_eq!(x.parent(), PathBuf::from("a/b"));
        assert_eq!(x.name().unwrap(), "c");
        assert_eq!(x.with_name(b"d").path(), PathBuf::from("a/b/d"));
    }
}
