//! A container without a mount namespace of its own shares the host's (the
//! spec: a namespace not listed is the runtime's). As under runc its mounts
//! are made onto the rootfs and it is chrooted there; unlike runc, nothing
//! is left in the host's mount table once it is deleted: create records the
//! mounts that were under the rootfs before, delete detaches every other.

use std::path::{Path, PathBuf};

use nix::mount::{umount2, MntFlags};
use oci_spec::runtime::Spec;

use crate::{Error, Result};

/// What can't be done without a private mount table: each would change the
/// host's view (runc refuses masked and read-only paths the same way).
pub fn check(spec: &Spec) -> Result<()> {
    let need = |field: &str| {
        Error::field(
            field,
            "needs a mount namespace (linux.namespaces has none, so the host's is shared)",
        )
    };
    if let Some(l) = spec.linux() {
        if l.masked_paths().as_ref().is_some_and(|v| !v.is_empty()) {
            return Err(need("linux.maskedPaths"));
        }
        if l.readonly_paths().as_ref().is_some_and(|v| !v.is_empty()) {
            return Err(need("linux.readonlyPaths"));
        }
        if l.rootfs_propagation().is_some() {
            return Err(need("linux.rootfsPropagation"));
        }
    }
    if spec
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly() == Some(true))
    {
        return Err(need("root.readonly"));
    }
    Ok(())
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        });
        match (b[i], oct) {
            (b'\\', Some(c)) => {
                out.push(c);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(out))
}

/// (mount id, mount point) of every mount at or below `rootfs`.
fn mounts_under(rootfs: &Path) -> Vec<(u64, PathBuf)> {
    let root = std::fs::canonicalize(rootfs).unwrap_or_else(|_| rootfs.to_path_buf());
    let info = crate::mountinfo::read().unwrap_or_default();
    info.lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let id = f.next()?.parse().ok()?;
            let mp = unescape(f.nth(3)?);
            mp.starts_with(&root).then_some((id, mp))
        })
        .collect()
}

/// The mounts already under the rootfs (an overlay the builder made, say).
pub fn snapshot(rootfs: &Path) -> Vec<u64> {
    mounts_under(rootfs).into_iter().map(|(id, _)| id).collect()
}

/// Detaches every mount under the rootfs that `before` did not have,
/// deepest first.
pub fn cleanup(rootfs: &Path, before: &[u64]) {
    let mut ours: Vec<PathBuf> = mounts_under(rootfs)
        .into_iter()
        .filter(|(id, _)| !before.contains(id))
        .map(|(_, mp)| mp)
        .collect();
    ours.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for mp in ours {
        let _ = umount2(&mp, MntFlags::MNT_DETACH);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unescapes_mountinfo_paths() {
        assert_eq!(
            super::unescape(r"/tmp/a\040b/c"),
            std::path::PathBuf::from("/tmp/a b/c")
        );
    }
}
