//! Overlay snapshots: an image's layer dirs as lower dirs (no copy) and a
//! fresh upper dir, mounted as a RUN step's rootfs or COPY's target; the
//! upper dir is the step's diff.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("mounting the overlay at {target}: {source} (options: {options})")]
    Mount {
        target: PathBuf,
        options: String,
        source: io::Error,
    },
    #[error("making the builder's mount namespace private: {0}")]
    Namespace(io::Error),
}

/// Where a snapshot's dirs are.
pub struct Parts {
    pub upper: PathBuf,
    pub work: PathBuf,
    pub merged: PathBuf,
    /// The lower dir of an image without layers (made when needed).
    pub empty: PathBuf,
}

/// A mounted overlay; unmounted on drop.
pub struct Snapshot {
    pub merged: PathBuf,
    pub upper: PathBuf,
    mounted: bool,
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Snapshot {
    /// Mounts `lowers` (bottom first) under `dir`/merged with `dir`/upper as
    /// the upper dir. `dir` is a fresh temp dir of the store's (same
    /// filesystem as the layer dirs, so the upper dir can be renamed there).
    pub fn mount(dir: &Path, lowers: &[PathBuf]) -> Result<Snapshot, SnapshotError> {
        Snapshot::mount_at(dir, lowers, &dir.join("merged"))
    }

    /// As `mount`, at `merged` (upper, work and an empty lower for an image
    /// without layers stay in `dir`).
    pub fn mount_at(
        dir: &Path,
        lowers: &[PathBuf],
        merged: &Path,
    ) -> Result<Snapshot, SnapshotError> {
        let parts = Parts {
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: merged.to_path_buf(),
            empty: dir.join("empty"),
        };
        Snapshot::mount_parts(lowers, &parts)
    }

    /// Mounts with each dir where the caller wants it: upper and work on
    /// the store's filesystem, the mount point anywhere (a tmpfs: on a disk
    /// mounted with `discard`, each dir or file removed costs milliseconds).
    pub fn mount_parts(lowers: &[PathBuf], parts: &Parts) -> Result<Snapshot, SnapshotError> {
        let Parts {
            upper,
            work,
            merged,
            empty,
        } = parts;
        for d in [upper, work, merged] {
            fs::create_dir_all(d).map_err(io_at(d))?;
        }
        let mut lower: Vec<String> = lowers.iter().rev().map(|p| escape(p)).collect();
        if lower.is_empty() {
            fs::create_dir_all(empty).map_err(io_at(empty))?;
            lower.push(escape(empty));
        }
        let (upper, work, merged) = (upper.clone(), work.clone(), merged.clone());
        let options = format!(
            "lowerdir={},upperdir={},workdir={},index=off,redirect_dir=off,metacopy=off",
            lower.join(":"),
            escape(&upper),
            escape(&work)
        );
        if options.len() < 4000 {
            mount_overlay(&merged, &options)?;
        } else {
            // Over a page of options (about 45 layers of store paths): the
            // new mount API takes each lower dir on its own (Linux 6.8+).
            let mut top_first: Vec<&Path> = lowers.iter().rev().map(PathBuf::as_path).collect();
            if top_first.is_empty() {
                top_first.push(empty);
            }
            mount_overlay_fsconfig(&merged, &top_first, &upper, &work).map_err(|source| {
                SnapshotError::Mount {
                    target: merged.clone(),
                    options: format!("{} lower dirs through fsconfig(lowerdir+)", top_first.len()),
                    source,
                }
            })?;
        }
        Ok(Snapshot {
            merged,
            upper,
            mounted: true,
        })
    }

    pub fn unmount(&mut self) -> Result<(), SnapshotError> {
        if self.mounted {
            umount(&self.merged).map_err(io_at(&self.merged))?;
            self.mounted = false;
        }
        Ok(())
    }
}

impl Snapshot {
    /// Leaves the overlay mounted after this value is gone (`builder mount`).
    pub fn keep(mut self) {
        self.mounted = false;
    }
}

/// Unmounts `target` (what `Snapshot::keep` left mounted).
pub fn unmount_path(target: &Path) -> io::Result<()> {
    umount(target)
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if self.mounted {
            let _ = umount_detach(&self.merged);
        }
    }
}

