//! Idmapped mounts (runc 1.2): `uidMappings`/`gidMappings` on a bind mount,
//! and the `idmap` (this mount) / `ridmap` (every mount of the tree) options.
//! Explicit mappings need no user namespace for the container; `idmap`
//! without them takes the container's user namespace (its maps, or the one
//! it joins by path). Mappings are host-relative, as in linux.uidMappings.
//!
//! Who does what. MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the superblock's
//! user namespace (the host's) and over the mapping's one, so with a new
//! user namespace the init can't set it: the runtime, host root, must. The
//! copy of the mount, though, is made by the init, in the container's mount
//! namespace, exactly where and when a plain bind would be made (runc does
//! the same): that copy keeps the kernel's locks of a less privileged mount
//! namespace (a read-only or nosuid host mount can't be made writable or
//! suid, a submount of an rbind can't be unmounted to uncover what it
//! hides), and its propagation is a plain bind's. A tree copied in the
//! host's namespace before the clone and inherited would carry no such
//! locks, so the simpler design is not a correct one. So:
//!
//! - `create`, before anything exists: `prepare` checks every idmapped mount
//!   (runc's rules and messages) and makes one user namespace per distinct
//!   mapping: a throwaway child is born in it and blocks on a pipe, we write
//!   its maps, keep /proc/CHILD/ns/user open, then kill and reap it. (The
//!   init inherits these fds, close-on-exec; they give it no power: it has
//!   no capability in them.)
//! - the init, for each idmapped bind in order: open_tree(OPEN_TREE_CLONE)
//!   of the source (a detached copy), `Idmap(index, fd)` on the sync
//!   channel, and waits;
//! - the runtime (`serve`, after linux.resources): takes the fd with
//!   pidfd_getfd, mount_setattr(MOUNT_ATTR_IDMAP [+ AT_RECURSIVE]) on it,
//!   `Go`;
//! - the init: move_mount onto the destination resolved inside the rootfs,
//!   then the usual flags remount and propagation.
//!
//! Both sides list the idmapped mounts with the same rule (`wanted` and
//! mounts::kind), so the runtime serves exactly the requests the init makes.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Mount, Spec};

use super::flags::{self, Parsed};
use super::mounts::{self, Kind};
use crate::error::Context;
use crate::namespaces::Plan;
use crate::process::channel::{Channel, Msg};
use crate::syscall::{self, MountAttr};
use crate::{Error, Result};

const MOUNT_ATTR_IDMAP: u64 = 0x10_0000;

/// Whether a mount is idmapped: it has mappings, or `idmap`/`ridmap`.
pub fn wanted(m: &Mount, parsed: &Parsed) -> bool {
    m.uid_mappings().is_some() || m.gid_mappings().is_some() || parsed.idmap.is_some()
}

/// One idmapped mount, as the runtime will serve it.
struct Idmapped {
    index: usize,
    /// `mounts[i] (dest)`, for errors.
    field: String,
    source: PathBuf,
    /// `ridmap`: AT_RECURSIVE on mount_setattr.
    recursive: bool,
    /// Index into `Prepared::usernses`.
    userns: usize,
}

/// What `create` prepared: the idmapped mounts and their user namespaces.
#[derive(Default)]
pub struct Prepared {
    mounts: Vec<Idmapped>,
    /// (maps, fd): one per distinct mapping, or the joined user namespace.
    usernses: Vec<(Option<Maps>, OwnedFd)>,
}

type Maps = (Vec<(u32, u32, u32)>, Vec<(u32, u32, u32)>);

fn key(maps: &[LinuxIdMapping]) -> Vec<(u32, u32, u32)> {
    maps.iter()
        .map(|m| (m.container_id(), m.host_id(), m.size()))
        .collect()
}

fn bind_source(m: &Mount, bundle: &Path) -> PathBuf {
    match m.source() {
        Some(s) if s.is_absolute() => s.clone(),
        Some(s) => bundle.join(s),
        None => PathBuf::new(),
    }
}

