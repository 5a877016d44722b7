//! The file copier of COPY/ADD and the content hashes of their cache keys.
//! Sources are read through dir fds with O_NOFOLLOW below the top; the
//! destination is resolved inside the rootfs with pathrs, so a symlink an
//! earlier step planted (`/app -> /etc` of the host) resolves inside the
//! rootfs, and a leaf symlink is replaced, never followed.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, mkdirat, mknodat, FileStat, Mode, SFlag};
use nix::unistd::{fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::dockerignore::Matcher;

/// `a/./b/../c` → `a/c`; leading `/` and any `..` above the top dropped
/// (a source can never name something above its root). "" is the root.
pub fn clean_rel(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

/// The real path of `rel` inside `root`, symlinks resolved inside it.
pub fn resolve_inside(root: &Path, rel: &str) -> io::Result<PathBuf> {
    let r = pathrs::Root::open(root).map_err(io::Error::other)?;
    let h = r
        .resolve(if rel.is_empty() { "." } else { rel })
        .map_err(io::Error::other)?;
    let f = h
        .reopen(pathrs::flags::OpenFlags::O_PATH)
        .map_err(io::Error::other)?;
    std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd()))
}

pub fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    let fd = openat(
        None,
        path,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // SAFETY: openat returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn open_at(dir: RawFd, name: &OsStr, flags: OFlag) -> io::Result<OwnedFd> {
    let fd = openat(
        Some(dir),
        name,
        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // SAFETY: as above.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn lstat_at(dir: RawFd, name: &OsStr) -> io::Result<FileStat> {
    Ok(fstatat(Some(dir), name, AtFlags::AT_SYMLINK_NOFOLLOW)?)
}

/// Names in a directory, sorted, without `.` and `..`.
fn list(dir: RawFd) -> io::Result<Vec<OsString>> {
    let fd = open_at(dir, OsStr::new("."), OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
    let mut d = nix::dir::Dir::from_fd(fd.as_raw_fd())?;
    std::mem::forget(fd); // Dir owns it now.
    let mut names: Vec<OsString> = d
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| OsStr::from_bytes(e.file_name().to_bytes()).to_os_string())
        .filter(|n| n != "." && n != "..")
        .collect();
    names.sort();
    Ok(names)
}

fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
}

fn join(rel: &str, name: &OsStr) -> String {
    let n = name.to_string_lossy();
    if rel.is_empty() {
        n.into_owned()
    } else {
        format!("{rel}/{n}")
    }
}

/// Which source entries are left out.
pub struct Filter<'a> {
    /// .dockerignore (context sources only), on context-relative paths.
    pub ignore: Option<&'a Matcher>,
    /// COPY --exclude, on the same paths.
    pub exclude: Option<&'a Matcher>,
}

impl Filter<'_> {
    fn skip(&self, rel: &str) -> bool {
        self.ignore.is_some_and(|m| m.excluded(rel))
            || self.exclude.is_some_and(|m| m.excluded(rel))
    }
    fn descend_anyway(&self, rel: &str) -> bool {
        let i = self
            .ignore
            .is_none_or(|m| !m.excluded(rel) || m.may_include_below(rel));
        let e = self
            .exclude
            .is_none_or(|m| !m.excluded(rel) || m.may_include_below(rel));
        i && e
    }
}