/// overlayfs option values escape ',' ':' and '\' with a backslash.
fn escape(p: &Path) -> String {
    let s = p.to_string_lossy();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, ',' | ':' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn mount_overlay(target: &Path, options: &str) -> Result<(), SnapshotError> {
    let err = |source| SnapshotError::Mount {
        target: target.to_path_buf(),
        options: options.to_string(),
        source,
    };
    let t = cstr(target).map_err(err)?;
    let data = CString::new(options).map_err(|_| err(io::ErrorKind::InvalidInput.into()))?;
    // SAFETY: every pointer is a NUL-terminated string that outlives the call.
    let rc = unsafe {
        libc::mount(
            c"overlay".as_ptr(),
            t.as_ptr(),
            c"overlay".as_ptr(),
            0,
            data.as_ptr().cast(),
        )
    };
    if rc != 0 {
        return Err(err(io::Error::last_os_error()));
    }
    Ok(())
}

const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;

/// fsopen + fsconfig (one `lowerdir+` per layer) + fsmount + move_mount.
fn mount_overlay_fsconfig(
    target: &Path,
    lowers: &[&Path],
    upper: &Path,
    work: &Path,
) -> io::Result<()> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let check = |rc: libc::c_long| {
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    };
    // SAFETY: fsopen takes a NUL-terminated name and flags; it returns a new fd.
    let fs =
        check(unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) })?;
    // SAFETY: the fd is ours from here on.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as i32) };
    let set = |key: &str, value: &[u8]| -> io::Result<()> {
        let k = CString::new(key).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let v = CString::new(value).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a valid fs context fd and NUL-terminated key and value.
        check(unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                FSCONFIG_SET_STRING,
                k.as_ptr(),
                v.as_ptr(),
                0,
            )
        })?;
        Ok(())
    };
    for l in lowers {
        set("lowerdir+", l.as_os_str().as_bytes())?;
    }
    set("upperdir", upper.as_os_str().as_bytes())?;
    set("workdir", work.as_os_str().as_bytes())?;
    for key in ["index", "redirect_dir", "metacopy"] {
        set(key, b"off")?;
    }
    // SAFETY: CMD_CREATE takes no key or value.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })?;
    // SAFETY: fsmount on a created context returns a new mount fd.
    let m = check(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) })?;
    // SAFETY: the fd is ours from here on.
    let m = unsafe { OwnedFd::from_raw_fd(m as i32) };
    let t = cstr(target)?;
    // SAFETY: move_mount of our detached mount fd onto a NUL-terminated path.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            m.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })?;
    Ok(())
}

fn umount(target: &Path) -> io::Result<()> {
    let t = cstr(target)?;
    // SAFETY: a NUL-terminated path that outlives the call.
    if unsafe { libc::umount2(t.as_ptr(), 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn umount_detach(target: &Path) -> io::Result<()> {
    let t = cstr(target)?;
    // SAFETY: a NUL-terminated path that outlives the call.
    if unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Detaches every mount at or below `dir`, deepest first.
pub fn detach_below(dir: &Path) {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mountinfo(p)))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in points {
        let _ = umount_detach(&p);
    }
}

fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() + 1 && b.len() >= i + 4 {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Moves this process into a mount namespace of its own whose mounts do not
/// propagate to the host's: the build's overlays vanish with the builder
/// even when it is SIGKILLed. Call before any thread is started.
pub fn private_mount_namespace() -> Result<(), SnapshotError> {
    // SAFETY: unshare takes flags only.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(SnapshotError::Namespace(io::Error::last_os_error()));
    }
    // SAFETY: NUL-terminated strings; a propagation change mounts nothing.
    let rc = unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_SLAVE,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(SnapshotError::Namespace(io::Error::last_os_error()));
    }
    Ok(())
}