/// Checks every idmapped mount of `spec` and makes the user namespaces
/// their mappings need. Runs before the container exists: an error leaves
/// nothing behind.
pub fn prepare(spec: &Spec, plan: &Plan, bundle: &Path) -> Result<Prepared> {
    let mut out = Prepared::default();
    let linux = spec.linux().as_ref();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let field = format!("mounts[{i}] ({})", m.destination().display());
        // Bad options are the init's to report, by name.
        let Ok(parsed) = flags::parse(m.options().as_deref().unwrap_or_default()) else {
            continue;
        };
        if !wanted(m, &parsed) {
            continue;
        }
        if mounts::kind(m, &parsed) != Kind::Bind {
            return Err(Error::field(
                field,
                "id-mapped mounts are only supported for bind-mounts",
            ));
        }
        let both = |uid: &Option<Vec<LinuxIdMapping>>, gid: &Option<Vec<LinuxIdMapping>>| match (
            uid.as_deref().filter(|v| !v.is_empty()),
            gid.as_deref().filter(|v| !v.is_empty()),
        ) {
            (Some(u), Some(g)) => Ok((u.to_vec(), g.to_vec())),
            _ => Err(Error::field(
                field.clone(),
                "id-mapped mounts must have both uid and gid mappings specified",
            )),
        };
        let maps = if m.uid_mappings().is_some() || m.gid_mappings().is_some() {
            Some(both(m.uid_mappings(), m.gid_mappings())?)
        } else if plan.joins(LinuxNamespaceType::User) {
            None
        } else if plan.has_new(LinuxNamespaceType::User) {
            let l = linux.ok_or_else(|| Error::field("linux", "missing"))?;
            Some(both(l.uid_mappings(), l.gid_mappings())?)
        } else {
            return Err(Error::field(
                field,
                "id-mapped mounts must have both uid and gid mappings specified \
                 (idmap without uidMappings/gidMappings takes the container's user \
                 namespace, and it has none)",
            ));
        };
        let userns = match maps {
            Some((uid, gid)) => out
                .userns_for(&uid, &gid)
                .map_err(|e| Error::field(field.clone(), e.to_string()))?,
            None => out.joined_userns(plan)?,
        };
        out.mounts.push(Idmapped {
            index: i,
            source: bind_source(m, bundle),
            field,
            recursive: parsed.idmap == Some(true),
            userns,
        });
    }
    Ok(out)
}

impl Prepared {
    /// The user namespace the container joins by path (a dup of the fd the
    /// namespace plan opened).
    fn joined_userns(&mut self, plan: &Plan) -> Result<usize> {
        if let Some(i) = self.usernses.iter().position(|(k, _)| k.is_none()) {
            return Ok(i);
        }
        let file: &File = plan
            .join
            .iter()
            .find(|(t, _, _)| *t == LinuxNamespaceType::User)
            .map(|(_, _, f)| f)
            .ok_or_else(|| Error::Other("no user namespace to join".into()))?;
        let fd = file
            .as_fd()
            .try_clone_to_owned()
            .ctx(|| "dup the joined user namespace".into())?;
        self.usernses.push((None, fd));
        Ok(self.usernses.len() - 1)
    }

    /// A user namespace with these maps: one per distinct mapping.
    fn userns_for(&mut self, uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<usize> {
        let k = (key(uid), key(gid));
        if let Some(i) = self
            .usernses
            .iter()
            .position(|(have, _)| have.as_ref() == Some(&k))
        {
            return Ok(i);
        }
        let fd = new_userns(uid, gid)?;
        self.usernses.push((Some(k), fd));
        Ok(self.usernses.len() - 1)
    }
}

/// Kills and reaps the throwaway child on every path out.
struct Reaper(libc::pid_t);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.0), Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(self.0), None);
    }
}

