//! apply_layer: a (hostile) layer tar into a directory, hardened.
//!
//! Every path is cleaned lexically first (a leading `/` dropped, a `..`
//! that would climb out refused), then resolved by pathrs in a Root on the
//! target (openat2 RESOLVE_IN_ROOT): symlinks planted by earlier entries
//! resolve as if the target were `/`, so `a -> /` then `a/etc/x` lands in
//! target/etc/x. The final component is then handled by fsops on the
//! parent's handle, never following a symlink there (one is replaced).

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::Permissions;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::sys::stat::SFlag;
use pathrs::{Handle, Root};

use crate::digest::{Digest, HashReader};

use super::compress::decompress;
use super::error::{over_budget, pathrs_errno, pathrs_io, LayerError, OverBudget};
use super::fsops::{self, At};
use super::path::{display, Clean};
use super::tarread::{after, Header, Kind, Reader, Time};
use super::whiteout::{self, is_overlay_xattr, Marker};
use super::xattr;

/// How whiteouts are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// The target becomes an overlayfs lower dir: `.wh.NAME` becomes a char
    /// device 0:0 at NAME, `.wh..wh..opq` the xattr
    /// trusted.overlay.opaque=y on its dir.
    Overlay,
    /// One merged rootfs (unpacking an image, ADD of a tar): `.wh.NAME`
    /// deletes NAME, `.wh..wh..opq` deletes what the dir held before this
    /// layer (this layer's own entries there stay, as with Docker).
    Flat,
}

/// Bounds on a hostile layer.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Tar entries (whiteouts included).
    pub max_entries: u64,
    /// Bytes of the uncompressed tar stream.
    pub max_bytes: u64,
    /// Bytes of an entry's name or link target, as written in the tar.
    pub max_path_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 10_000_000,
            max_bytes: 1 << 40,
            max_path_len: 4096,
        }
    }
}

/// What apply_layer applied.
#[derive(Debug, Clone)]
pub struct Applied {
    /// sha256 of the whole uncompressed stream, read to its EOF.
    pub diff_id: Digest,
    pub entries: u64,
    /// Bytes of the uncompressed stream.
    pub bytes: u64,
}

/// Applies a layer tar (gzip/zstd/bzip2/xz/plain, sniffed by magic) read
/// from `input` into the existing directory `target`.
///
/// Nothing is ever created, written or removed outside `target`. On error
/// `target` is left half-applied: the caller deletes it.
pub fn apply_layer(
    input: &mut dyn Read,
    target: &Path,
    mode: ApplyMode,
    limits: &Limits,
) -> Result<Applied, LayerError> {
    let root = Root::open(target)
        .map_err(|e| LayerError::source(target, "opening the target", pathrs_io(e)))?;
    let stream = decompress(Box::new(input)).map_err(|source| LayerError::Blob {
        what: "decompressing",
        source,
    })?;
    let budget = Budget {
        inner: stream,
        left: limits.max_bytes,
        limit: limits.max_bytes,
    };
    let mut rd = Reader::new(HashReader::new(budget), limits.max_path_len);
    let mut ap = Applier {
        root,
        mode,
        limits,
        entries: 0,
        unpacked: HashSet::new(),
        dirs: Vec::new(),
    };
    let mut last = String::new();
    while let Some(h) = rd.next()? {
        last = display(&h.path);
        ap.entry(&h, &mut rd)?;
    }
    ap.dir_times()?;
    let offset = rd.pos();
    let mut rest = rd.into_inner();
    // The diff_id is of the whole stream: the zero blocks and whatever
    // padding follows them.
    io::copy(&mut rest, &mut io::sink()).map_err(|e| match over_budget(&e) {
        Some(limit) => LayerError::Limit {
            entry: last.clone(),
            what: "uncompressed bytes",
            limit,
        },
        None => LayerError::Malformed {
            offset,
            after: after(&last),
            why: format!("reading the stream's end: {e}"),
        },
    })?;
    let (diff_id, bytes) = rest.finish();
    Ok(Applied {
        diff_id,
        entries: ap.entries,
        bytes,
    })
}

/// Fails the read once more than `limit` bytes came through.
struct Budget<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self
            .left
            .checked_sub(n as u64)
            .ok_or_else(|| io::Error::other(OverBudget(self.limit)))?;
        Ok(n)
    }
}

pub(super) struct Applier<'a> {
    pub(super) root: Root,
    pub(super) mode: ApplyMode,
    limits: &'a Limits,
    entries: u64,
    /// Flat mode: every path this layer made, and their parents; an opaque
    /// marker keeps these.
    pub(super) unpacked: HashSet<PathBuf>,
    /// Dirs' times, set last: adding children changes a dir's mtime.
    dirs: Vec<(PathBuf, OsString, Time, Time)>,
}

