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
        Ok(plan)
    }

    pub fn has_new(&self, t: LinuxNamespaceType) -> bool {
        self.new & flag(t) != 0
    }

    pub fn joins(&self, t: LinuxNamespaceType) -> bool {
        self.join.iter().any(|(jt, _, _)| *jt == t)
    }

    /// Whether a helper must clone the init: a user namespace joined by path
    /// must own the namespaces the container creates (Kubernetes' user
    /// namespaces: a container joins its pod's), and clone makes them owned
    /// by the caller's. The cgroup namespace is unshared by the init itself.
    pub fn needs_helper(&self) -> bool {
        self.joins(LinuxNamespaceType::User)
            && self.new & !(libc::CLONE_NEWCGROUP | libc::CLONE_NEWTIME) != 0
    }

    /// Joins every listed namespace except pid and time (those apply to
    /// children: `join_for_children`). The user namespace comes last: as host
    /// root we may join any namespace, but once inside the container's user
    /// namespace not those the host owns (a network namespace made by CNI).
    pub fn join_in_child(&self) -> Result<()> {
        self.join_where(|t| !matches!(t, LinuxNamespaceType::Pid | LinuxNamespaceType::Time))
    }

    /// Joins the pid and time namespaces for our children-to-be.
    pub fn join_for_children(&self) -> Result<()> {
        self.join_where(|t| matches!(t, LinuxNamespaceType::Pid | LinuxNamespaceType::Time))
    }

    fn join_where(&self, pick: impl Fn(LinuxNamespaceType) -> bool) -> Result<()> {
        let user_last = |t: &LinuxNamespaceType| *t == LinuxNamespaceType::User;
        let mut todo: Vec<_> = self.join.iter().filter(|(t, _, _)| pick(*t)).collect();
        todo.sort_by_key(|(t, _, _)| user_last(t));
        for (t, path, f) in todo {
            crate::syscall::setns(f.as_fd(), flag(*t))
                .ctx(|| format!("join {:?} namespace {}", t, path.display()))?;
        }
        Ok(())
    }
}
