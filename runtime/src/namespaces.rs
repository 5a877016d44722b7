//! Which namespaces a container gets: new ones become clone/unshare flags,
//! ones with a path are joined with setns.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::Context;
use crate::{Error, Result};

pub fn flag(t: LinuxNamespaceType) -> libc::c_int {
    match t {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => libc::CLONE_NEWTIME,
    }
}

/// The namespaces of a spec, split into those to create and those to join.
#[derive(Default)]
pub struct Plan {
    /// Flags of namespaces to create.
    pub new: libc::c_int,
    /// Namespaces to join, opened before anything moves: (type, path, file).
    pub join: Vec<(LinuxNamespaceType, PathBuf, File)>,
}

impl Plan {
    pub fn from_spec(spec: &Spec) -> Result<Plan> {
        let mut plan = Plan::default();
        let list = spec.linux().as_ref().and_then(|l| l.namespaces().clone());
        for ns in list.into_iter().flatten() {
            match ns.path() {
                None => plan.new |= flag(ns.typ()),
                Some(p) => {
                    let f = File::open(p).map_err(|e| {
                        Error::field(
                            format!("linux.namespaces[{:?}].path", ns.typ()),
                            format!("{}: {e}", p.display()),
                        )
                    })?;
                    plan.join.push((ns.typ(), p.clone(), f));
                }
            }
        }
        // The user namespace must be joined first: it grants the rights to
        // join the others.
        plan.join
            .sort_by_key(|(t, _, _)| *t != LinuxNamespaceType::User);
        Ok(plan)
    }

    pub fn has_new(&self, t: LinuxNamespaceType) -> bool {
        self.new & flag(t) != 0
    }

    pub fn joins(&self, t: LinuxNamespaceType) -> bool {
        self.join.iter().any(|(jt, _, _)| *jt == t)
    }

    /// Joins every listed namespace except pid and time (the parent joins
    /// those, since they only apply to children).
    pub fn join_in_child(&self) -> Result<()> {
        for (t, path, f) in &self.join {
            if matches!(t, LinuxNamespaceType::Pid | LinuxNamespaceType::Time) {
                continue;
            }
            crate::syscall::setns(f.as_fd(), flag(*t))
                .ctx(|| format!("join {:?} namespace {}", t, path.display()))?;
        }
        Ok(())
    }

    /// Joins the pid and time namespaces for our children-to-be.
    pub fn join_in_parent(&self) -> Result<()> {
        for (t, path, f) in &self.join {
            if matches!(t, LinuxNamespaceType::Pid | LinuxNamespaceType::Time) {
                crate::syscall::setns(f.as_fd(), flag(*t))
                    .ctx(|| format!("join {:?} namespace {}", t, path.display()))?;
            }
        }
        Ok(())
    }
}
