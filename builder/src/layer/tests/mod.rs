//! Tests on real files as root: real mknod, xattrs, chown.

mod determinism;
mod flat;
mod hostile;
mod overlay;
mod roundtrip;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use super::*;

pub(super) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub(super) fn mknod(p: &Path, kind: libc::mode_t, mode: u32, major: u32, minor: u32) {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: c is a NUL-terminated path.
    let r = unsafe { libc::mknod(c.as_ptr(), kind | mode, libc::makedev(major, minor)) };
    assert_eq!(r, 0, "mknod {p:?}: {}", std::io::Error::last_os_error());
}

pub(super) fn setx(p: &Path, name: &str, value: &[u8]) {
    xattr::set(p, name.as_bytes(), value)
        .unwrap_or_else(|e| panic!("setxattr {name} on {p:?}: {e}"));
}

pub(super) fn getx(p: &Path, name: &str) -> Option<Vec<u8>> {
    xattr::get(p, name.as_bytes()).unwrap()
}

pub(super) fn write(p: &Path, data: &[u8]) {
    if let Some(d) = p.parent() {
        fs::create_dir_all(d).unwrap();
    }
    fs::write(p, data).unwrap();
}

pub(super) fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

pub(super) fn lchown(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid)).unwrap();
}

/// A layer tar of `upper`, uncompressed unless told.
pub(super) fn layer(
    upper: &Path,
    compression: Compression,
    epoch: Option<i64>,
) -> (Vec<u8>, Written) {
    let mut out = Vec::new();
    let w = write_layer(upper, &mut out, &WriteOptions { compression, epoch }).unwrap();
    (out, w)
}

pub(super) fn apply(blob: &[u8], target: &Path, mode: ApplyMode) -> Result<Applied, LayerError> {
    apply_layer(&mut &blob[..], target, mode, &Limits::default())
}

/// Everything observable about one path (not its inode number).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Seen {
    kind: &'static str,
    mode: u32,
    uid: u32,
    gid: u32,
    rdev: u64,
    mtime: i64,
    link: Option<Vec<u8>>,
    data: Option<Vec<u8>>,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

pub(super) fn seen(p: &Path) -> Seen {
    let md = fs::symlink_metadata(p).unwrap();
    let ft = md.file_type();
    let kind = match () {
        _ if ft.is_dir() => "dir",
        _ if ft.is_file() => "file",
        _ if ft.is_symlink() => "symlink",
        _ if ft.is_char_device() => "char",
        _ if ft.is_block_device() => "block",
        _ if ft.is_fifo() => "fifo",
        _ => "other",
    };
    let mut xattrs = Vec::new();
    for n in xattr::list(p).unwrap() {
        let v = xattr::get(p, &n).unwrap().unwrap();
        xattrs.push((n, v));
    }
    Seen {
        kind,
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        rdev: if ft.is_char_device() || ft.is_block_device() {
            md.rdev()
        } else {
            0
        },
        mtime: md.mtime(),
        link: ft
            .is_symlink()
            .then(|| fs::read_link(p).unwrap().as_os_str().as_bytes().to_vec()),
        data: ft.is_file().then(|| {
            let mut v = Vec::new();
            fs::File::open(p).unwrap().read_to_end(&mut v).unwrap();
            v
        }),
        xattrs,
    }
}

/// Every path under `root` (relative) -> what is seen there.
pub(super) fn tree(root: &Path) -> BTreeMap<String, Seen> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                stack.push(p.clone());
            }
            out.insert(rel, seen(&p));
        }
    }
    out
}

pub(super) fn has_tool(name: &str) -> bool {
    std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok()
}
