//! `kill`: signal the init (or, with --all, every process in the cgroup).

use std::os::fd::AsFd;
use std::path::Path;

use nix::sys::signal::{kill as kill_pid, Signal};
use nix::unistd::Pid;

use crate::state::{self, State, Status};
use crate::{cgroups, syscall, Error, Result};

pub fn kill(root: &Path, id: &str, sig: i32, all: bool) -> Result<()> {
    let (_dir, st, status) = super::load(root, id)?;
    if status == Status::Stopped && !all {
        return Err(Error::BadState {
            id: id.to_string(),
            status: status.to_string(),
            msg: "container not running".into(),
        });
    }
    if all {
        return kill_all(&st, sig);
    }
    signal_init(&st, sig)
}

/// Signals the init through a pidfd, after checking it is still our init.
pub fn signal_init(st: &State, sig: i32) -> Result<()> {
    let fd =
        syscall::pidfd_open(st.pid).map_err(|e| Error::sys(format!("pidfd_open {}", st.pid), e))?;
    if !state::init_alive(st) {
        return Ok(());
    }
    syscall::pidfd_send_signal(fd.as_fd(), sig)
        .map_err(|e| Error::sys(format!("signal {sig} to pid {}", st.pid), e))
}

/// Signals every process of the container; frozen ones are thawed so that
/// SIGKILL can take effect.
pub fn kill_all(st: &State, sig: i32) -> Result<()> {
    let Some(cg) = &st.cgroup_path else {
        return signal_init(st, sig);
    };
    let signal = Signal::try_from(sig).map_err(|e| Error::sys("signal", e))?;
    for pid in cgroups::pids(cg)? {
        let _ = kill_pid(Pid::from_raw(pid), signal);
    }
    if signal == Signal::SIGKILL && crate::cgroups::is_frozen(st) {
        cgroups::freeze(cg, false)?;
    }
    Ok(())
}
