//! `start`: release the init waiting on the exec FIFO, then poststart hooks.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::hooks::{self, Kind};
use crate::state::{ContainerDir, State, Status};
use crate::{Error, Result};

pub fn start(root: &Path, id: &str) -> Result<()> {
    let (dir, st, status) = super::load(root, id)?;
    start_loaded(&dir, &st, status)
}

pub fn start_loaded(dir: &ContainerDir, st: &State, status: Status) -> Result<()> {
    if status != Status::Created {
        return Err(Error::BadState {
            id: st.id.clone(),
            status: status.to_string(),
            msg: "only a created container can be started".into(),
        });
    }
    let fifo = dir.fifo();
    // Non-blocking: with no reader (the init died) this fails at once.
    let mut f = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => Error::BadState {
                id: st.id.clone(),
                status: "stopped".into(),
                msg: "its init is no longer waiting".into(),
            },
            _ => Error::io(format!("open {}", fifo.display()), e),
        })?;
    f.write_all(b"0")
        .map_err(|e| Error::io(format!("write {}", fifo.display()), e))?;
    let _ = std::fs::remove_file(&fifo);
    after_release(&f, st, &load_poststart(st));
    Ok(())
}

/// `run`: the same through the pipe its init waits on.
/// The poststart hooks come from the caller, who has the config in memory.
pub fn start_through(
    pipe: std::os::fd::OwnedFd,
    st: &State,
    poststart: &[oci_spec::runtime::Hook],
) -> Result<()> {
    let mut f = std::fs::File::from(pipe);
    f.write_all(b"0").map_err(|e| match e.raw_os_error() {
        Some(libc::EPIPE) => Error::BadState {
            id: st.id.clone(),
            status: "stopped".into(),
            msg: "its init is no longer waiting".into(),
        },
        _ => Error::io("write the start pipe", e),
    })?;
    after_release(&f, st, poststart);
    Ok(())
}

fn after_release(f: &std::fs::File, st: &State, poststart: &[oci_spec::runtime::Hook]) {
    wait_for_exec(f);
    hooks::run_all_warn(
        Kind::Poststart,
        poststart,
        &super::hook_state(st, Status::Running),
    );
}

/// The init holds the FIFO's only read end and closes it on exec (CLOEXEC):
/// the write end then polls POLLERR. So poststart hooks run once the user's
/// process runs, after the startContainer hooks, as the spec orders them.
fn wait_for_exec(f: &std::fs::File) {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: f.as_raw_fd(),
        events: 0,
        revents: 0,
    };
    loop {
        // SAFETY: poll on one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, -1) };
        if n > 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
    }
}

/// poststart hooks are read from the bundle: they are rare, and state.json
/// stays small for the common path.
fn load_poststart(st: &State) -> Vec<oci_spec::runtime::Hook> {
    let file = st.bundle.join("config.json");
    std::fs::read(&file)
        .ok()
        .and_then(|d| crate::spec::parse(&file, &d).ok())
        .map(|s| Kind::Poststart.of(s.hooks()))
        .unwrap_or_default()
}
