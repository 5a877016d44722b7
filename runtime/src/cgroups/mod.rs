//! The container's cgroup, through youki's libcgroups (v1, hybrid and v2).
//!
//! The cgroup exists before the user process runs: create adds the init to it
//! while the init waits on the sync channel.

mod devices;
pub mod join;

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use libcgroups::common::{
    create_cgroup_manager, AnyCgroupManager, CgroupConfig, CgroupManager, ControllerOpt,
    FreezerState,
};
use nix::unistd::Pid;
use oci_spec::runtime::{
    LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxHugepageLimit, LinuxResources, Spec,
};

use crate::state::State;
use crate::{Error, Result};

/// The cgroup path for a container: config's cgroupsPath, or /berth/<id>.
pub fn path_for(spec: &Spec, id: &str, systemd: bool) -> Result<PathBuf> {
    let given = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
    // Every hierarchy's root is joined to it: ".." would reach outside.
    if let Some(p) = given.as_ref().filter(|p| {
        p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    }) {
        return Err(Error::field(
            "linux.cgroupsPath",
            format!("{}: \"..\" is not allowed", p.display()),
        ));
    }
    match given {
        Some(p) if systemd && !p.is_absolute() => Err(Error::field(
            "linux.cgroupsPath",
            "the systemd cgroup driver is not available on this host (no systemd); use --systemd-cgroup=false",
        )),
        // Relative paths hang below the runtime's own cgroup, as runc reads them.
        Some(p) if !p.is_absolute() => Ok(own_cgroup().join(p)),
        Some(p) => Ok(p),
        None => Ok(PathBuf::from(format!("/berth/{id}"))),
    }
}

thread_local! {
    /// The last manager built: `run` creates, then deletes, the same cgroup,
    /// and building a manager re-reads mountinfo once per controller.
    static CACHE: RefCell<Option<(PathBuf, Rc<AnyCgroupManager>)>> = const { RefCell::new(None) };
}

/// The runtime's own cgroup, when every hierarchy agrees on it (always on
/// v2). libcgroups takes one path for all v1 hierarchies; where they differ
/// (this host keeps our shell in a memory cgroup of its own), relative paths
/// start at the hierarchies' root instead.
fn own_cgroup() -> PathBuf {
    own_cgroup_in(&std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default())
}

fn own_cgroup_in(text: &str) -> PathBuf {
    let mut paths = text
        .lines()
        .filter_map(|l| l.splitn(3, ':').nth(2))
        .filter(|p| !p.is_empty());
    let first = paths.next().unwrap_or("/");
    if paths.all(|p| p == first) {
        PathBuf::from(first)
    } else {
        PathBuf::from("/")
    }
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
    v1_dirs_in(crate::mountinfo::runtime_ns()?, path)
}

/// Each hierarchy once, at its first mount (the host's): a container without a
/// mount namespace of its own adds its cgroup mounts below its rootfs to the
/// same table, after the host's.
fn v1_dirs_in(info: &str, path: &Path) -> Option<Vec<PathBuf>> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    let mut seen = Vec::new();
    let dirs: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let mut post = post.split(' ');
            let (fstype, opts) = (post.next()?, post.nth(1)?);
            if fstype != "cgroup" || seen.contains(&opts) {
                return None;
            }
            seen.push(opts);
            pre.split(' ').nth(4)
        })
        .map(|mp| Path::new(mp).join(rel))
        .collect();
    (!dirs.is_empty()).then_some(dirs)
}

/// On a hybrid host, the container's directory on the cgroup2 mount at
/// /sys/fs/cgroup/unified (where this host keeps hugetlb).
pub fn hybrid_unified_dir(path: &Path) -> Option<PathBuf> {
    let unified = Path::new("/sys/fs/cgroup/unified");
    let is_cgroup2 = nix::sys::statfs::statfs(unified)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    is_cgroup2.then(|| unified.join(path.strip_prefix("/").unwrap_or(path)))
}

