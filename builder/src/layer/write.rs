//! write_layer: an overlayfs upper dir to a layer tar, in one streaming
//! pass, the way containerd's/BuildKit's overlay differ writes it.

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use tar::EntryType;

use crate::digest::{Digest, HashWriter};

use super::compress::{pipeline, Compression};
use super::error::LayerError;
use super::tarwrite::{self, Meta};
use super::whiteout::{self, is_overlay_xattr};
use super::xattr::{self, Xattrs};

/// How write_layer writes.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    pub compression: Compression,
    /// SOURCE_DATE_EPOCH: mtimes later than it are clamped to it, and all
    /// mtimes are whole seconds, so a rebuild yields the same digests.
    pub epoch: Option<i64>,
}

/// What write_layer wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    /// sha256 of the blob (equal to diff_id when uncompressed).
    pub digest: Digest,
    /// Blob bytes.
    pub size: u64,
    pub media_type: &'static str,
    /// Tar entries (whiteout and opaque markers included).
    pub entries: u64,
}

/// The overlayfs upper dir `upper` as a layer tar, compressed, streamed
/// into `out`, in one pass: walk -> tar -> sha256 (diff_id) -> compress ->
/// sha256 (digest) -> out. The tar is built on a second thread, the
/// compression runs on this one. Regular files are streamed, never held.
///
/// Assumes overlayfs without redirect_dir/metacopy (what the snapshotter
/// mounts): those upper dirs are not self-contained diffs.
pub fn write_layer(
    upper: &Path,
    out: &mut dyn Write,
    opts: &WriteOptions,
) -> Result<Written, LayerError> {
    let epoch = opts.epoch;
    let ((diff_id, entries), digest, size) = pipeline(out, opts.compression, move |w| {
        let mut hw = HashWriter::new(w);
        let mut walker = Walker {
            root: upper,
            epoch,
            links: HashMap::new(),
            entries: 0,
        };
        walker.run(&mut hw)?;
        let (diff_id, _, _) = hw.finish();
        Ok((diff_id, walker.entries))
    })?;
    Ok(Written {
        diff_id,
        digest,
        size,
        media_type: opts.compression.media_type(),
        entries,
    })
}

/// True when `upper` holds nothing (an empty RUN/COPY diff: no layer).
pub fn upper_is_empty(upper: &Path) -> io::Result<bool> {
    Ok(fs::read_dir(upper)?.next().is_none())
}

struct Walker<'a> {
    root: &'a Path,
    epoch: Option<i64>,
    /// (dev, ino) of multiply-linked inodes -> the tar path written first.
    links: HashMap<(u64, u64), Vec<u8>>,
    entries: u64,
}

