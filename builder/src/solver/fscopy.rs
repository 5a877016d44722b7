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

use super::statcache::StatCache;
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

/// A source dir opened once: its stream (whose fd the `*at` calls use)
/// and its names, sorted, without `.` and `..`.
fn read_dir(fd: OwnedFd) -> io::Result<(nix::dir::Dir, Vec<OsString>)> {
    use std::os::fd::IntoRawFd;
    // Dir owns the fd from here on (it closes it on failure too).
    let mut d = nix::dir::Dir::from_fd(fd.into_raw_fd())?;
    let mut names: Vec<OsString> = d
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| OsStr::from_bytes(e.file_name().to_bytes()).to_os_string())
        .filter(|n| n != "." && n != "..")
        .collect();
    names.sort();
    Ok((d, names))
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
    /// COPY --exclude, on paths relative to the source being copied
    /// (BuildKit: `--exclude=*.log dir/` leaves out `dir/x.log`).
    pub exclude: Option<&'a Matcher>,
    /// Bytes of the context path cut off for --exclude: the source's own
    /// path and its `/`.
    pub exclude_from: usize,
}

impl<'a> Filter<'a> {
    /// The filter for copying the source at context path `rel`.
    pub fn for_source(
        ignore: Option<&'a Matcher>,
        exclude: Option<&'a Matcher>,
        rel: &str,
    ) -> Filter<'a> {
        let exclude_from = if rel.is_empty() { 0 } else { rel.len() + 1 };
        Filter {
            ignore,
            exclude,
            exclude_from,
        }
    }

    fn excluded(m: Option<&Matcher>, rel: &str, is_dir: bool) -> bool {
        // A dir that is excluded is still walked when a `!` pattern may
        // bring something below it back.
        m.is_some_and(|m| m.excluded(rel) && !(is_dir && m.may_include_below(rel)))
    }

    /// Whether the entry at context path `rel` is left out entirely.
    fn skip(&self, rel: &str, is_dir: bool) -> bool {
        let own = rel.get(self.exclude_from..).unwrap_or(rel);
        Self::excluded(self.ignore, rel, is_dir) || Self::excluded(self.exclude, own, is_dir)
    }
}

fn is_dir(st: &FileStat) -> bool {
    kind(st) == SFlag::S_IFDIR
}

/// Content hash of the entry `name` in `dir` (path `rel`): names, types,
/// modes, owners (when `owners`), sizes, link targets and file contents;
/// never times (BuildKit's content hash: a touched file is still cached).
pub fn hash_entry(
    dir: RawFd,
    name: &OsStr,
    rel: &str,
    f: &Filter,
    owners: bool,
    cache: Option<&StatCache>,
    h: &mut Sha256,
) -> io::Result<()> {
    let mut t = TreeHasher {
        f,
        owners,
        h,
        buf: vec![0u8; 64 * 1024],
        cache,
    };
    let st = lstat_at(dir, name)?;
    t.entry(dir, name, rel, &st)
}

/// One hash walk: the read buffer is shared by all its files.
struct TreeHasher<'a, 'b> {
    f: &'a Filter<'b>,
    owners: bool,
    h: &'a mut Sha256,
    buf: Vec<u8>,
    /// Digests of files seen before (context files; a stage's files are
    /// keyed by the stage instead).
    cache: Option<&'a StatCache>,
}

impl TreeHasher<'_, '_> {
    fn entry(&mut self, dir: RawFd, name: &OsStr, rel: &str, st: &FileStat) -> io::Result<()> {
        let h = &mut *self.h;
        h.update(rel.as_bytes());
        h.update([0]);
        h.update(st.st_mode.to_le_bytes());
        if self.owners {
            h.update(st.st_uid.to_le_bytes());
            h.update(st.st_gid.to_le_bytes());
        }
        match kind(st) {
            SFlag::S_IFREG => self.file(dir, name, st)?,
            SFlag::S_IFLNK => self.h.update(readlinkat(Some(dir), name)?.as_bytes()),
            SFlag::S_IFDIR => self.dir(dir, name, rel)?,
            SFlag::S_IFCHR | SFlag::S_IFBLK => self.h.update(st.st_rdev.to_le_bytes()),
            _ => {}
        }
        self.h.update([0xff]);
        Ok(())
    }