/// Moves `pid` into the container's cgroup, creating it. On v1 this is a
/// mkdir and a cgroup.procs write per hierarchy, done here; v2 goes through
/// libcgroups, which also enables the controllers on the way down.
pub fn join(path: &Path, pid: i32) -> Result<()> {
    let Some(dirs) = v1_dirs(path) else {
        return add(path, pid);
    };
    for d in &dirs {
        make_v1_dir(d)?;
        write_procs(d, pid)?;
    }
    // Hybrid: join the unified hierarchy too (as runc does), so controllers
    // that live only there (hugetlb here) can limit the container.
    if let Some(u) = hybrid_unified_dir(path) {
        std::fs::create_dir_all(&u)
            .map_err(|e| Error::Cgroup(format!("create {}: {e}", u.display())))?;
        write_procs(&u, pid)?;
    }
    Ok(())
}

/// Moves `pid` into the cgroup `dir` of one hierarchy (a migration by pid).
fn write_procs(dir: &Path, pid: i32) -> Result<()> {
    std::fs::write(dir.join("cgroup.procs"), pid.to_string())
        .map_err(|e| Error::Cgroup(format!("add pid {pid} to {}: {e}", dir.display())))
}

/// On a pure v2 host: makes the container's cgroup, enabling the host's
/// controllers on the way down, and opens it for the init to be cloned
/// straight into it (CLONE_INTO_CGROUP). None on v1 and hybrid hosts.
pub fn prepare_v2(path: &Path) -> Result<Option<OwnedFd>> {
    let root = Path::new("/sys/fs/cgroup");
    if !pure_v2() {
        return Ok(None);
    }
    let ctx = |d: &Path, e: std::io::Error| Error::Cgroup(format!("create {}: {e}", d.display()));
    let wanted = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
    let dir = v2_dir(path);
    let mut cur = root.to_path_buf();
    for part in dir.strip_prefix(root).unwrap_or(&dir).components() {
        enable_controllers(&cur, &wanted);
        cur.push(part);
        match std::fs::create_dir(&cur) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(ctx(&cur, e)),
            _ => {}
        }
    }
    let fd = std::fs::File::open(&dir).map_err(|e| ctx(&dir, e))?;
    Ok(Some(fd.into()))
}

/// The container's existing cgroup opened for clone3 (`exec`), on pure v2.
pub fn open_v2(path: &Path) -> Option<OwnedFd> {
    let dir = v2_dir(path);
    pure_v2()
        .then(|| std::fs::File::open(dir).ok())
        .flatten()
        .map(OwnedFd::from)
}

/// The container's directory in the unified hierarchy of a pure v2 host.
fn v2_dir(path: &Path) -> PathBuf {
    Path::new("/sys/fs/cgroup").join(path.strip_prefix("/").unwrap_or(path))
}

pub(super) fn pure_v2() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup")
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// Enables in `dir`'s subtree_control each of `wanted` it lacks. Writing only
/// what is missing matters: any write there re-applies the controllers and
/// waits for an RCU grace period. Best effort, as libcgroups: a controller
/// left off (a parent with processes of its own, a delegation boundary) makes
/// the limit that needs it fail when applied, naming its field.
fn enable_controllers(dir: &Path, wanted: &str) {
    let file = dir.join("cgroup.subtree_control");
    let have = std::fs::read_to_string(&file).unwrap_or_default();
    let missing: Vec<String> = wanted
        .split_whitespace()
        .filter(|c| !have.split_whitespace().any(|h| h == *c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() || std::fs::write(&file, missing.join(" ")).is_ok() {
        return;
    }
    for c in &missing {
        let _ = std::fs::write(&file, c);
    }
}

/// Makes a container's dir in one v1 hierarchy; in cpuset's, with the CPUs
/// and memory nodes of its parent (a new cpuset has none, and takes no task).
fn make_v1_dir(d: &Path) -> Result<()> {
    std::fs::create_dir_all(d)
        .map_err(|e| Error::Cgroup(format!("create {}: {e}", d.display())))?;
    if in_hierarchy(d, "cpuset") {
        fill_cpuset(d)?;
    }
    Ok(())
}

/// Whether `d` lies in the v1 hierarchy mounted as (or with) `controller`
/// (a component of its path names it).
fn in_hierarchy(d: &Path, controller: &str) -> bool {
    d.components().any(|c| {
        c.as_os_str()
            .to_str()
            .is_some_and(|s| s.split(',').any(|x| x == controller))
    })
}

/// A new v1 cpuset cgroup starts with no cpus and mems, and refuses tasks:
/// copy them down from the nearest parent that has them, each file read once.
fn fill_cpuset(dir: &Path) -> Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        // `dir` and the ancestors found empty, deepest first.
        let mut empty = Vec::new();
        let mut cur = dir.to_path_buf();
        let value = loop {
            let v = std::fs::read_to_string(cur.join(file)).unwrap_or_default();
            if !v.trim().is_empty() {
                break v;
            }
            empty.push(cur.clone());
            if !cur.pop() {
                break v;
            }
        };
        // Fill from the top down: a child can't have what its parent lacks.
        for d in empty.iter().rev() {
            std::fs::write(d.join(file), value.trim())
                .map_err(|e| Error::Cgroup(format!("{}: {e}", d.join(file).display())))?;
        }
    }
    Ok(())
}

