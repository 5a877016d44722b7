//! The applier's side of whiteouts (see whiteout.rs for the spellings):
//! `.wh.NAME` and `.wh..wh..opq` per ApplyMode.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::sys::stat::SFlag;
use pathrs::flags::OpenFlags;

use super::apply::{ids, Applier, ApplyMode};
use super::error::{pathrs_errno, pathrs_io, LayerError};
use super::fsops::At;
use super::path::Clean;
use super::tarread::Header;
use super::whiteout;
use super::xattr;

impl Applier<'_> {
    /// `.wh..wh..opq`: the dir hides what lower layers have in it.
    pub(super) fn opaque(&mut self, name: &str, clean: &Clean) -> Result<(), LayerError> {
        let e = |op| move |err| LayerError::entry(name, op, err);
        match self.mode {
            ApplyMode::Overlay => {
                let dir = self.parent(name, clean)?;
                let f = dir
                    .reopen(OpenFlags::O_RDONLY | OpenFlags::O_DIRECTORY)
                    .map_err(|x| e("opening its dir")(pathrs_io(x)))?;
                xattr::fset(f.as_fd(), whiteout::OVERLAY_OPAQUE, b"y")
                    .map_err(e("setting the opaque xattr"))
            }
            ApplyMode::Flat => self.empty_lower(name, clean.parent()),
        }
    }

    /// Flat opaque: deletes everything under `top` this layer did not make
    /// (Docker's unpackedPaths walk).
    fn empty_lower(&self, name: &str, top: PathBuf) -> Result<(), LayerError> {
        let mut stack = vec![top];
        while let Some(dir) = stack.pop() {
            for child in self.list(name, &dir)? {
                let rel = if dir == Path::new(".") {
                    PathBuf::from(&child)
                } else {
                    dir.join(&child)
                };
                if !self.unpacked.contains(&rel) {
                    self.root.remove_all(&rel).map_err(|x| {
                        LayerError::entry(name, "emptying the opaque dir", pathrs_io(x))
                    })?;
                } else if self.is_dir(&rel) {
                    stack.push(rel);
                }
            }
        }
        Ok(())
    }

    /// The names in the dir `rel`; none when it is not a dir (or absent).
    fn list(&self, name: &str, rel: &Path) -> Result<Vec<OsString>, LayerError> {
        let e = |x| LayerError::entry(name, "listing the opaque dir", x);
        let h = match self.root.resolve_nofollow(rel) {
            Ok(h) => h,
            Err(x) if matches!(pathrs_errno(&x), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
                return Ok(Vec::new())
            }
            Err(x) => return Err(e(pathrs_io(x))),
        };
        if !self.is_dir(rel) {
            return Ok(Vec::new());
        }
        let f = h
            .reopen(OpenFlags::O_RDONLY | OpenFlags::O_DIRECTORY)
            .map_err(|x| e(pathrs_io(x)))?;
        let mut d = nix::dir::Dir::from(OwnedFd::from(f)).map_err(|x| e(x.into()))?;
        let mut out = Vec::new();
        for ent in d.iter() {
            let ent = ent.map_err(|x| e(x.into()))?;
            let n = ent.file_name().to_bytes();
            if n != b"." && n != b".." {
                out.push(OsStr::from_bytes(n).to_os_string());
            }
        }
        Ok(out)
    }

    fn is_dir(&self, rel: &Path) -> bool {
        let Ok(h) = self.root.resolve_nofollow(rel) else {
            return false;
        };
        nix::sys::stat::fstat(h.as_fd().as_raw_fd())
            .map(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
            .unwrap_or(false)
    }

    /// `.wh.NAME`: NAME is deleted (Flat) or whited out (Overlay).
    pub(super) fn delete(
        &mut self,
        name: &str,
        clean: &Clean,
        victim: &[u8],
        h: &Header,
    ) -> Result<(), LayerError> {
        if victim.is_empty() || victim == b"." || victim == b".." {
            return Err(LayerError::invalid(name, "whiteout of an invalid name"));
        }
        let gone = clean.with_name(victim);
        match self.mode {
            ApplyMode::Flat => match self.root.remove_all(gone.path()) {
                Ok(()) => Ok(()),
                Err(x) if matches!(pathrs_errno(&x), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
                    Ok(())
                }
                Err(x) => Err(LayerError::entry(
                    name,
                    "deleting the whited-out path",
                    pathrs_io(x),
                )),
            },
            ApplyMode::Overlay => {
                let e = |op| move |err| LayerError::entry(name, op, err);
                let dir = self.parent(name, clean)?;
                let at = At {
                    dir: dir.as_fd().as_raw_fd(),
                    name: OsStr::from_bytes(victim),
                };
                self.clear(name, &gone, &at, false)?;
                at.mknod(SFlag::S_IFCHR, 0)
                    .map_err(e("mknod of the whiteout"))?;
                let (uid, gid) = ids(name, h)?;
                at.chown(uid, gid).map_err(e("lchown"))?;
                at.times(h.atime.unwrap_or(h.mtime), h.mtime)
                    .map_err(e("utimensat"))?;
                self.mark(&gone);
                Ok(())
            }
        }
    }

    /// Records `clean` and its parents as made by this layer (Flat only).
    pub(super) fn mark(&mut self, clean: &Clean) {
        if self.mode != ApplyMode::Flat {
            return;
        }
        let mut p = clean.path();
        while p != Path::new(".") && !p.as_os_str().is_empty() {
            if !self.unpacked.insert(p.clone()) {
                break; // its parents are in already
            }
            p.pop();
        }
    }
}