    /// A file counts by the digest of its content (remembered by inode and
    /// times when a stat cache is given).
    fn file(&mut self, dir: RawFd, name: &OsStr, st: &FileStat) -> io::Result<()> {
        self.h.update((st.st_size as u64).to_le_bytes());
        if let Some(d) = self.cache.and_then(|c| c.get(st)) {
            self.h.update(d);
            return Ok(());
        }
        let mut file = File::from(open_at(dir, name, OFlag::O_RDONLY)?);
        let mut content = Sha256::new();
        loop {
            let n = file.read(&mut self.buf)?;
            if n == 0 {
                break;
            }
            content.update(&self.buf[..n]);
        }
        let d: [u8; 32] = content.finalize().into();
        if let Some(c) = self.cache {
            c.put(st, d);
        }
        self.h.update(d);
        Ok(())
    }

    fn dir(&mut self, dir: RawFd, name: &OsStr, rel: &str) -> io::Result<()> {
        let (sub, names) = read_dir(open_at(dir, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?)?;
        for child in names {
            let crel = join(rel, &child);
            let st = lstat_at(sub.as_raw_fd(), &child)?;
            if !self.f.skip(&crel, is_dir(&st)) {
                self.entry(sub.as_raw_fd(), &child, &crel, &st)?;
            }
        }
        Ok(())
    }
}

/// Digest of a context path (file or tree), .dockerignore honoured.
pub fn hash_context_path(env: &super::stage::BuildEnv, rel: &str) -> io::Result<Digest> {
    let real = resolve_inside(&env.ctx.dir, rel)?;
    let (parent, name) = split(&real);
    let pd = open_dir(&parent)?;
    let mut h = Sha256::new();
    let f = Filter::for_source(Some(&env.ctx.ignore), None, rel);
    hash_entry(
        pd.as_raw_fd(),
        &name,
        rel,
        &f,
        false,
        Some(env.stat_cache),
        &mut h,
    )?;
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

/// A dest dir being filled: its fd, and its path in the rootfs (only for
/// the rare symlink-to-dir case and for messages).
struct DestDir {
    fd: Arc<OwnedFd>,
    rel: String,
}

/// Copies trees into a rootfs; keeps hardlinks that are inside one copy.
///
/// Cost per entry: one lstat of the source; a file adds its two opens, the
/// data copy (copy_file_range through std), fchown, fchmod and futimens.
/// Each source dir is opened once and read once; each dest dir is made and
/// opened once, through the parent's fd, never by path.
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

    /// The dir `rel` in the rootfs, symlinks resolved inside the rootfs;
    /// the missing part is made (0755, owned by --chown's user when given,
    /// as BuildKit's MkdirAll does).
    pub fn dest_dir(&self, rel: &str) -> io::Result<OwnedFd> {
        let parts: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
        // The longest prefix that is there already: what follows is new.
        let existing = (0..=parts.len())
            .rev()
            .find(|&i| i == 0 || self.root.resolve(parts[..i].join("/")).is_ok())
            .unwrap_or(0);
        let perm: std::fs::Permissions = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        let target = if parts.is_empty() { "." } else { rel };
        let h = self
            .root
            .mkdir_all(target, &perm)
            .map_err(|e| io::Error::other(format!("{rel}: {e}")))?;
        if let Some((uid, gid)) = self.opts.chown {
            for i in existing + 1..=parts.len() {
                let fd = self.open_dir_in_root(&parts[..i].join("/"))?;
                fchown_fd(fd.as_raw_fd(), uid, gid)?;
            }
        }
        let f = h
            .reopen(pathrs::flags::OpenFlags::O_RDONLY | pathrs::flags::OpenFlags::O_DIRECTORY)
            .map_err(io::Error::other)?;
        Ok(OwnedFd::from(f))
    }

    fn open_dir_in_root(&self, rel: &str) -> io::Result<OwnedFd> {
        let h = self
            .root
            .resolve(if rel.is_empty() { "." } else { rel })
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
        let dst = self.dest(dst_rel)?;
        let st = lstat_at(src, name)?;
        self.entry(src, name, rel, &st, &dst, dst_name)
    }

    /// Copies what is inside the dir `src` into the dest dir `dst_rel`.
    pub fn copy_children(&mut self, src: RawFd, rel: &str, dst_rel: &str) -> io::Result<()> {
        let dst = self.dest(dst_rel)?;
        let (d, names) = read_dir(open_at(
            src,
            OsStr::new("."),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY,
        )?)?;
        self.children(d.as_raw_fd(), names, rel, &dst)
    }

    fn dest(&self, rel: &str) -> io::Result<DestDir> {
        Ok(DestDir {
            fd: Arc::new(self.dest_dir(rel)?),
            rel: rel.to_string(),
        })
    }

    fn children(
        &mut self,
        src: RawFd,
        names: Vec<OsString>,
        rel: &str,
        dst: &DestDir,
    ) -> io::Result<()> {
        for child in names {
            let crel = join(rel, &child);
            let st = lstat_at(src, &child)?;
            if self.filter.skip(&crel, is_dir(&st)) {
                continue;
            }
            self.entry(src, &child, &crel, &st, dst, &child)?;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        src: RawFd,
        name: &OsStr,
        rel: &str,
        st: &FileStat,
        dst: &DestDir,
        dst_name: &OsStr,
    ) -> io::Result<()> {
        self.entries += 1;
        let (uid, gid) = self.owner(st);
        match kind(st) {
            SFlag::S_IFDIR => self.dir(src, name, rel, st, dst, dst_name),
            SFlag::S_IFREG => self.file(src, name, st, dst, dst_name),
            SFlag::S_IFLNK => {
                let target = readlinkat(Some(src), name)?;
                let d = dst.fd.as_raw_fd();
                replace(dst.fd.as_raw_fd(), dst_name)?;
                symlinkat(target.as_os_str(), Some(d), dst_name)?;
                fchownat(
                    Some(d),
                    dst_name,
                    Some(Uid::from_raw(uid)),
                    Some(Gid::from_raw(gid)),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )?;
                set_times(d, dst_name, st)
            }
            k @ (SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO) => {
                let d = dst.fd.as_raw_fd();
                replace(dst.fd.as_raw_fd(), dst_name)?;
                let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
                mknodat(Some(d), dst_name, k, mode, st.st_rdev)?;
                fchownat(
                    Some(d),
                    dst_name,
                    Some(Uid::from_raw(uid)),
                    Some(Gid::from_raw(gid)),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )?;
                set_times(d, dst_name, st)
            }
            _ => Ok(()), // sockets are not copied (docker skips them too)
        }
    }

    fn dir(
        &mut self,
        src: RawFd,
        name: &OsStr,
        rel: &str,
        st: &FileStat,
        dst: &DestDir,
        dst_name: &OsStr,
    ) -> io::Result<()> {
        let here = DestDir {
            fd: Arc::new(self.make_dir(dst, dst_name)?),
            rel: join(&dst.rel, dst_name),
        };
        let (sub, names) = read_dir(open_at(src, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?)?;
        self.children(sub.as_raw_fd(), names, rel, &here)?;
        // Metadata last: the children's writes moved the dir's mtime.
        let fd = here.fd.as_raw_fd();
        let (uid, gid) = self.owner(st);
        fchown_fd(fd, uid, gid)?;
        let mode = self.opts.chmod.unwrap_or(st.st_mode & 0o7777);
        nix::sys::stat::fchmod(fd, Mode::from_bits_truncate(mode))?;
        futimes(fd, st)
    }

    fn file(
        &mut self,
        src: RawFd,
        name: &OsStr,
        st: &FileStat,
        dst: &DestDir,
        dst_name: &OsStr,
    ) -> io::Result<()> {
        let d = dst.fd.as_raw_fd();
        if st.st_nlink > 1 {
            if let Some((ldir, lname)) = self.links.get(&(st.st_dev, st.st_ino)).cloned() {
                replace(dst.fd.as_raw_fd(), dst_name)?;
                let (l, n) = (ldir.as_raw_fd(), lname.as_os_str());
                linkat(Some(l), n, Some(d), dst_name, AtFlags::empty())?;
                return Ok(());
            }
        }
        let mut from = File::from(open_at(src, name, OFlag::O_RDONLY)?);
        let mut to = match create(d, dst_name) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                // Rare: something is there already; only then pay the removal.
                replace(dst.fd.as_raw_fd(), dst_name)?;
                create(d, dst_name)?
            }
            r => r?,
        };
        io::copy(&mut from, &mut to)?;
        let (uid, gid) = self.owner(st);
        fchown_fd(to.as_raw_fd(), uid, gid)?;
        let mode = self.opts.chmod.unwrap_or(st.st_mode & 0o7777);
        nix::sys::stat::fchmod(to.as_raw_fd(), Mode::from_bits_truncate(mode))?;
        futimes(to.as_raw_fd(), st)?;
        if st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            self.links
                .insert(key, (dst.fd.clone(), dst_name.to_os_string()));
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

    /// The dir `name` in `dst`, opened: an existing dir is kept, a symlink
    /// to a dir is followed inside the rootfs (where `/bin -> usr/bin`
    /// would otherwise be a copy error), anything else is replaced.
    fn make_dir(&self, dst: &DestDir, name: &OsStr) -> io::Result<OwnedFd> {
        let d = dst.fd.as_raw_fd();
        let dir_flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
        match lstat_at(d, name) {
            Ok(s) if is_dir(&s) => open_at(d, name, dir_flags),
            Ok(s) if kind(&s) == SFlag::S_IFLNK && self.is_dir(&join(&dst.rel, name)) => {
                self.open_dir_in_root(&join(&dst.rel, name))
            }
            other => {
                if other.is_ok() {
                    replace(dst.fd.as_raw_fd(), name)?;
                }
                mkdirat(Some(d), name, Mode::from_bits_truncate(0o755))?;
                open_at(d, name, dir_flags)
            }
        }
    }
}

/// A new file `name` in `dir`, never through a symlink or over an entry.
fn create(dir: RawFd, name: &OsStr) -> io::Result<File> {
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL;
    let fd = openat(
        Some(dir),
        name,
        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )?;
    // SAFETY: openat returned a new fd that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

fn fchown_fd(fd: RawFd, uid: u32, gid: u32) -> io::Result<()> {
    let (u, g) = (Uid::from_raw(uid), Gid::from_raw(gid));
    Ok(nix::unistd::fchown(fd, Some(u), Some(g))?)
}

/// Removes what is at `name` (a dir with its contents) before a new entry.
fn replace(dir: RawFd, name: &OsStr) -> io::Result<()> {
    match lstat_at(dir, name) {
        Err(_) => Ok(()),
        Ok(s) if is_dir(&s) => {
            let sub = open_at(dir, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
            let (d, names) = read_dir(sub)?;
            for child in names {
                replace(d.as_raw_fd(), &child)?;
            }
            Ok(unlinkat(Some(dir), name, UnlinkatFlags::RemoveDir)?)
        }
        Ok(_) => Ok(unlinkat(Some(dir), name, UnlinkatFlags::NoRemoveDir)?),
    }
}

fn set_times(dir: RawFd, name: &OsStr, st: &FileStat) -> io::Result<()> {
    use nix::sys::stat::{utimensat, UtimensatFlags};
    let (at, mt) = times(st);
    Ok(utimensat(
        Some(dir),
        name,
        &at,
        &mt,
        UtimensatFlags::NoFollowSymlink,
    )?)
}

fn futimes(fd: RawFd, st: &FileStat) -> io::Result<()> {
    let (at, mt) = times(st);
    Ok(nix::sys::stat::futimens(fd, &at, &mt)?)
}

fn times(st: &FileStat) -> (nix::sys::time::TimeSpec, nix::sys::time::TimeSpec) {
    use nix::sys::time::TimeSpec;
    (
        TimeSpec::new(st.st_atime, st.st_atime_nsec),
        TimeSpec::new(st.st_mtime, st.st_mtime_nsec),
    )
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