impl Applier<'_> {
    fn entry<R: Read>(&mut self, h: &Header, rd: &mut Reader<R>) -> Result<(), LayerError> {
        let name = display(&h.path);
        self.check_limits(&name, h, rd.pos())?;
        let clean = Clean::new(&h.path).ok_or_else(|| LayerError::Escape {
            entry: name.clone(),
        })?;
        let Some(base) = clean.name() else {
            // "./": Docker leaves the root as it is.
            return match h.kind {
                Kind::Dir => Ok(()),
                _ => Err(LayerError::invalid(
                    &name,
                    "only a directory can be the layer root",
                )),
            };
        };
        match whiteout::marker(base.as_bytes()) {
            Marker::Opaque => return self.opaque(&name, &clean),
            Marker::Delete(n) => return self.delete(&name, &clean, n, h),
            Marker::Meta => return Ok(()),
            Marker::None => {}
        }
        let dir = self.parent(&name, &clean)?;
        let at = At {
            dir: dir.as_fd().as_raw_fd(),
            name: base,
        };
        if h.kind == Kind::Hardlink {
            self.hardlink(&name, &clean, &at, h)?;
        } else {
            self.clear(&name, &clean, &at, h.kind == Kind::Dir)?;
            self.create(&name, &clean, &at, h, rd)?;
        }
        self.mark(&clean);
        Ok(())
    }

    fn check_limits(&mut self, name: &str, h: &Header, pos: u64) -> Result<(), LayerError> {
        let limit = |what, limit| {
            Err(LayerError::Limit {
                entry: name.to_string(),
                what,
                limit,
            })
        };
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return limit("entries", self.limits.max_entries);
        }
        let max_path = self.limits.max_path_len;
        if h.path.len() > max_path || h.link.len() > max_path {
            return limit("path length", max_path as u64);
        }
        // Refused before a byte is written, not once the disk is full.
        if h.size > self.limits.max_bytes.saturating_sub(pos) {
            return limit("uncompressed bytes", self.limits.max_bytes);
        }
        Ok(())
    }

    /// The entry's parent dir, made (0755, as Docker) where missing.
    pub(super) fn parent(&self, name: &str, clean: &Clean) -> Result<Handle, LayerError> {
        self.root
            .mkdir_all(clean.parent(), &Permissions::from_mode(0o755))
            .map_err(|e| LayerError::entry(name, "making its parent directories", pathrs_io(e)))
    }

    /// Removes what is at the entry's path, except a dir that a dir entry
    /// keeps.
    pub(super) fn clear(
        &self,
        name: &str,
        clean: &Clean,
        at: &At<'_>,
        keep_dir: bool,
    ) -> Result<(), LayerError> {
        let st = at.stat().map_err(|e| LayerError::entry(name, "lstat", e))?;
        match st {
            None => Ok(()),
            Some(st)
                if keep_dir
                    && SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR =>
            {
                Ok(())
            }
            Some(_) => self
                .root
                .remove_all(clean.path())
                .map_err(|e| LayerError::entry(name, "removing what was there", pathrs_io(e))),
        }
    }

    fn create<R: Read>(
        &mut self,
        name: &str,
        clean: &Clean,
        at: &At<'_>,
        h: &Header,
        rd: &mut Reader<R>,
    ) -> Result<(), LayerError> {
        let e = |op| move |err| LayerError::entry(name, op, err);
        let (uid, gid) = ids(name, h)?;
        let atime = h.atime.unwrap_or(h.mtime);
        match h.kind {
            Kind::Regular => return self.regular(name, at, h, rd),
            Kind::Dir => {
                if at.stat().map_err(e("lstat"))?.is_none() {
                    at.mkdir().map_err(e("mkdir"))?;
                }
                self.dirs
                    .push((clean.parent(), at.name.to_os_string(), atime, h.mtime));
            }
            Kind::Symlink => at
                .symlink(OsStr::from_bytes(&h.link))
                .map_err(e("symlink"))?,
            Kind::Char => at
                .mknod(SFlag::S_IFCHR, libc::makedev(h.major, h.minor))
                .map_err(e("mknod"))?,
            Kind::Block => at
                .mknod(SFlag::S_IFBLK, libc::makedev(h.major, h.minor))
                .map_err(e("mknod"))?,
            Kind::Fifo => at.mknod(SFlag::S_IFIFO, 0).map_err(e("mkfifo"))?,
            Kind::Hardlink => return Err(LayerError::invalid(name, "hardlink in the wrong place")),
        }
        // Docker's order: owner, xattrs, mode (chown clears setuid), times.
        at.chown(uid, gid).map_err(e("lchown"))?;
        self.xattrs(name, h, |k, v| at.setxattr(k, v))?;
        if h.kind != Kind::Symlink {
            at.chmod(h.mode).map_err(e("chmod"))?;
        }
        if h.kind != Kind::Dir {
            at.times(atime, h.mtime).map_err(e("utimensat"))?;
        }
        Ok(())
    }

    fn regular<R: Read>(
        &self,
        name: &str,
        at: &At<'_>,
        h: &Header,
        rd: &mut Reader<R>,
    ) -> Result<(), LayerError> {
        let e = |op| move |err| LayerError::entry(name, op, err);
        let (uid, gid) = ids(name, h)?;
        let mut f = at.create_file().map_err(e("creating"))?;
        io::copy(&mut rd.content(), &mut f).map_err(|err| match over_budget(&err) {
            Some(limit) => LayerError::Limit {
                entry: name.to_string(),
                what: "uncompressed bytes",
                limit,
            },
            None => LayerError::entry(name, "writing its content", err),
        })?;
        fsops::file_chown(&f, uid, gid).map_err(e("fchown"))?;
        self.xattrs(name, h, |k, v| xattr::fset(f.as_fd(), k, v))?;
        fsops::file_chmod(&f, h.mode).map_err(e("fchmod"))?;
        fsops::file_times(&f, h.atime.unwrap_or(h.mtime), h.mtime).map_err(e("futimens"))
    }

    /// The entry's PAX xattrs, each through `set` (fd-based for regular
    /// files, the parent dir's fd + name for the rest).
    fn xattrs(
        &self,
        name: &str,
        h: &Header,
        set: impl Fn(&[u8], &[u8]) -> io::Result<()>,
    ) -> Result<(), LayerError> {
        for (k, v) in &h.xattrs {
            if is_overlay_xattr(k) {
                continue; // a layer may not plant overlayfs redirects/opaques
            }
            match set(k, v) {
                Ok(()) => {}
                // Like Docker: a filesystem without xattrs, or user.* on a
                // symlink/device (the kernel refuses those), is not fatal.
                Err(err) if err.raw_os_error() == Some(libc::EOPNOTSUPP) => {}
                Err(err) if err.raw_os_error() == Some(libc::EPERM) && k.starts_with(b"user.") => {}
                Err(err) => {
                    let why = format!("setting xattr {:?}: {err}", display(k));
                    return Err(LayerError::invalid(name, why));
                }
            }
        }
        Ok(())
    }

    /// A hardlink to an entry already in the target, resolved in the root.
    fn hardlink(
        &self,
        name: &str,
        clean: &Clean,
        at: &At<'_>,
        h: &Header,
    ) -> Result<(), LayerError> {
        let bad = |why: String| LayerError::Hardlink {
            entry: name.to_string(),
            target: display(&h.link),
            why,
        };
        let to = Clean::new(&h.link).ok_or_else(|| bad("escapes the layer root".into()))?;
        let to_name = to.name().ok_or_else(|| bad("is the layer root".into()))?;
        let missing = || bad("not in the layer (a hardlink must name an earlier entry)".into());
        let to_dir = self
            .root
            .resolve(to.parent())
            .map_err(|e| match pathrs_errno(&e) {
                Some(libc::ENOENT) | Some(libc::ENOTDIR) => missing(),
                _ => bad(format!("its directory: {}", pathrs_io(e))),
            })?;
        let from = At {
            dir: to_dir.as_fd().as_raw_fd(),
            name: to_name,
        };
        match from.stat().map_err(|e| bad(e.to_string()))? {
            None => return Err(missing()),
            Some(st) if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR => {
                return Err(bad("is a directory".into()));
            }
            Some(_) => {}
        }
        if to == *clean {
            return Ok(()); // a link to itself: it is already there
        }
        self.clear(name, clean, at, false)?;
        at.link_from(&from).map_err(|e| bad(e.to_string()))
    }

    /// Sets the dirs' times, deepest last-made first.
    fn dir_times(&self) -> Result<(), LayerError> {
        for (parent, base, atime, mtime) in self.dirs.iter().rev() {
            let Ok(dir) = self.root.resolve(parent) else {
                continue;
            };
            let at = At {
                dir: dir.as_fd().as_raw_fd(),
                name: base,
            };
            let entry = || parent.join(base).display().to_string();
            match at
                .stat()
                .map_err(|x| LayerError::entry(&entry(), "lstat", x))?
            {
                Some(st)
                    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR =>
                {
                    at.times(*atime, *mtime)
                        .map_err(|x| LayerError::entry(&entry(), "utimensat", x))?;
                }
                _ => {} // replaced or deleted by a later entry
            }
        }
        Ok(())
    }
}

pub(super) fn ids(name: &str, h: &Header) -> Result<(u32, u32), LayerError> {
    let id = |v: u64| {
        u32::try_from(v).map_err(|_| LayerError::invalid(name, format!("uid/gid {v} out of range")))
    };
    Ok((id(h.uid)?, id(h.gid)?))
}
