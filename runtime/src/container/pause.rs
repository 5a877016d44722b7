//! `pause` and `resume`: the container's freezer cgroup (v1 freezer.state,
//! v2 cgroup.freeze), through libcgroups.

use std::path::Path;

use crate::state::Status;
use crate::{cgroups, Error, Result};

pub fn pause(root: &Path, id: &str) -> Result<()> {
    set_frozen(root, id, true)
}

pub fn resume(root: &Path, id: &str) -> Result<()> {
    set_frozen(root, id, false)
}

fn set_frozen(root: &Path, id: &str, frozen: bool) -> Result<()> {
    let (_dir, st, status) = super::load(root, id)?;
    let (want, msg) = if frozen {
        (Status::Running, "only a running container can be paused")
    } else {
        (Status::Paused, "only a paused container can be resumed")
    };
    if status != want {
        return Err(Error::BadState {
            id: id.to_string(),
            status: status.to_string(),
            msg: msg.into(),
        });
    }
    let Some(cg) = &st.cgroup_path else {
        return Err(Error::BadState {
            id: id.to_string(),
            status: status.to_string(),
            msg: "it has no cgroup to freeze".into(),
        });
    };
    cgroups::freeze(cg, frozen)
}
