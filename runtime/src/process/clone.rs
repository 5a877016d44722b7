//! How the container's init comes to be: cloned by the runtime (straight into
//! its cgroup on cgroup v2), or, when it joins a user namespace by path and
//! creates other namespaces, by a helper that joins first.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use crate::error::Context;
use crate::namespaces::Plan;
use crate::{syscall, Error, Result};

pub struct Cloned {
    /// 0 in the init, the init's pid in the runtime.
    pub pid: libc::pid_t,
    /// Born in its cgroup (CLONE_INTO_CGROUP): no join needed.
    pub in_cgroup: bool,
    /// Its namespaces joined already (by the helper).
    pub joined: bool,
}

/// Clones the init with `flags` (new namespaces), into `cgroup` when given.
pub fn clone_init(plan: &Plan, flags: libc::c_int, cgroup: Option<&OwnedFd>) -> Result<Cloned> {
    if plan.needs_helper() {
        return via_helper(plan, flags, cgroup);
    }
    plan.join_for_children()?;
    let (pid, in_cgroup) = clone_one(flags, cgroup)?;
    Ok(Cloned {
        pid,
        in_cgroup,
        joined: false,
    })
}

/// Clones with `flags`, into `cgroup` where given and the kernel can; says
/// whether the child was born in it.
pub fn clone_one(flags: libc::c_int, cgroup: Option<&OwnedFd>) -> Result<(libc::pid_t, bool)> {
    if let Some(fd) = cgroup {
        match syscall::clone_into_cgroup(flags, fd.as_fd()) {
            Ok(pid) => return Ok((pid, true)),
            // Before Linux 5.7 (no clone3, or no CLONE_INTO_CGROUP): clone, and
            // the caller joins. Anything else (EAGAIN at pids.max) is the answer.
            Err(Errno::ENOSYS | Errno::E2BIG | Errno::EINVAL) => {}
            Err(e) => return Err(Error::sys("clone into the container's cgroup", e)),
        }
    }
    let pid = syscall::clone_fork(flags).ctx(|| "clone a container process".into())?;
    Ok((pid, false))
}

/// Namespaces are owned by the user namespace of the process that creates
/// them. The helper joins every namespace (the user namespace last), clones
/// the init with the new ones, writes its pid on a pipe and exits; we reap it
/// and, as child subreaper, adopt the init. The helper's own pid namespace is
/// ours (setns of a pid namespace moves only children), so the pid it sees is
/// the one we need.
fn via_helper(plan: &Plan, flags: libc::c_int, cgroup: Option<&OwnedFd>) -> Result<Cloned> {
    nix::sys::prctl::set_child_subreaper(true).ctx(|| "become child subreaper".into())?;
    let cloned = helper_clones(plan, flags, cgroup);
    // The init is ours by now (reparented when the helper exited): adopt no
    // more. (Not inherited: a no-op in the init.)
    let _ = nix::sys::prctl::set_child_subreaper(false);
    cloned
}

fn helper_clones(plan: &Plan, flags: libc::c_int, cgroup: Option<&OwnedFd>) -> Result<Cloned> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).ctx(|| "helper pipe".into())?;
    let (helper, in_cgroup) = clone_one(0, cgroup)?;
    if helper == 0 {
        drop(r);
        let init = plan
            .join_for_children()
            .and_then(|()| plan.join_in_child())
            .and_then(|()| syscall::clone_fork(flags).ctx(|| "clone the container init".into()));
        let (msg, child) = match init {
            Ok(0) => {
                return Ok(Cloned {
                    pid: 0,
                    in_cgroup,
                    joined: true,
                })
            }
            Ok(pid) => (pid.to_string(), Some(pid)),
            Err(e) => (format!("!{e}"), None),
        };
        let sent = File::from(w).write_all(msg.as_bytes()).is_ok();
        if let Some(pid) = child.filter(|_| !sent) {
            // Nobody would know this init: take it down with us.
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let code = i32::from(child.is_none() || !sent);
        // SAFETY: _exit skips atexit handlers that belong to the runtime.
        unsafe { libc::_exit(code) }
    }
    drop(w);
    let mut msg = String::new();
    let read = File::from(r).read_to_string(&mut msg);
    let _ = waitpid(Pid::from_raw(helper), None);
    read.ctx(|| "read the init's pid from the helper".into())?;
    if let Some(e) = msg.strip_prefix('!') {
        return Err(Error::Other(e.to_string()));
    }
    let pid = msg.parse().map_err(|_| {
        Error::Other(format!(
            "namespace helper died before cloning the init ({msg:?})"
        ))
    })?;
    Ok(Cloned {
        pid,
        in_cgroup,
        joined: true,
    })
}
