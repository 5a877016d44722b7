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
    let spec_hooks = load_poststart(st);
    hooks::run_all_warn(
        Kind::Poststart,
        &spec_hooks,
        &super::hook_state(st, Status::Running),
    );
    Ok(())
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