/// Content hash of the entry `name` in `dir` (path `rel`): names, types,
/// modes, owners (when `owners`), sizes, link targets and file contents.
pub fn hash_entry(
    dir: RawFd,
    name: &OsStr,
    rel: &str,
    f: &Filter,
    owners: bool,
    h: &mut Sha256,
) -> io::Result<()> {
    let st = lstat_at(dir, name)?;
    let k = kind(&st);
    h.update(rel.as_bytes());
    h.update([0]);
    h.update(st.st_mode.to_le_bytes());
    if owners {
        h.update(st.st_uid.to_le_bytes());
        h.update(st.st_gid.to_le_bytes());
    }
    match k {
        SFlag::S_IFREG => {
            h.update((st.st_size as u64).to_le_bytes());
            let mut file = File::from(open_at(dir, name, OFlag::O_RDONLY)?);
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
        }
        SFlag::S_IFLNK => h.update(readlinkat(Some(dir), name)?.as_bytes()),
        SFlag::S_IFDIR => {
            let sub = open_at(dir, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
            for child in list(sub.as_raw_fd())? {
                let crel = join(rel, &child);
                if f.skip(&crel)
                    && !(lstat_at(sub.as_raw_fd(), &child)
                        .is_ok_and(|s| kind(&s) == SFlag::S_IFDIR)
                        && f.descend_anyway(&crel))
                {
                    continue;
                }
                hash_entry(sub.as_raw_fd(), &child, &crel, f, owners, h)?;
            }
        }
        SFlag::S_IFCHR | SFlag::S_IFBLK => h.update(st.st_rdev.to_le_bytes()),
        _ => {}
    }
    h.update([0xff]);
    Ok(())
}

/// Digest of a context path (file or tree), .dockerignore honoured.
pub fn hash_context_path(env: &super::stage::BuildEnv, rel: &str) -> io::Result<Digest> {
    let real = resolve_inside(&env.ctx.dir, rel)?;
    let (parent, name) = split(&real);
    let pd = open_dir(&parent)?;
    let mut h = Sha256::new();
    let f = Filter {
        ignore: Some(&env.ctx.ignore),
        exclude: None,
    };
    hash_entry(pd.as_raw_fd(), &name, rel, &f, false, &mut h)?;
    Ok(Digest::from_bytes(h.finalize().into()))
}

pub fn split(p: &Path) -> (PathBuf, OsString) {
    let parent = p
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let name = p
        .file_name()
        .map(OsStr::to_os_string)
        .unwrap_or_else(|| OsString::from("."));
    (parent, name)
}

/// How copied entries are owned and moded.
pub struct CopyOpts {
    /// --chown; else `keep_owner` (from a stage or image) or 0:0 (context).
    pub chown: Option<(u32, u32)>,
    pub keep_owner: bool,
    /// --chmod, for files and dirs.
    pub chmod: Option<u32>,
}

/// Copies trees into a rootfs; keeps hardlinks that are inside one copy.
pub struct Copier<'a> {
    pub root: pathrs::Root,
    pub opts: CopyOpts,
    pub filter: Filter<'a>,
    links: HashMap<(u64, u64), (Arc<OwnedFd>, OsString)>,
    pub entries: u64,
}

