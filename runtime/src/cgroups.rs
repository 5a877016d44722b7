//! The container's cgroup, through youki's libcgroups (v1, hybrid and v2).
//!
//! The cgroup exists before the user process runs: create adds the init to it
//! while the init waits on the sync channel.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use libcgroups::common::{
    create_cgroup_manager, AnyCgroupManager, CgroupConfig, CgroupManager, ControllerOpt,
    FreezerState,
};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResources, Spec};

use crate::state::State;
use crate::{Error, Result};

/// The cgroup path for a container: config's cgroupsPath, or /berth/<id>.
pub fn path_for(spec: &Spec, id: &str, systemd: bool) -> Result<PathBuf> {
    let given = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
    match given {
        Some(p) if systemd && !p.is_absolute() => Err(Error::field(
            "linux.cgroupsPath",
            "the systemd cgroup driver is not available on this host (no systemd); use --systemd-cgroup=false",
        )),
        // Relative paths are taken from each hierarchy's root, as crun does.
        Some(p) if !p.is_absolute() => Ok(Path::new("/").join(p)),
        Some(p) => Ok(p),
        None => Ok(PathBuf::from(format!("/berth/{id}"))),
    }
}

thread_local! {
    /// The last manager built: `run` creates, then deletes, the same cgroup,
    /// and building a manager re-reads mountinfo once per controller.
    static CACHE: RefCell<Option<(PathBuf, Rc<AnyCgroupManager>)>> = const { RefCell::new(None) };
}

fn manager(path: &Path) -> Result<Rc<AnyCgroupManager>> {
    if let Some(m) = CACHE.with_borrow(|c| {
        c.as_ref()
            .filter(|(p, _)| p == path)
            .map(|(_, m)| Rc::clone(m))
    }) {
        return Ok(m);
    }
    let m = Rc::new(
        create_cgroup_manager(CgroupConfig {
            cgroup_path: path.to_path_buf(),
            systemd_cgroup: false,
            container_name: String::new(),
        })
        .map_err(|e| Error::Cgroup(format!("{}: {e}", path.display())))?,
    );
    CACHE.with_borrow_mut(|c| *c = Some((path.to_path_buf(), Rc::clone(&m))));
    Ok(m)
}

/// Creates the cgroup, applies linux.resources and moves `pid` into it.
pub fn setup(path: &Path, spec: &Spec, pid: i32) -> Result<()> {
    let m = manager(path)?;
    m.add_task(Pid::from_raw(pid))
        .map_err(|e| Error::Cgroup(format!("add pid {pid} to {}: {e}", path.display())))?;
    let resources = resources_with_devices(spec)?;
    let opt = ControllerOpt {
        resources: &resources,
        disable_oom_killer: resources
            .memory()
            .as_ref()
            .and_then(|m| m.disable_oom_killer())
            .unwrap_or(false),
        oom_score_adj: spec.process().as_ref().and_then(|p| p.oom_score_adj()),
        freezer_state: None,
    };
    m.apply(&opt)
        .map_err(|e| Error::field("linux.resources", e.to_string()))
}

/// linux.resources plus an allow rule for every linux.devices node, so the
/// devices the spec creates are usable under a deny-all device cgroup.
fn resources_with_devices(spec: &Spec) -> Result<LinuxResources> {
    let linux = spec.linux().as_ref();
    let mut res = linux
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    let extra: Vec<_> = linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
        // Only character and block devices have device cgroup rules.
        .filter(|d| {
            matches!(
                d.typ(),
                LinuxDeviceType::C | LinuxDeviceType::U | LinuxDeviceType::B
            )
        })
        .filter_map(|d| {
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(d.typ())
                .major(d.major())
                .minor(d.minor())
                .access("rwm")
                .build()
                .ok()
        })
        .collect();
    if !extra.is_empty() {
        let mut devs = res.devices().clone().unwrap_or_default();
        devs.extend(extra);
        res.set_devices(Some(devs));
    }
    Ok(res)
}

/// Moves a process (an exec) into the container's cgroup.
pub fn add(path: &Path, pid: i32) -> Result<()> {
    manager(path)?
        .add_task(Pid::from_raw(pid))
        .map_err(|e| Error::Cgroup(format!("add pid {pid} to {}: {e}", path.display())))
}

/// Removes the container's cgroup (killing what is left in it).
pub fn remove(path: &Path) -> Result<()> {
    manager(path)?
        .remove()
        .map_err(|e| Error::Cgroup(format!("remove {}: {e}", path.display())))
}

/// Pids in the container's cgroup.
pub fn pids(path: &Path) -> Result<Vec<i32>> {
    let pids = manager(path)?
        .get_all_pids()
        .map_err(|e| Error::Cgroup(format!("list pids of {}: {e}", path.display())))?;
    Ok(pids.into_iter().map(|p| p.as_raw()).collect())
}

pub fn freeze(path: &Path, frozen: bool) -> Result<()> {
    let state = if frozen {
        FreezerState::Frozen
    } else {
        FreezerState::Thawed
    };
    manager(path)?
        .freeze(state)
        .map_err(|e| Error::Cgroup(format!("freezer {}: {e}", path.display())))
}

/// Whether the container's freezer says FROZEN (v1) or cgroup.freeze is 1 (v2).
pub fn is_frozen(state: &State) -> bool {
    let Some(path) = &state.cgroup_path else {
        return false;
    };
    let rel = path.strip_prefix("/").unwrap_or(path);
    let v1 = Path::new("/sys/fs/cgroup/freezer")
        .join(rel)
        .join("freezer.state");
    if let Ok(s) = std::fs::read_to_string(v1) {
        return s.trim() == "FROZEN";
    }
    let v2 = Path::new("/sys/fs/cgroup").join(rel).join("cgroup.freeze");
    std::fs::read_to_string(v2).is_ok_and(|s| s.trim() == "1")
}
