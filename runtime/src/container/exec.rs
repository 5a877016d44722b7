//! `exec`: a new process in a running (or created) container. It joins every
//! namespace and the cgroup of the init, then takes the given process's
//! user, capabilities, rlimits, cwd and no_new_privs.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::{setsid, Pid};
use oci_spec::runtime::Process;

use crate::error::Context;
use crate::process::channel::{self, Channel, Msg};
use crate::process::exec::Program;
use crate::process::{clone, cpus, mempolicy, user};
use crate::state::{self, Status};
use crate::{cgroups, console, syscall, Error, Result};

pub struct ExecOpts {
    pub root: PathBuf,
    pub id: String,
    pub process: Process,
    /// Where the pty master goes with --tty: the caller's socket, or none
    /// (we proxy it ourselves in the foreground).
    pub console: Option<OwnedFd>,
    /// --console-socket: connected once no re-exec can come.
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub detach: bool,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
}

/// Namespaces in the order they are joined, the user namespace last: as host
/// root we may join any namespace, but once inside the container's user
/// namespace not those the host owns (a network namespace made by CNI).
const NS: &[(&str, libc::c_int)] = &[
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("mnt", libc::CLONE_NEWNS),
    ("user", libc::CLONE_NEWUSER),
];

pub fn exec(mut opts: ExecOpts) -> Result<i32> {
    let (dir, st, status) = super::load(&opts.root, &opts.id)?;
    match status {
        Status::Created | Status::Running => {}
        Status::Paused if opts.ignore_paused => {}
        s => {
            return Err(Error::BadState {
                id: opts.id.clone(),
                status: s.to_string(),
                msg: "cannot exec into it".into(),
            })
        }
    }
    drop(dir);
    let args = opts.process.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(Error::field("process.args", "exec needs a command"));
    }
    let config = st.bundle.join("config.json");
    let data = std::fs::read(&config).ctx(|| config.display().to_string())?;
    let spec = crate::spec::parse(&config, &data)?;
    // CVE-2019-5736: may re-execute the runtime, so before anything else.
    let trampoline = crate::trampoline::for_exec(&spec, st.own_pidns, &opts.process)?;
    if let Some(p) = &opts.console_socket {
        opts.console = Some(console::connect(p)?);
    }
    let terminal = opts.process.terminal() == Some(true);
    let mut own_console = None;
    if terminal && opts.console.is_none() {
        if opts.detach {
            return Err(Error::Other(
                "--tty with --detach needs --console-socket".into(),
            ));
        }
        let (ours, theirs) =
            std::os::unix::net::UnixStream::pair().ctx(|| "console socketpair".into())?;
        own_console = Some(OwnedFd::from(ours));
        opts.console = Some(theirs.into());
    }
    // The container's filter (runc applies linux.seccomp to exec'd
    // processes too), built before anything happens.
    let mut seccomp = crate::seccomp::from_spec(&spec, &crate::seccomp::cache_dir(&opts.root))?;
    let attrs = Attrs {
        mempolicy: mempolicy::from_spec(&spec)?,
        personality: spec.linux().as_ref(),
        affinity: cpus::affinity(&opts.process)?,
    };
    if let Some(f) = &mut seccomp {
        f.connect()?;
    }
    let container_state = serde_json::json!({
        "ociVersion": crate::spec::OCI_VERSION,
        "id": st.id,
        "status": status.to_string(),
        "pid": st.pid,
        "bundle": st.bundle,
        "annotations": st.annotations,
    })
    .to_string()
    .into_bytes();
    let joins = open_namespaces(st.pid)?;
    // pid and time namespaces apply to our children: join them here.
    for (name, flag) in [("pid", libc::CLONE_NEWPID), ("time", libc::CLONE_NEWTIME)] {
        if let Some(f) = differing_ns(st.pid, name)? {
            syscall::setns(f.as_fd(), flag)
                .ctx(|| format!("join the container's {name} namespace"))?;
        }
    }
    let (parent, child) = channel::pair()?;
    // Into the container's cgroup without a migration's grace period
    // (cgroups/join.rs): born in it on v2, moving itself on v1.
    let cg = match st.cgroup_path.as_deref() {
        Some(p) => Some(cgroups::join::existing(p)?),
        None => None,
    };
    let born_in = cg.as_ref().and_then(|c| c.born_in());
    let (pid, in_cgroup) = clone_with_initial_affinity(&attrs.affinity, born_in)?;
    if pid == 0 {
        drop(parent);
        let sc = seccomp.as_ref().map(|f| (f, container_state.as_slice()));
        let hidden = match trampoline {
            Some(_) => crate::trampoline::hide_init(),
            None => Ok(()),
        };
        let joined = hidden.and_then(|()| cg.map_or(Ok(()), |c| c.join_self()));
        let err = match joined.and_then(|()| child_setup(&opts, &joins, &child, sc, &attrs, st.pid))
        {
            Ok(program) => match &trampoline {
                Some(t) => {
                    crate::process::exec::reset_signals();
                    t.exec(&program, None, Some(&child))
                }
                None => program.exec(),
            },
            Err(e) => e,
        };
        let _ = child.send(&Msg::Error(err.to_string()));
        // SAFETY: _exit in a forked child.
        unsafe { libc::_exit(127) }
    }
    drop(child);
    let started = (|| -> Result<()> {
        if let Some(cg) = cg {
            cg.finish(pid, in_cgroup)?;
        }
        parent.go(&pid.to_string())?;
        // A successful execve closes the child's end: EOF means it runs.
        match parent.recv() {
            Ok(Msg::Error(e)) => Err(Error::Init(e)),
            Ok(Msg::ExecFailed(errno)) => Err(Error::Init(format!(
                "exec {:?}: {}",
                args[0],
                std::io::Error::from_raw_os_error(errno)
            ))),
            _ => Ok(()),
        }
    })();
    if let Err(e) = started {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(pid), None);
        return Err(e);
    }
    if let Some(pf) = &opts.pid_file {
        state::write_volatile(pf, pid.to_string().as_bytes())?;
    }
    if opts.detach {
        return Ok(0);
    }
    let master = match &own_console {
        Some(sock) => Some(console::recv_fd(sock.as_raw_fd())?),
        None => None,
    };
    super::run::wait(pid, master)
}