/// Applies linux.resources (libcgroups); the cgroup exists already.
pub fn apply(path: &Path, spec: &Spec) -> Result<()> {
    let mut resources = resources_with_devices(spec)?;
    take_hybrid_hugetlb(path, &mut resources)?;
    if let Some(dir) = devices::only_rules_dir(path, &resources) {
        return devices::write_rules(&dir, &resources);
    }
    let m = manager(path)?;
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
    m.apply(&opt).map_err(|e| {
        let msg = e.to_string();
        Error::field(field_of(&resources, &msg), msg)
    })
}

/// Fields one cgroup version can't hold fail here, before any cgroup is
/// touched (libcgroups would skip them silently). `create` and `update`
/// call it first.
pub fn check_layout(resources: &LinuxResources, path: &Path) -> Result<()> {
    let net = resources.network().as_ref();
    let wants_net = net.is_some_and(|n| {
        n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty())
    });
    let wants_unified = resources.unified().as_ref().is_some_and(|u| !u.is_empty());
    if !wants_net && !wants_unified {
        return Ok(());
    }
    let v1 = v1_dirs(path).is_some();
    check_unified(resources, v1)?;
    if wants_net && !v1 {
        return Err(Error::field(
            "linux.resources.network",
            "cgroup v2 has no net_cls/net_prio controller (classID and priorities are v1 only)",
        ));
    }
    Ok(())
}

