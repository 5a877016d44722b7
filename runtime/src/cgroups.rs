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

/// The directories of a container's cgroup in every v1 hierarchy (named ones
/// like name=systemd included, as runc joins them), or None on pure v2.
/// One read of mountinfo: this is on the hot path of create.
pub fn v1_dirs(path: &Path) -> Option<Vec<PathBuf>> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let rel = path.strip_prefix("/").unwrap_or(path);
    let dirs: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            (post.split(' ').next() == Some("cgroup")).then(|| pre.split(' ').nth(4))?
        })
        .map(|mp| Path::new(mp).join(rel))
        .collect();
    (!dirs.is_empty()).then_some(dirs)
}

/// Moves `pid` into the container's cgroup, creating it. On v1 this is a
/// mkdir and a cgroup.procs write per hierarchy, done here; v2 goes through
/// libcgroups, which also enables the controllers on the way down.
pub fn join(path: &Path, pid: i32) -> Result<()> {
    let Some(dirs) = v1_dirs(path) else {
        return add(path, pid);
    };
    for d in &dirs {
        std::fs::create_dir_all(d)
            .map_err(|e| Error::Cgroup(format!("create {}: {e}", d.display())))?;
        if d.components().any(|c| {
            c.as_os_str()
                .to_str()
                .is_some_and(|s| s.split(',').any(|x| x == "cpuset"))
        }) {
            fill_cpuset(d)?;
        }
        std::fs::write(d.join("cgroup.procs"), pid.to_string())
            .map_err(|e| Error::Cgroup(format!("add pid {pid} to {}: {e}", d.display())))?;
    }
    Ok(())
}

/// A new v1 cpuset cgroup starts with no cpus and mems, and refuses tasks:
/// copy them down from the nearest parent that has them.
fn fill_cpuset(dir: &Path) -> Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let mut chain = Vec::new();
        let mut cur = dir.to_path_buf();
        let value = loop {
            let v = std::fs::read_to_string(cur.join(file)).unwrap_or_default();
            if !v.trim().is_empty() || !cur.pop() {
                break v;
            }
            chain.push(cur.clone());
        };
        // Fill from the top down: a child can't have what its parent lacks.
        let mut todo = vec![dir.to_path_buf()];
        todo.extend(chain.into_iter().filter(|p| p != dir));
        for d in todo.iter().rev() {
            if std::fs::read_to_string(d.join(file))
                .unwrap_or_default()
                .trim()
                .is_empty()
            {
                std::fs::write(d.join(file), value.trim())
                    .map_err(|e| Error::Cgroup(format!("{}: {e}", d.join(file).display())))?;
            }
        }
    }
    Ok(())
}

/// Applies linux.resources (libcgroups); the cgroup exists already.
pub fn apply(path: &Path, spec: &Spec) -> Result<()> {
    let m = manager(path)?;
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
    let Some(dirs) = v1_dirs(path) else {
        return manager(path)?
            .remove()
            .map_err(|e| Error::Cgroup(format!("remove {}: {e}", path.display())));
    };
    for d in dirs.iter().filter(|d| d.exists()) {
        let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        rmdir_retry(d)?;
    }
    Ok(())
}

/// rmdir of a cgroup whose last task is still exiting fails with EBUSY for
/// a moment: retry briefly.
fn rmdir_retry(d: &Path) -> Result<()> {
    let mut nap = std::time::Duration::from_micros(500);
    for _ in 0..12 {
        match std::fs::remove_dir(d) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(nap);
                nap *= 2;
            }
            Err(e) => return Err(Error::Cgroup(format!("remove {}: {e}", d.display()))),
        }
    }
    Err(Error::Cgroup(format!("remove {}: still busy", d.display())))
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