fn map_lines(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// A user namespace with `uid`/`gid` maps, held by an fd: a child is born in
/// it and blocks on a pipe while we write its maps (as host root, no
/// setgroups "deny" is needed) and open /proc/CHILD/ns/user; then it is
/// killed and reaped (it would also exit on the pipe's EOF if we died).
fn new_userns(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<OwnedFd> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).ctx(|| "pipe".into())?;
    let pid = syscall::clone_fork(libc::CLONE_NEWUSER)
        .ctx(|| "clone a user namespace for the id mapping".into())?;
    if pid == 0 {
        drop(w);
        let mut b = [0u8; 1];
        // SAFETY: read of one byte into a valid buffer, then _exit, which
        // skips the atexit handlers that belong to the parent.
        unsafe {
            libc::read(r.as_raw_fd(), b.as_mut_ptr().cast(), 1);
            libc::_exit(0)
        }
    }
    drop(r);
    let _child = Reaper(pid);
    std::fs::write(format!("/proc/{pid}/uid_map"), map_lines(uid))
        .map_err(|e| Error::Other(format!("uidMappings: write uid_map: {e}")))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), map_lines(gid))
        .map_err(|e| Error::Other(format!("gidMappings: write gid_map: {e}")))?;
    let ns = File::open(format!("/proc/{pid}/ns/user"))
        .ctx(|| "open the id mapping's user namespace".into())?;
    drop(w);
    Ok(ns.into())
}

/// Runtime side: serves the init's requests, one per idmapped mount in
/// order. A request names the mount and the init's fd of its detached copy;
/// we take that fd (pidfd_getfd: the init is our child), set
/// MOUNT_ATTR_IDMAP on it and let the init carry on.
pub fn serve(p: &Prepared, chan: &Channel, pid: libc::pid_t) -> Result<()> {
    if p.mounts.is_empty() {
        return Ok(());
    }
    let pidfd = syscall::pidfd_open(pid).ctx(|| "pidfd_open of the init".into())?;
    for want in &p.mounts {
        let (index, fd) = match chan.recv()? {
            Msg::Idmap(i, fd) => (i, fd),
            Msg::Error(e) => return Err(Error::Init(e)),
            m => return Err(Error::Init(format!("unexpected message {m:?} from peer"))),
        };
        if index != want.index {
            return Err(Error::Init(format!(
                "idmap request for mounts[{index}], expected mounts[{}]",
                want.index
            )));
        }
        let tree = syscall::pidfd_getfd(pidfd.as_fd(), fd)
            .ctx(|| "pidfd_getfd of the detached mount".into())
            .map_err(|e| Error::field(want.field.clone(), e.to_string()))?;
        set_idmap(
            tree.as_fd(),
            p.usernses[want.userns].1.as_fd(),
            want.recursive,
        )
        .map_err(|e| {
            let extra = if e == Errno::EINVAL {
                " (maybe the filesystem used doesn't support idmap mounts on this kernel?)"
            } else {
                ""
            };
            Error::field(
                want.field.clone(),
                format!(
                    "failed to set MOUNT_ATTR_IDMAP on {}: {e}{extra}",
                    want.source.display()
                ),
            )
        })?;
        chan.go("")?;
    }
    crate::logging::step("idmapped mounts set");
    Ok(())
}

fn set_idmap(tree: BorrowedFd, userns: BorrowedFd, recursive: bool) -> Result<(), Errno> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        userns_fd: userns.as_raw_fd() as u64,
        ..MountAttr::default()
    };
    syscall::mount_setattr(tree, recursive, &attr)
}

/// Init side: the detached copy of `src` (recursive for rbind), idmapped by
/// the runtime through `ask`, moved onto `target`.
pub fn bind(
    src: &Path,
    recursive: bool,
    target: BorrowedFd,
    ask: &dyn Fn(BorrowedFd) -> Result<()>,
) -> Result<()> {
    let tree = syscall::open_tree_clone(src, recursive)
        .ctx(|| format!("open_tree(OPEN_TREE_CLONE) {}", src.display()))?;
    ask(tree.as_fd())?;
    syscall::move_mount(tree.as_fd(), target)
        .ctx(|| format!("move_mount of the idmapped {}", src.display()))
    // Dropping `tree` now closes our handle; the mount stays where it went.
}
