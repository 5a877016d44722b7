//! The runtime's verbs, one file each.

pub mod checkpoint;
pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod restore;
pub mod run;
pub mod start;
pub mod update;

use std::path::Path;

use crate::state::{self, ContainerDir, State, Status};
use crate::Result;

/// Opens a container and reads its state and live status.
pub fn load(root: &Path, id: &str) -> Result<(ContainerDir, State, Status)> {
    let dir = ContainerDir::open(root, id)?;
    let st = dir.load()?;
    let status = state::status(&dir, &st);
    Ok((dir, st, status))
}

/// The state JSON hooks receive on stdin.
pub fn hook_state(st: &State, status: Status) -> Vec<u8> {
    serde_json::to_vec(&st.report(status)).unwrap_or_default()
}