impl Walker<'_> {
    /// Depth first, each dir's children sorted byte-wise: Go's filepath.Walk
    /// order, so parents come before children. An explicit stack, so a deep
    /// tree cannot overflow ours.
    fn run(&mut self, w: &mut dyn Write) -> Result<(), LayerError> {
        let mut stack = vec![self.children(b"")?.into_iter()];
        while let Some(top) = stack.last_mut() {
            let Some(rel) = top.next() else {
                stack.pop();
                continue;
            };
            if self.emit(w, &rel)? {
                stack.push(self.children(&rel)?.into_iter());
            }
        }
        tarwrite::finish(w).map_err(|e| self.src(b"", "writing the tar end", e))
    }

    fn abs(&self, rel: &[u8]) -> PathBuf {
        self.root.join(std::ffi::OsStr::from_bytes(rel))
    }

    fn src(&self, rel: &[u8], op: &'static str, e: io::Error) -> LayerError {
        LayerError::source(&self.abs(rel), op, e)
    }

    /// The relative paths of `rel`'s children, sorted.
    fn children(&self, rel: &[u8]) -> Result<Vec<Vec<u8>>, LayerError> {
        let rd = fs::read_dir(self.abs(rel)).map_err(|e| self.src(rel, "listing", e))?;
        let mut names = Vec::new();
        for de in rd {
            let de = de.map_err(|e| self.src(rel, "listing", e))?;
            names.push(de.file_name().as_bytes().to_vec());
        }
        names.sort();
        Ok(names
            .into_iter()
            .map(|n| {
                if rel.is_empty() {
                    n
                } else {
                    [rel, b"/", &n].concat()
                }
            })
            .collect())
    }

    /// Writes the entries for `rel`; true if it is a dir to descend into.
    fn emit(&mut self, w: &mut dyn Write, rel: &[u8]) -> Result<bool, LayerError> {
        let abs = self.abs(rel);
        let md = fs::symlink_metadata(&abs).map_err(|e| self.src(rel, "stat", e))?;
        let ft = md.file_type();
        if ft.is_char_device() && md.rdev() == 0 {
            self.whiteout(w, rel, &md)?;
            return Ok(false);
        }
        if ft.is_socket() {
            return Ok(false); // a tar cannot hold sockets; Docker skips them too
        }
        let mut m = self.meta(rel, &md)?;
        if !ft.is_dir() && md.nlink() > 1 {
            if let Some(first) = self.links.get(&(md.dev(), md.ino())) {
                m.kind = EntryType::Link;
                m.link = first.clone();
                m.xattrs.clear(); // the inode's xattrs came with the first name
                self.put(w, rel, &m, None)?;
                return Ok(false);
            }
            self.links.insert((md.dev(), md.ino()), rel.to_vec());
        }
        if ft.is_dir() {
            m.kind = EntryType::Directory;
            m.path.push(b'/');
            self.put(w, rel, &m, None)?;
            if self.is_opaque(rel)? {
                let mut o = Meta::new([rel, b"/", whiteout::OPAQUE].concat(), EntryType::Regular);
                o.mtime = m.mtime;
                self.put(w, rel, &o, None)?;
            }
            return Ok(true);
        }
        if ft.is_file() {
            m.size = md.len();
            let mut f = File::options()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&abs)
                .map_err(|e| self.src(rel, "opening", e))?;
            self.put(w, rel, &m, Some(&mut f))?;
            return Ok(false);
        }
        if ft.is_symlink() {
            m.kind = EntryType::Symlink;
            m.link = fs::read_link(&abs)
                .map_err(|e| self.src(rel, "readlink", e))?
                .as_os_str()
                .as_bytes()
                .to_vec();
        } else if ft.is_char_device() || ft.is_block_device() {
            m.kind = if ft.is_char_device() {
                EntryType::Char
            } else {
                EntryType::Block
            };
            m.major = libc::major(md.rdev());
            m.minor = libc::minor(md.rdev());
        } else if ft.is_fifo() {
            m.kind = EntryType::Fifo;
        }
        self.put(w, rel, &m, None)?;
        Ok(false)
    }

    /// The header fields common to every kind (a regular file by default).
    fn meta(&self, rel: &[u8], md: &Metadata) -> Result<Meta, LayerError> {
        let mut m = Meta::new(rel.to_vec(), EntryType::Regular);
        m.mode = md.mode() & 0o7777;
        m.uid = md.uid() as u64;
        m.gid = md.gid() as u64;
        m.mtime = self.clamp((md.mtime(), md.mtime_nsec() as u32));
        m.xattrs = self.xattrs(rel)?;
        Ok(m)
    }

    fn clamp(&self, (secs, nanos): (i64, u32)) -> (i64, u32) {
        match self.epoch {
            None => (secs, nanos),
            Some(e) => (secs.min(e), 0),
        }
    }

    fn xattrs(&self, rel: &[u8]) -> Result<Xattrs, LayerError> {
        let abs = self.abs(rel);
        let mut out = Vec::new();
        for name in xattr::list(&abs).map_err(|e| self.src(rel, "listing xattrs", e))? {
            if is_overlay_xattr(&name) {
                continue;
            }
            if let Some(v) =
                xattr::get(&abs, &name).map_err(|e| self.src(rel, "reading an xattr", e))?
            {
                out.push((name, v));
            }
        }
        Ok(out)
    }

    fn is_opaque(&self, rel: &[u8]) -> Result<bool, LayerError> {
        let abs = self.abs(rel);
        for name in [whiteout::OVERLAY_OPAQUE, whiteout::USER_OVERLAY_OPAQUE] {
            let v =
                xattr::get(&abs, name).map_err(|e| self.src(rel, "reading the opaque xattr", e))?;
            if v.as_deref() == Some(b"y") {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// An overlay whiteout (char 0:0) as containerd writes it: an empty
    /// regular file `.wh.NAME`, mode 0, root-owned.
    fn whiteout(&mut self, w: &mut dyn Write, rel: &[u8], md: &Metadata) -> Result<(), LayerError> {
        let (dir, name) = match rel.iter().rposition(|&c| c == b'/') {
            Some(i) => (&rel[..=i], &rel[i + 1..]),
            None => (&b""[..], rel),
        };
        let mut m = Meta::new([dir, whiteout::PREFIX, name].concat(), EntryType::Regular);
        m.mtime = self.clamp((md.mtime(), md.mtime_nsec() as u32));
        self.put(w, rel, &m, None)
    }

    fn put(
        &mut self,
        w: &mut dyn Write,
        rel: &[u8],
        m: &Meta,
        data: Option<&mut File>,
    ) -> Result<(), LayerError> {
        tarwrite::header(w, m).map_err(|e| self.src(rel, "writing its tar header", e))?;
        if let Some(f) = data {
            tarwrite::content(w, f, m.size).map_err(|e| self.src(rel, "copying its content", e))?;
        }
        self.entries += 1;
        Ok(())
    }
}