/// linux.resources.unified: cgroup v2 file names, written as given. A key
/// must name a file of the container's own cgroup (libcgroups joins it to the
/// path unchecked), and v1 hosts have no such files (runc refuses too).
fn check_unified(resources: &LinuxResources, v1: bool) -> Result<()> {
    let Some(unified) = resources.unified().as_ref().filter(|u| !u.is_empty()) else {
        return Ok(());
    };
    let mut keys: Vec<&String> = unified.keys().collect();
    keys.sort();
    if let Some(bad) = keys.iter().find(|k| !is_cgroup_file_name(k)) {
        return Err(Error::field(
            format!("linux.resources.unified[{bad:?}]"),
            "not a cgroup v2 file name (want <controller>.<file>, no '/')",
        ));
    }
    if v1 {
        return Err(Error::field(
            "linux.resources.unified",
            format!(
                "{} (cgroup v2 files): this host's controllers are on cgroup v1",
                keys.iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(())
}

fn is_cgroup_file_name(k: &str) -> bool {
    matches!(k.split_once('.'), Some((c, f)) if !c.is_empty() && !f.is_empty())
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// The spec field behind libcgroups' error text: a unified key it names,
/// else the field of the cgroup file it names.
pub fn field_of(resources: &LinuxResources, msg: &str) -> String {
    resources
        .unified()
        .iter()
        .flatten()
        .map(|(k, _)| k)
        .find(|k| names_file(msg, k))
        .map_or_else(
            || resource_field(msg).to_string(),
            |k| format!("linux.resources.unified[{k:?}]"),
        )
}

/// On a hybrid host without a v1 hugetlb hierarchy, applies hugepageLimits
/// on the unified mount and takes them out of what libcgroups gets.
fn take_hybrid_hugetlb(path: &Path, resources: &mut LinuxResources) -> Result<()> {
    let huge = resources.hugepage_limits().clone().unwrap_or_default();
    if huge.is_empty() || has_v1_hugetlb() {
        return Ok(());
    }
    if let Some(u) = hybrid_unified_dir(path) {
        apply_unified_hugetlb(Path::new("/sys/fs/cgroup/unified"), &u, &huge)?;
        resources.set_hugepage_limits(None);
    }
    Ok(())
}

fn has_v1_hugetlb() -> bool {
    Path::new("/sys/fs/cgroup/hugetlb").is_dir()
}

/// hugetlb limits through cgroup2 on a hybrid host: enable the controller
/// from the root down to the container's parent, then write each limit.
fn apply_unified_hugetlb(root: &Path, dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<()> {
    let mut chain: Vec<&Path> = dir
        .ancestors()
        .skip(1)
        .take_while(|p| p.starts_with(root))
        .collect();
    chain.reverse();
    for p in chain {
        let ctl = p.join("cgroup.subtree_control");
        let cur = std::fs::read_to_string(&ctl).unwrap_or_default();
        if !cur.split_whitespace().any(|c| c == "hugetlb") {
            std::fs::write(&ctl, "+hugetlb").map_err(|e| {
                Error::field(
                    "linux.resources.hugepageLimits",
                    format!("enable hugetlb in {}: {e}", ctl.display()),
                )
            })?;
        }
    }
    for (i, l) in limits.iter().enumerate() {
        let file = dir.join(format!("hugetlb.{}.max", l.page_size()));
        std::fs::write(&file, l.limit().to_string()).map_err(|e| {
            Error::field(
                format!("linux.resources.hugepageLimits[{i}]"),
                format!("{}: {e}", file.display()),
            )
        })?;
    }
    Ok(())
}

/// Whether `msg` holds a path ending in the file `name` (not `name.more`).
fn names_file(msg: &str, name: &str) -> bool {
    let pat = format!("/{name}");
    msg.match_indices(&pat).any(|(i, _)| {
        msg[i + pat.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
    })
}

/// Names the spec field behind a cgroup file in libcgroups' error text.
fn resource_field(msg: &str) -> &'static str {
    const FILES: &[(&str, &str)] = &[
        ("cpuset.cpus", "linux.resources.cpu.cpus"),
        ("cpuset.mems", "linux.resources.cpu.mems"),
        ("cpu.shares", "linux.resources.cpu.shares"),
        ("cpu.cfs_quota_us", "linux.resources.cpu.quota"),
        ("cpu.cfs_period_us", "linux.resources.cpu.period"),
        (
            "cpu.rt_",
            "linux.resources.cpu.realtimeRuntime/realtimePeriod",
        ),
        (
            "realtime",
            "linux.resources.cpu.realtimeRuntime/realtimePeriod",
        ),
        ("cpu.max", "linux.resources.cpu.quota/period"),
        ("cpu.weight", "linux.resources.cpu.shares"),
        ("memory.memsw", "linux.resources.memory.swap"),
        ("memory.swappiness", "linux.resources.memory.swappiness"),
        ("memory.soft_limit", "linux.resources.memory.reservation"),
        ("memory.limit_in_bytes", "linux.resources.memory.limit"),
        ("memory.max", "linux.resources.memory.limit"),
        ("memory.swap.max", "linux.resources.memory.swap"),
        ("memory.low", "linux.resources.memory.reservation"),
        (
            "memory.oom_control",
            "linux.resources.memory.disableOOMKiller",
        ),
        ("pids.max", "linux.resources.pids.limit"),
        ("blkio.", "linux.resources.blockIO"),
        ("io.", "linux.resources.blockIO"),
        ("hugetlb", "linux.resources.hugepageLimits"),
        ("devices.", "linux.resources.devices"),
        ("net_cls", "linux.resources.network.classID"),
        ("net_prio", "linux.resources.network.priorities"),
    ];
    FILES
        .iter()
        .find(|(f, _)| msg.contains(f))
        .map_or("linux.resources", |(_, field)| field)
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
    for d in &dirs {
        // rmdir first: an empty cgroup (the usual end) needs no cgroup.procs read.
        match std::fs::remove_dir(d) {
            Ok(()) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) if e.raw_os_error() != Some(libc::EBUSY) => {
                return Err(Error::Cgroup(format!("remove {}: {e}", d.display())))
            }
            Err(_) => {}
        }
        let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        rmdir_retry(d)?;
    }
    if let Some(u) = hybrid_unified_dir(path) {
        rmdir_retry(&u)?;
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

/// Applies only the fields set in `resources` to a running container's
/// cgroup (`update`). The error is libcgroups' own text, for the caller to
/// name the field it came from.
pub fn update(path: &Path, resources: &LinuxResources) -> std::result::Result<(), String> {
    let m = manager(path).map_err(|e| e.to_string())?;
    let mut resources = resources.clone();
    take_hybrid_hugetlb(path, &mut resources).map_err(|e| e.to_string())?;
    let resources = &resources;
    // libcgroups rewrites memory.oom_control with every memory change: keep
    // what the container has.
    let disable_oom_killer = controller_dir(path, "memory")
        .and_then(|d| std::fs::read_to_string(d.join("memory.oom_control")).ok())
        .is_some_and(|s| s.lines().any(|l| l.trim() == "oom_kill_disable 1"));
    let opt = ControllerOpt {
        resources,
        disable_oom_killer,
        oom_score_adj: None,
        freezer_state: None,
    };
    m.apply(&opt).map_err(|e| e.to_string())
}

/// libcgroups' statistics of the container's cgroup.
pub fn stats(path: &Path) -> Result<libcgroups::stats::Stats> {
    manager(path)?
        .stats()
        .map_err(|e| Error::Cgroup(format!("stats of {}: {e}", path.display())))
}

/// The directory of the container's cgroup for one controller: its v1
/// hierarchy, or the unified dir on pure v2. None when it has no such dir.
pub fn controller_dir(path: &Path, controller: &str) -> Option<PathBuf> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    match v1_dirs(path) {
        Some(dirs) => dirs.into_iter().find(|d| {
            d.strip_prefix("/sys/fs/cgroup")
                .ok()
                .and_then(|r| r.components().next())
                .and_then(|c| c.as_os_str().to_str())
                .is_some_and(|h| h.split(',').any(|x| x == controller))
        }),
        None => Some(Path::new("/sys/fs/cgroup").join(rel)),
    }
    .filter(|d| d.is_dir())
}

/// The number of OOM kills in the container's memory cgroup: `oom_kill` of
/// memory.oom_control (v1) or memory.events (v2). None once the cgroup is gone.
pub fn oom_kills(path: &Path) -> Option<u64> {
    let dir = controller_dir(path, "memory")?;
    let text = std::fs::read_to_string(dir.join("memory.oom_control"))
        .or_else(|_| std::fs::read_to_string(dir.join("memory.events")))
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
        .or(Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_dirs_come_from_every_v1_mount_and_none_on_v2() {
        let hybrid = "\
25 24 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
29 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
90 80 0:26 /berth/y /b/rootfs/sys/fs/cgroup/memory rw - cgroup cgroup rw,memory";
        // The last line: a container without a mount namespace mounted the
        // hierarchy again below its rootfs; the host's mount is the one.
        let dirs = v1_dirs_in(hybrid, Path::new("/berth/x")).unwrap();
        assert_eq!(
            dirs,
            [
                PathBuf::from("/sys/fs/cgroup/systemd/berth/x"),
                PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/berth/x"),
                PathBuf::from("/sys/fs/cgroup/memory/berth/x"),
            ]
        );
        let v2 = "25 24 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate";
        assert!(v1_dirs_in(v2, Path::new("/x")).is_none());
    }

    #[test]
    fn own_cgroup_only_when_hierarchies_agree() {
        assert_eq!(
            own_cgroup_in("0::/kubepods/pod1\n"),
            PathBuf::from("/kubepods/pod1")
        );
        assert_eq!(
            own_cgroup_in("2:cpu:/a\n1:memory:/a\n0::/a\n"),
            PathBuf::from("/a")
        );
        assert_eq!(
            own_cgroup_in("4:memory:/process_api/x\n3:pids:/\n0::/\n"),
            PathBuf::from("/")
        );
    }

    #[test]
    fn resource_errors_name_the_field() {
        assert_eq!(
            resource_field("failed to write 63 to /sys/fs/cgroup/cpuset/b/cpuset.cpus"),
            "linux.resources.cpu.cpus"
        );
        assert_eq!(
            resource_field("write to .../memory.limit_in_bytes: busy"),
            "linux.resources.memory.limit"
        );
        assert_eq!(resource_field("something else"), "linux.resources");
        assert_eq!(
            resource_field("realtime is not supported on v2 yet"),
            "linux.resources.cpu.realtimeRuntime/realtimePeriod"
        );
    }

    fn with_unified(pairs: &[(&str, &str)]) -> LinuxResources {
        serde_json::from_value(serde_json::json!({
            "unified": pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::HashMap<_, _>>()
        }))
        .unwrap()
    }

    #[test]
    fn unified_keys_are_checked() {
        let ok = with_unified(&[("memory.high", "1M"), ("io.bfq.weight", "50")]);
        assert!(check_unified(&ok, false).is_ok());
        let e = check_unified(&ok, true).unwrap_err().to_string();
        assert!(
            e.contains("linux.resources.unified") && e.contains("cgroup v1"),
            "{e}"
        );
        for bad in ["../../etc/x", "memory", "a/b.c", ".max", "memory."] {
            let e = check_unified(&with_unified(&[(bad, "1")]), false)
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
        assert!(check_unified(&LinuxResources::default(), true).is_ok());
    }

    #[test]
    fn unified_errors_name_the_key() {
        let r = with_unified(&[("memory.max", "x")]);
        assert_eq!(
            field_of(&r, "failed to write x to /sys/fs/cgroup/c/memory.max"),
            "linux.resources.unified[\"memory.max\"]"
        );
        assert_eq!(
            field_of(&r, "failed to write to /sys/fs/cgroup/c/pids.max"),
            "linux.resources.pids.limit"
        );
        // A key that is a prefix of the file named is not that file.
        let r = with_unified(&[("cpu.max", "1"), ("cpu.max.burst", "x")]);
        assert_eq!(
            field_of(
                &r,
                "failed to write x to /sys/fs/cgroup/c/cpu.max.burst: bad"
            ),
            "linux.resources.unified[\"cpu.max.burst\"]"
        );
    }

    /// A fake cgroup2 tree: our hybrid hugetlb code enables the controller
    /// in every ancestor's subtree_control and writes the limit file.
    #[test]
    fn unified_hugetlb_enables_the_chain_and_writes_limits() {
        let root = std::env::temp_dir().join(format!("berth-cg2-{}", std::process::id()));
        let dir = root.join("berth").join("c1");
        std::fs::create_dir_all(&dir).unwrap();
        for d in [&root, &root.join("berth")] {
            std::fs::write(d.join("cgroup.subtree_control"), "").unwrap();
        }
        let limit: LinuxHugepageLimit =
            serde_json::from_value(serde_json::json!({"pageSize": "2MB", "limit": 4194304}))
                .unwrap();
        apply_unified_hugetlb(&root, &dir, &[limit]).unwrap();
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(root.join("cgroup.subtree_control")), "+hugetlb");
        assert_eq!(read(root.join("berth/cgroup.subtree_control")), "+hugetlb");
        assert_eq!(read(dir.join("hugetlb.2MB.max")), "4194304");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn cpuset_is_filled_from_the_nearest_parent() {
        let root = std::env::temp_dir().join(format!("berth-cpuset-{}", std::process::id()));
        let leaf = root.join("cpuset").join("berth").join("c1");
        std::fs::create_dir_all(&leaf).unwrap();
        std::fs::write(root.join("cpuset/cpuset.cpus"), "0-3\n").unwrap();
        std::fs::write(root.join("cpuset/cpuset.mems"), "0\n").unwrap();
        for d in [root.join("cpuset/berth"), leaf.clone()] {
            std::fs::write(d.join("cpuset.cpus"), "").unwrap();
            std::fs::write(d.join("cpuset.mems"), "").unwrap();
        }
        fill_cpuset(&leaf).unwrap();
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(root.join("cpuset/berth/cpuset.cpus")), "0-3");
        assert_eq!(read(leaf.join("cpuset.cpus")), "0-3");
        assert_eq!(read(leaf.join("cpuset.mems")), "0");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
