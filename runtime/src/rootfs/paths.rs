//! After pivot_root: sysctls, masked paths, read-only paths, a read-only
//! root. Every path here is already inside the container's root.

use std::path::Path;

use nix::errno::Errno;
use nix::mount::MsFlags;

use super::mount;
use super::mounts::{current_flags, remount_bind};
use crate::error::Context;
use crate::{Error, Result};

/// Hides a path: an empty read-only tmpfs over a directory, /dev/null over a file.
pub fn mask(paths: &[String]) -> Result<()> {
    for p in paths {
        let path = Path::new(p);
        // Follows symlinks: they resolve inside the container's root now.
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::field("linux.maskedPaths", format!("{p}: {e}"))),
        };
        let r = if meta.is_dir() {
            mount(
                Some(Path::new("tmpfs")),
                path,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None,
            )
        } else {
            mount(
                Some(Path::new("/dev/null")),
                path,
                None,
                MsFlags::MS_BIND,
                None,
            )
        };
        match r {
            // Gone meanwhile, or a dangling link: nothing to hide.
            Err(Error::Sys {
                errno: Errno::ENOENT,
                ..
            }) => {}
            r => r.map_err(|e| Error::field("linux.maskedPaths", format!("{p}: {e}")))?,
        }
    }
    Ok(())
}

/// Binds a path onto itself and remounts it read-only.
pub fn readonly(paths: &[String]) -> Result<()> {
    for p in paths {
        let path = Path::new(p);
        match mount(
            Some(path),
            path,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        ) {
            Err(Error::Sys {
                errno: Errno::ENOENT,
                ..
            }) => continue,
            r => r.map_err(|e| Error::field("linux.readonlyPaths", format!("{p}: {e}")))?,
        }
        remount_bind(
            path,
            MsFlags::MS_RDONLY | MsFlags::MS_REC | current_flags(path),
        )
        .map_err(|e| Error::field("linux.readonlyPaths", format!("{p}: {e}")))?;
    }
    Ok(())
}

pub fn readonly_root() -> Result<()> {
    let root = Path::new("/");
    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | current_flags(root);
    mount(None, root, None, flags, None).map_err(|e| Error::field("root.readonly", e.to_string()))
}

/// Which namespace a sysctl belongs to; a sysctl outside the container's own
/// namespaces would change the host, so it is refused.
fn sysctl_namespace(key: &str) -> Option<libc::c_int> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(libc::CLONE_NEWIPC)
    } else if key.starts_with("net.") {
        Some(libc::CLONE_NEWNET)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(libc::CLONE_NEWUTS)
    } else {
        None
    }
}

/// Checks the sysctls against the namespaces the container has of its own.
pub fn check_sysctls(keys: &[&String], own_ns: libc::c_int) -> Result<()> {
    for k in keys {
        match sysctl_namespace(k) {
            Some(ns) if own_ns & ns != 0 => {}
            Some(_) => {
                return Err(Error::field(
                    format!("linux.sysctl[{k:?}]"),
                    "needs the container's own namespace for it",
                ))
            }
            None => {
                return Err(Error::field(
                    format!("linux.sysctl[{k:?}]"),
                    "is not namespaced: setting it would change the host",
                ))
            }
        }
    }
    Ok(())
}

pub fn write_sysctls<'a>(entries: impl Iterator<Item = (&'a String, &'a String)>) -> Result<()> {
    for (k, v) in entries {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        std::fs::write(&path, v).ctx(|| format!("linux.sysctl[{k:?}]: write {path}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctls_need_their_namespace() {
        let net = "net.ipv4.ip_forward".to_string();
        let host = "kernel.pid_max".to_string();
        assert!(check_sysctls(&[&net], libc::CLONE_NEWNET).is_ok());
        assert!(check_sysctls(&[&net], libc::CLONE_NEWIPC).is_err());
        assert!(check_sysctls(&[&host], !0).is_err());
    }
}
