//! `delete`: works from any state a create may have left, including a crash
//! halfway through (state "creating"), so `delete --force` always cleans up.

use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::hooks::{self, Kind};
use crate::state::{self, ContainerDir, State, Status};
use crate::{cgroups, syscall, Error, Result};

pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    state::validate_id(id)?;
    let (dir, st, status) = match super::load(root, id) {
        Ok(x) => x,
        Err(Error::NotFound(_)) if force => {
            // A create that died before writing state.json leaves only the dir.
            let _ = std::fs::remove_dir_all(root.join(id));
            return Ok(());
        }
        Err(Error::StateFile { file, msg }) if force => {
            // Nothing of it can be known: say so, and free the id.
            crate::logging::warn(&format!(
                "{}: {msg}; removing the state dir without it (any cgroup or process it had is not cleaned up)",
                file.display()
            ));
            let _ = std::fs::remove_dir_all(root.join(id));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if matches!(status, Status::Running | Status::Paused) && !force {
        return Err(Error::BadState {
            id: id.to_string(),
            status: status.to_string(),
            msg: "cannot delete a container that is not stopped (use --force)".into(),
        });
    }
    destroy(dir, &st, status)
}

pub fn destroy(dir: ContainerDir, st: &State, status: Status) -> Result<()> {
    if status != Status::Stopped {
        stop(st)?;
    }
    if let Some(cg) = &st.cgroup_path {
        if cgroups::is_frozen(st) {
            let _ = cgroups::freeze(cg, false);
        }
        cgroups::remove(cg)?;
    }
    if let Some(before) = &st.host_mounts {
        crate::rootfs::hostns::cleanup(&st.rootfs, before);
    }
    if !st.poststop.is_empty() {
        hooks::run_all_warn(
            Kind::Poststop,
            &st.poststop,
            &super::hook_state(st, Status::Stopped),
        );
    }
    dir.remove()
}

/// SIGKILLs the container and waits until its init is gone.
fn stop(st: &State) -> Result<()> {
    if st.pid <= 0 {
        // A create that died after its init began to wait for start, before
        // it saved the pid (create.rs): the init is in the cgroup.
        if let Some(cg) = &st.cgroup_path {
            for pid in cgroups::pids(cg).unwrap_or_default() {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        return Ok(());
    }
    if !state::init_alive(st) {
        return Ok(());
    }
    let pidfd = syscall::pidfd_open(st.pid).ok();
    if !st.own_pidns {
        // Without its own pid namespace the init's death leaves the rest alive.
        let _ = super::kill::kill_all(st, libc::SIGKILL);
    }
    if let Some(cg) = &st.cgroup_path {
        if cgroups::is_frozen(st) {
            let _ = cgroups::freeze(cg, false);
        }
    }
    let _ = kill(Pid::from_raw(st.pid), Signal::SIGKILL);
    if let Some(fd) = pidfd {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 10_000) };
    } else {
        for _ in 0..1000 {
            if !state::init_alive(st) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(())
}
