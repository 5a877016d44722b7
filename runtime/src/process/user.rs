//! Process attributes the init applies before exec: rlimits, oom score,
//! I/O priority, scheduler, and the user and groups it runs as.

use nix::errno::Errno;
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::{
    IOPriorityClass, LinuxSchedulerFlag, LinuxSchedulerPolicy, PosixRlimitType, Process,
};

use crate::error::Context;
use crate::syscall::{ioprio_set, sched_setattr, SchedAttr};
use crate::{Error, Result};

fn rlimit_resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

pub fn apply_rlimits(p: &Process) -> Result<()> {
    for (i, r) in p.rlimits().iter().flatten().enumerate() {
        let lim = libc::rlimit {
            rlim_cur: r.soft(),
            rlim_max: r.hard(),
        };
        // SAFETY: setrlimit reads a valid rlimit struct.
        let ret = unsafe { libc::setrlimit(rlimit_resource(r.typ()), &lim) };
        Errno::result(ret).ctx(|| {
            format!(
                "process.rlimits[{i}] ({}, soft {} hard {}): setrlimit (a hard limit above the host's needs CAP_SYS_RESOURCE)",
                r.typ(),
                r.soft(),
                r.hard()
            )
        })?;
    }
    Ok(())
}

pub fn apply_oom_score_adj(p: &Process) -> Result<()> {
    if let Some(adj) = p.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .ctx(|| format!("process.oomScoreAdj: write {adj}"))?;
    }
    Ok(())
}

pub fn apply_io_priority(p: &Process) -> Result<()> {
    if let Some(io) = p.io_priority() {
        let class = match io.class() {
            IOPriorityClass::IoprioClassRt => 1,
            IOPriorityClass::IoprioClassBe => 2,
            IOPriorityClass::IoprioClassIdle => 3,
        };
        ioprio_set(class, io.priority() as i32).ctx(|| "process.ioPriority: ioprio_set".into())?;
    }
    Ok(())
}

pub fn apply_scheduler(p: &Process) -> Result<()> {
    let Some(s) = p.scheduler() else {
        return Ok(());
    };
    use LinuxSchedulerPolicy::*;
    let policy = match s.policy() {
        SchedOther => 0,
        SchedFifo => 1,
        SchedRr => 2,
        SchedBatch => 3,
        SchedIso => 4,
        SchedIdle => 5,
        SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        };
    }
    let mut attr = SchedAttr {
        policy,
        flags,
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
        ..Default::default()
    };
    sched_setattr(&mut attr).ctx(|| format!("process.scheduler ({:?}): sched_setattr", s.policy()))
}

/// Whether setgroups(2) is allowed here (denied in some user namespaces).
fn setgroups_allowed() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").map_or(true, |s| s.trim() != "deny")
}

/// Sets groups, gid and uid; permitted capabilities survive through KEEPCAPS.
pub fn switch_user(p: &Process) -> Result<()> {
    let u = p.user();
    let gids: Vec<Gid> = u
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    // Tried first: /proc/self/setgroups is read only when it fails.
    match setgroups(&gids) {
        Ok(()) => {}
        Err(Errno::EPERM) if !setgroups_allowed() => {
            if !gids.is_empty() {
                return Err(Error::field(
                    "process.user.additionalGids",
                    "setgroups is denied in this user namespace",
                ));
            }
        }
        Err(e) => {
            return Err(Error::sys("process.user.additionalGids: setgroups", e));
        }
    }
    // SAFETY: prctl with integer arguments only.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) })
        .ctx(|| "prctl(PR_SET_KEEPCAPS)".into())?;
    let gid = Gid::from_raw(u.gid());
    setresgid(gid, gid, gid).ctx(|| format!("process.user.gid {}: setresgid", u.gid()))?;
    let uid = Uid::from_raw(u.uid());
    setresuid(uid, uid, uid).ctx(|| format!("process.user.uid {}: setresuid", u.uid()))?;
    // SAFETY: as above.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) })
        .ctx(|| "prctl(PR_SET_KEEPCAPS)".into())?;
    if let Some(mask) = u.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    Ok(())
}

pub fn set_no_new_privs() -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })
        .map(drop)
        .ctx(|| "process.noNewPrivileges: prctl".into())
}

/// The last steps every container process takes, in runc's order: drop the
/// bounding set while still root, switch user keeping permitted caps, set
/// E/P/I and ambient, enter the cwd (refusing one outside the root), then
/// no_new_privs. Shared by the init and exec'd processes.
pub fn assume_identity(p: &Process) -> Result<()> {
    if let Some(c) = p.capabilities() {
        crate::capabilities::drop_bounding(c)?;
    }
    switch_user(p)?;
    // Without a capabilities object the process keeps root's, as with runc.
    if let Some(c) = p.capabilities() {
        crate::capabilities::set_eip(c)?;
        crate::capabilities::raise_ambient(c)?;
    }
    // lookup_program checked this path from inside the root already, before
    // any seccomp filter: some profiles forbid getcwd.
    nix::unistd::chdir(p.cwd()).ctx(|| format!("process.cwd {}", p.cwd().display()))?;
    if p.no_new_privileges() == Some(true) {
        set_no_new_privs()?;
    }
    Ok(())
}

/// A cwd outside the root (e.g. through a leaked fd, CVE-2024-21626) reads
/// back as "(unreachable)/..." or fails: refuse to run there.
pub fn check_cwd_inside() -> Result<()> {
    match std::env::current_dir() {
        Ok(d) if d.is_absolute() => Ok(()),
        _ => Err(Error::field(
            "process.cwd",
            "the working directory is outside the container's root",
        )),
    }
}

/// Finds args[0] (PATH from process.env) from the process's cwd, so that a
/// missing program is a create-time error, as with runc.
pub fn lookup_program(p: &Process) -> Result<super::exec::Program> {
    // As root, before the user switch (the later chdir reports a bad cwd),
    // and before any seccomp filter: refuse a cwd that leads outside.
    if nix::unistd::chdir(p.cwd()).is_ok() {
        check_cwd_inside()?;
    }
    super::exec::Program::new(p.args().as_deref().unwrap_or_default(), &process_env(p))
}

/// process.env, plus HOME from the container's /etc/passwd when it is unset
/// ("/" for a uid it does not list), as runc sets it. Read inside the root.
pub fn process_env(p: &Process) -> Vec<String> {
    let mut env = p.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(p.user().uid())));
    }
    env
}

fn home_of(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid) && !f[5].is_empty())
                .then(|| f[5].to_string())
        })
        .unwrap_or_else(|| "/".into())
}

/// linux.personality: the execution domain (LINUX32 makes `uname -m` say
/// i686). Flags are ignored with a warning, as runc does; see `check_personality`.
pub fn apply_personality(linux: Option<&oci_spec::runtime::Linux>) -> Result<()> {
    use oci_spec::runtime::LinuxPersonalityDomain;
    let Some(p) = linux.and_then(|l| l.personality().as_ref()) else {
        return Ok(());
    };
    const PER_LINUX32: libc::c_ulong = 0x0008;
    let persona = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    };
    crate::syscall::personality(persona).ctx(|| format!("linux.personality {}", p.domain()))
}

/// Warns about personality flags, which no runtime applies (runc ignores them).
pub fn check_personality(linux: Option<&oci_spec::runtime::Linux>) {
    if let Some(f) = linux
        .and_then(|l| l.personality().as_ref())
        .and_then(|p| p.flags().as_ref())
        .filter(|f| !f.is_empty())
    {
        crate::logging::warn(&format!("linux.personality.flags {f:?}: ignored"));
    }
}