impl<'a> Copier<'a> {
    pub fn new(rootfs: &Path, opts: CopyOpts, filter: Filter<'a>) -> io::Result<Copier<'a>> {
        let root = pathrs::Root::open(rootfs).map_err(io::Error::other)?;
        Ok(Copier {
            root,
            opts,
            filter,
            links: HashMap::new(),
            entries: 0,
        })
    }

    /// The dir `rel` in the rootfs (made with its parents when missing,
    /// symlinks resolved inside the rootfs).
    pub fn dest_dir(&self, rel: &str) -> io::Result<OwnedFd> {
        let perm: std::fs::Permissions = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        let target = if rel.is_empty() { "." } else { rel };
        let h = self
            .root
            .mkdir_all(target, &perm)
            .map_err(|e| io::Error::other(format!("{rel}: {e}")))?;
        let f = h
            .reopen(pathrs::flags::OpenFlags::O_RDONLY | pathrs::flags::OpenFlags::O_DIRECTORY)
            .map_err(io::Error::other)?;
        Ok(OwnedFd::from(f))
    }

    /// Whether `rel` is a directory in the rootfs (symlinks followed inside).
    pub fn is_dir(&self, rel: &str) -> bool {
        self.root
            .resolve(if rel.is_empty() { "." } else { rel })
            .ok()
            .and_then(|h| h.reopen(pathrs::flags::OpenFlags::O_PATH).ok())
            .and_then(|f| f.metadata().ok())
            .is_some_and(|m| m.is_dir())
    }

    /// Copies entry `name` of `src` (source path `rel` for the filters) to
    /// `dst_name` in the dest dir `dst_rel`.
    pub fn copy(
        &mut self,
        src: RawFd,
        name: &OsStr,
        rel: &str,
        dst_rel: &str,
        dst_name: &OsStr,
    ) -> io::Result<()> {
        let st = lstat_at(src, name)?;
        self.entries += 1;
        let dst_dir = Arc::new(self.dest_dir(dst_rel)?);
        let (uid, gid) = self.owner(&st);
        match kind(&st) {
            SFlag::S_IFDIR => {
                let here = if dst_rel.is_empty() {
                    dst_name.to_string_lossy().into_owned()
                } else {
                    join(dst_rel, dst_name)
                };
                self.make_dir(&dst_dir, dst_name, &here)?;
                let sub = open_at(src, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
                self.copy_children(sub.as_raw_fd(), rel, &here)?;
                let d = self.dest_dir(&here)?;
                fchownat(
                    Some(d.as_raw_fd()),
                    ".",
                    Some(Uid::from_raw(uid)),
                    Some(Gid::from_raw(gid)),
                    AtFlags::empty(),
                )?;
                let mode = self.opts.chmod.unwrap_or(st.st_mode & 0o7777);
                nix::sys::stat::fchmod(d.as_raw_fd(), Mode::from_bits_truncate(mode))?;
                set_times(d.as_raw_fd(), OsStr::new("."), &st, false)?;
            }
            SFlag::S_IFREG => {
                if st.st_nlink > 1 {
                    if let Some((ldir, lname)) = self.links.get(&(st.st_dev, st.st_ino)).cloned() {
                        replace(&dst_dir, dst_name, false)?;
                        linkat(
                            Some(ldir.as_raw_fd()),
                            lname.as_os_str(),
                            Some(dst_dir.as_raw_fd()),
                            dst_name,
                            AtFlags::empty(),
                        )?;
                        return Ok(());
                    }
                }
                replace(&dst_dir, dst_name, false)?;
                let mut from = File::from(open_at(src, name, OFlag::O_RDONLY)?);
                let to = openat(
                    Some(dst_dir.as_raw_fd()),
                    dst_name,
                    OFlag::O_WRONLY
                        | OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )?;
                // SAFETY: openat returned a new fd we own.
                let mut to = unsafe { File::from_raw_fd(to) };
                io::copy(&mut from, &mut to)?;
                nix::unistd::fchown(
                    to.as_raw_fd(),
                    Some(Uid::from_raw(uid)),
                    Some(Gid::from_raw(gid)),
                )?;
                let mode = self.opts.chmod.unwrap_or(st.st_mode & 0o7777);
                nix::sys::stat::fchmod(to.as_raw_fd(), Mode::from_bits_truncate(mode))?;
                set_times(dst_dir.as_raw_fd(), dst_name, &st, false)?;
                if st.st_nlink > 1 {
                    self.links.insert(
                        (st.st_dev, st.st_ino),
                        (dst_dir.clone(), dst_name.to_os_string()),
                    );
                }
            }
            SFlag::S_IFLNK => {
                let target = readlinkat(Some(src), name)?;
                replace(&dst_dir, dst_name, false)?;
                symlinkat(target.as_os_str(), Some(dst_dir.as_raw_fd()), dst_name)?;
                fchownat(
                    Some(dst_dir.as_raw_fd()),
                    dst_name,
                    Some(Uid::from_raw(uid)),
                    Some(Gid::from_raw(gid)),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )?;
                set_times(dst_dir.as_raw_fd(), dst_name, &st, true)?;
            }
            k @ (SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO) => {
                replace(&dst_dir, dst_name, false)?;
                mknodat(
                    Some(dst_dir.as_raw_fd()),
                    dst_name,
                    k,
                    Mode::from_bits_truncate(st.st_mode & 0o7777),
                    st.st_rdev,
                )?;
                fchownat(
                    Some(dst_dir.as_raw_fd()),
                    dst_name,
                    Some(Uid::from_raw(uid)),
                    Some(Gid::from_raw(gid)),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )?;
            }
            _ => {} // sockets are not copied (docker skips them too)
        }
        Ok(())
    }

    /// Copies what is inside the dir `src` into the dest dir `dst_rel`.
    pub fn copy_children(&mut self, src: RawFd, rel: &str, dst_rel: &str) -> io::Result<()> {
        for child in list(src)? {
            let crel = join(rel, &child);
            if self.filter.skip(&crel) {
                let is_dir = lstat_at(src, &child).is_ok_and(|s| kind(&s) == SFlag::S_IFDIR);
                if !(is_dir && self.filter.descend_anyway(&crel)) {
                    continue;
                }
            }
            self.copy(src, &child, &crel, dst_rel, &child)?;
        }
        Ok(())
    }

    fn owner(&self, st: &FileStat) -> (u32, u32) {
        match self.opts.chown {
            Some(o) => o,
            None if self.opts.keep_owner => (st.st_uid, st.st_gid),
            None => (0, 0),
        }
    }

    /// A dir at `name` in `dir`: an existing dir (or a symlink to one inside
    /// the rootfs) is kept; anything else is replaced.
    fn make_dir(&self, dir: &OwnedFd, name: &OsStr, here: &str) -> io::Result<()> {
        match lstat_at(dir.as_raw_fd(), name) {
            Ok(s) if kind(&s) == SFlag::S_IFDIR => Ok(()),
            Ok(s) if kind(&s) == SFlag::S_IFLNK && self.is_dir(here) => Ok(()),
            Ok(_) => {
                replace(dir, name, false)?;
                Ok(mkdirat(
                    Some(dir.as_raw_fd()),
                    name,
                    Mode::from_bits_truncate(0o755),
                )?)
            }
            Err(_) => Ok(mkdirat(
                Some(dir.as_raw_fd()),
                name,
                Mode::from_bits_truncate(0o755),
            )?),
        }
    }
}

/// Removes what is at `name` (a dir with its contents) before a new entry.
fn replace(dir: &OwnedFd, name: &OsStr, keep_dir: bool) -> io::Result<()> {
    match lstat_at(dir.as_raw_fd(), name) {
        Err(_) => Ok(()),
        Ok(s) if kind(&s) == SFlag::S_IFDIR => {
            if keep_dir {
                return Ok(());
            }
            let sub = open_at(dir.as_raw_fd(), name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
            for child in list(sub.as_raw_fd())? {
                replace(&sub, &child, false)?;
            }
            Ok(unlinkat(
                Some(dir.as_raw_fd()),
                name,
                UnlinkatFlags::RemoveDir,
            )?)
        }
        Ok(_) => Ok(unlinkat(
            Some(dir.as_raw_fd()),
            name,
            UnlinkatFlags::NoRemoveDir,
        )?),
    }
}

fn set_times(dir: RawFd, name: &OsStr, st: &FileStat, nofollow: bool) -> io::Result<()> {
    use nix::sys::stat::{utimensat, UtimensatFlags};
    use nix::sys::time::TimeSpec;
    let at = TimeSpec::new(st.st_atime, st.st_atime_nsec);
    let mt = TimeSpec::new(st.st_mtime, st.st_mtime_nsec);
    let flag = if nofollow {
        UtimensatFlags::NoFollowSymlink
    } else {
        UtimensatFlags::FollowSymlink
    };
    Ok(utimensat(Some(dir), name, &at, &mt, flag)?)
}

/// Shell-style glob of one path component: `*`, `?`, `[a-z]`, `[!a]`, `\x`.
pub fn glob_match(pat: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pat.chars().collect(), name.chars().collect());
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|i| glob_at(&p[1..], &n[i..])),
        Some('?') => !n.is_empty() && glob_at(&p[1..], &n[1..]),
        Some('[') => {
            let Some(end) = p.iter().skip(1).position(|&c| c == ']').map(|i| i + 1) else {
                return n.first() == Some(&'[') && glob_at(&p[1..], &n[1..]);
            };
            let Some(&c) = n.first() else { return false };
            let class = &p[1..end];
            let (neg, class) = match class.first() {
                Some('!') | Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != neg && glob_at(&p[end + 1..], &n[1..])
        }
        Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && glob_at(&p[2..], &n[1..]),
        Some(&c) => n.first() == Some(&c) && glob_at(&p[1..], &n[1..]),
    }
}

pub fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands a source pattern against a tree: every matching path, sorted.
pub fn expand_glob(root: &Path, pattern: &str) -> io::Result<Vec<String>> {
    let mut found = vec![String::new()];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &found {
            if !has_glob(comp) {
                next.push(if base.is_empty() {
                    comp.to_string()
                } else {
                    format!("{base}/{comp}")
                });
                continue;
            }
            let Ok(dir) = resolve_inside(root, base) else {
                continue;
            };
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<String> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for n in names.into_iter().filter(|n| glob_match(comp, n)) {
                next.push(if base.is_empty() {
                    n
                } else {
                    format!("{base}/{n}")
                });
            }
        }
        found = next;
    }
    Ok(found
        .into_iter()
        .filter(|p| resolve_inside(root, p).is_ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, n, want) in [
            ("*.txt", "a.txt", true),
            ("*.txt", "a.txt.gz", false),
            ("a?c", "abc", true),
            ("[a-c]x", "bx", true),
            ("[!a-c]x", "bx", false),
            ("\\*", "*", true),
            ("*", "", true),
        ] {
            assert_eq!(glob_match(p, n), want, "{p} {n}");
        }
    }

    #[test]
    fn clean() {
        assert_eq!(clean_rel("/a/./b/../c/"), "a/c");
        assert_eq!(clean_rel("../../x"), "x");
        assert_eq!(clean_rel("/"), "");
    }
}