/// The init's namespace of a kind, if it differs from ours.
fn differing_ns(pid: i32, name: &str) -> Result<Option<File>> {
    let theirs = format!("/proc/{pid}/ns/{name}");
    let (Ok(a), Ok(b)) = (
        std::fs::metadata(&theirs),
        std::fs::metadata(format!("/proc/self/ns/{name}")),
    ) else {
        return Ok(None);
    };
    if a.ino() == b.ino() && a.dev() == b.dev() {
        return Ok(None);
    }
    File::open(&theirs)
        .map(Some)
        .ctx(|| format!("open {theirs}"))
}

fn open_namespaces(pid: i32) -> Result<Vec<(File, libc::c_int)>> {
    let mut v = Vec::new();
    for (name, flag) in NS {
        if let Some(f) = differing_ns(pid, name)? {
            v.push((f, *flag));
        }
    }
    Ok(v)
}

/// What an exec'd process gets from config.json and its own process.
struct Attrs<'a> {
    mempolicy: Option<mempolicy::Policy>,
    personality: Option<&'a oci_spec::runtime::Linux>,
    affinity: cpus::Affinity,
}

/// execCPUAffinity.initial: we take it for the clone, so the process is born
/// with it before it joins the container's cgroup, then take ours back.
fn clone_with_initial_affinity(
    affinity: &cpus::Affinity,
    cg_fd: Option<&OwnedFd>,
) -> Result<(i32, bool)> {
    let Some(initial) = &affinity.initial else {
        return clone::clone_one(0, cg_fd);
    };
    let ours = syscall::get_affinity().ctx(|| "sched_getaffinity".into())?;
    cpus::set("process.execCPUAffinity.initial", initial)?;
    let cloned = clone::clone_one(0, cg_fd);
    if !matches!(cloned, Ok((0, _))) {
        let _ = syscall::set_affinity(&ours);
    }
    cloned
}

fn child_setup(
    opts: &ExecOpts,
    joins: &[(File, libc::c_int)],
    chan: &Channel,
    seccomp: Option<(&crate::seccomp::Filter, &[u8])>,
    attrs: &Attrs,
    init_pid: i32,
) -> Result<Program> {
    // The parent sends `go` once we are in the container's cgroup.
    let pid: i64 = chan.wait_go()?.parse().unwrap_or(0);
    if let Some(f) = &attrs.affinity.final_ {
        cpus::set("process.execCPUAffinity.final", f)?;
    }
    let (filter, state) = (seccomp.map(|s| s.0), seccomp.map_or(&[][..], |s| s.1));
    let nnp = opts.process.no_new_privileges() == Some(true);
    enter_root_of(init_pid)?;
    for (f, flag) in joins {
        syscall::setns(f.as_fd(), *flag).ctx(|| format!("setns {flag:#x}"))?;
    }
    let p = &opts.process;
    if let Some(sock) = &opts.console {
        setsid().ctx(|| "setsid".into())?;
        let size = p
            .console_size()
            .as_ref()
            .map(|b| (b.height() as u16, b.width() as u16));
        let sock = sock.try_clone().ctx(|| "console socket".into())?;
        console::setup(sock, size, false)?;
    }
    user::apply_rlimits(p)?;
    user::apply_oom_score_adj(p)?;
    user::apply_personality(attrs.personality)?;
    if let Some(m) = &attrs.mempolicy {
        m.apply()?;
    }
    // runc's rule: without no_new_privs the filter needs CAP_SYS_ADMIN, so
    // it goes on before capabilities are dropped; otherwise last.
    // As in the init: what a filter might forbid comes before an early load.
    let program = user::lookup_program(p)?;
    syscall::cloexec_from(3 + opts.preserve_fds).ctx(|| "close_range".into())?;
    crate::seccomp::load_at(filter, nnp, true, pid, || state.to_vec())?;
    user::assume_identity(p)?;
    crate::seccomp::load_at(filter, nnp, false, pid, || state.to_vec())?;
    Ok(program)
}

/// A container in the host's mount namespace (none of its own) lives
/// chrooted in its rootfs: so does what is exec'd into it. As host root,
/// before any namespace is joined.
fn enter_root_of(pid: i32) -> Result<()> {
    let theirs = format!("/proc/{pid}/root");
    let (Ok(a), Ok(b)) = (std::fs::metadata(&theirs), std::fs::metadata("/")) else {
        return Ok(());
    };
    if a.ino() == b.ino() && a.dev() == b.dev() {
        return Ok(());
    }
    if differing_ns(pid, "mnt")?.is_some() {
        // setns into its mount namespace puts us in its root.
        return Ok(());
    }
    nix::unistd::chroot(theirs.as_str()).ctx(|| format!("chroot {theirs}"))?;
    nix::unistd::chdir("/").ctx(|| "chdir /".into())
}
