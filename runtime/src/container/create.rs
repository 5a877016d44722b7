//! `create`: fork the init into its namespaces, set it up, leave it waiting
//! on the exec FIFO. Any failure undoes everything: no state dir, cgroup or
//! process is left behind.

use std::fs::OpenOptions;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::{mkfifo, Pid};
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType};

use crate::error::Context;
use crate::hooks::{self, Kind};
use crate::namespaces::Plan;
use crate::process::channel::{self, Msg};
use crate::process::init::{self, InitArgs};
use crate::process::{clone, cpus, mempolicy, user};
use crate::spec::Bundle;
use crate::state::{self, ContainerDir, State, Status};
use crate::{cgroups, netdev, rootfs, Error, Result};

pub struct CreateOpts {
    pub root: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    /// The console socket, connected (by create, see `console_socket`) or
    /// our own pair (run -t).
    pub console: Option<OwnedFd>,
    /// --console-socket: connected once no re-exec can come (the other end
    /// takes one connection).
    pub console_socket: Option<PathBuf>,
    /// `run` starts the container itself: the init waits on a pipe it holds
    /// (`Created::start`) instead of exec.fifo, a file only another
    /// process's `start` needs.
    pub own_start: bool,
    pub pid_file: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub systemd_cgroup: bool,
}

/// A created container: its init waits for `start`.
pub struct Created {
    pub dir: ContainerDir,
    pub state: State,
    pub bundle: Bundle,
    /// With `own_start`: the pipe the init waits on (start::start_through).
    pub start: Option<OwnedFd>,
}

pub fn create(opts: CreateOpts) -> Result<Created> {
    state::validate_id(&opts.id)?;
    let bundle = Bundle::load(&opts.bundle)?;
    create_loaded(opts, bundle)
}

/// `create` with the id validated and the bundle read by the caller (`run`
/// reads it first, for process.terminal, and parses config.json once).
pub fn create_loaded(mut opts: CreateOpts, bundle: Bundle) -> Result<Created> {
    let spec = &bundle.spec;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::field("process", "missing"))?;
    if process.terminal() == Some(true) && opts.console.is_none() && opts.console_socket.is_none() {
        return Err(Error::field(
            "process.terminal",
            "true needs --console-socket (or `run` in the foreground)",
        ));
    }
    // Built here so that a bad filter fails before anything exists; the
    // init inherits it and loads it.
    let mut seccomp = crate::seccomp::from_spec(spec, &crate::seccomp::cache_dir(&opts.root))?;
    crate::logging::step("config loaded");
    let plan = Plan::from_spec(spec)?;
    // CVE-2019-5736: may re-execute the runtime, so before anything exists.
    let trampoline = crate::trampoline::for_init(spec, &plan)?;
    if let Some(p) = &opts.console_socket {
        opts.console = Some(crate::console::connect(p)?);
    }
    let host_mount_ns = !init::own_mount_ns(&plan);
    if host_mount_ns {
        rootfs::hostns::check(spec)?;
    }
    let mempolicy = mempolicy::from_spec(spec)?;
    // Idmapped mounts checked and their user namespaces made (host root's
    // job, before any namespace of ours changes): rootfs::idmap.
    let idmap = rootfs::idmap::prepare(spec, &plan, &bundle.dir)?;
    user::check_personality(spec.linux().as_ref());
    // Not applied to the init (the spec's rule), but what exec inherits.
    cpus::affinity(process)?;
    let net_devices = netdev::check(spec, &plan)?;
    if let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) {
        let mut own = plan.new;
        for (t, _, _) in &plan.join {
            own |= crate::namespaces::flag(*t);
        }
        rootfs::paths::check_sysctls(&sysctl.keys().collect::<Vec<_>>(), own)?;
    }
    let cgroup_path = cgroups::path_for(spec, &opts.id, opts.systemd_cgroup)?;
    if let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
        cgroups::check_layout(r, &cgroup_path)?;
    }
    if let Some(f) = &mut seccomp {
        f.connect()?;
    }
    let dir = ContainerDir::create(&opts.root, &opts.id)?;
    let mut st = initial_state(&opts.id, &bundle, &plan, cgroup_path.clone());
    st.host_mounts = host_mount_ns.then(|| rootfs::hostns::snapshot(&bundle.rootfs));
    let setup = Setup {
        plan: &plan,
        seccomp: seccomp.as_ref(),
        mempolicy: mempolicy.as_ref(),
        net_devices: &net_devices,
        idmap: &idmap,
        trampoline: trampoline.as_ref(),
    };
    match spawn(&opts, &bundle, &setup, &dir, &mut st) {
        Ok(start) => Ok(Created {
            dir,
            state: st,
            bundle,
            start,
        }),
        Err(e) => {
            destroy(dir, &st);
            Err(e)
        }
    }
}

/// Undoes a failed create: kills the init, removes its cgroup and state dir.
fn destroy(dir: ContainerDir, st: &State) {
    undo_process(st);
    let _ = dir.remove();
}

/// Kills the init and takes away its host mounts and cgroup (a failed
/// create or restore; the state dir is the caller's).
pub(super) fn undo_process(st: &State) {
    if st.pid > 0 {
        let _ = kill(Pid::from_raw(st.pid), Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(st.pid), None);
    }
    if let Some(before) = &st.host_mounts {
        rootfs::hostns::cleanup(&st.rootfs, before);
    }
    if let Some(p) = &st.cgroup_path {
        let _ = cgroups::remove(p);
    }
}

/// The state of a container being made (create, restore): `creating`, no
/// init yet.
pub(super) fn initial_state(id: &str, bundle: &Bundle, plan: &Plan, cgroup: PathBuf) -> State {
    let spec = &bundle.spec;
    State {
        id: id.to_string(),
        pid: 0,
        pid_start: 0,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: crate::time::now_rfc3339(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        creating: true,
        cgroup_path: Some(cgroup),
        poststop: Kind::Poststop.of(spec.hooks()),
        own_pidns: plan.has_new(LinuxNamespaceType::Pid),
        // What `update` rolls back to, as created (config.json may change).
        resources: spec.linux().as_ref().and_then(|l| l.resources().clone()),
        host_mounts: None,
    }
}

/// What create checked and built before anything existed.
struct Setup<'a> {
    plan: &'a Plan,
    seccomp: Option<&'a crate::seccomp::Filter>,
    mempolicy: Option<&'a mempolicy::Policy>,
    net_devices: &'a [netdev::Device],
    idmap: &'a rootfs::idmap::Prepared,
    trampoline: Option<&'a crate::trampoline::Trampoline>,
}

fn spawn(
    opts: &CreateOpts,
    bundle: &Bundle,
    setup: &Setup<'_>,
    dir: &ContainerDir,
    st: &mut State,
) -> Result<Option<OwnedFd>> {
    let spec = &bundle.spec;
    let (plan, seccomp) = (setup.plan, setup.seccomp);
    dir.save(st)?;
    let (fifo, start) = start_gate(opts, dir)?;
    let (parent, child) = channel::pair()?;
    setup_time_ns(bundle, plan)?;
    // The cgroup namespace is made by the init once it sits in its cgroup;
    // the time namespace was made above for our children.
    let flags = plan.new & !(libc::CLONE_NEWCGROUP | libc::CLONE_NEWTIME);
    // The init enters its cgroup without a migration's grace period
    // (cgroups/join.rs): born in it on v2, moving itself on v1.
    let cg = match &st.cgroup_path {
        Some(p) => Some(cgroups::join::prepare(p, !plan.needs_helper())?),
        None => None,
    };
    let cloned = clone::clone_init(plan, flags, cg.as_ref().and_then(|c| c.born_in()))?;
    let pid = cloned.pid;
    if pid == 0 {
        drop(parent);
        drop(start);
        // The init must not hold the state lock while it waits for start.
        dir.forget_lock_in_child();
        let console = opts.console.as_ref().and_then(|c| c.try_clone().ok());
        init::run(InitArgs {
            id: &opts.id,
            bundle,
            chan: child,
            fifo,
            console,
            plan,
            seccomp,
            mempolicy: setup.mempolicy,
            cgroup_path: st.cgroup_path.as_deref(),
            cgroup: cg,
            no_pivot: opts.no_pivot,
            no_new_keyring: opts.no_new_keyring,
            preserve_fds: opts.preserve_fds,
            joined: cloned.joined,
            trampoline: setup.trampoline,
        });
    }
    drop(child);
    drop(fifo);
    crate::logging::step("init cloned");
    // Saved with `created`: until then a crash leaves `creating` with no
    // pid, and the init dies with the channel it waits on between steps
    // (or, once it waits for start, with its cgroup: delete.rs).
    st.pid = pid;
    st.pid_start = state::proc_stat(pid).map_or(0, |(_, s)| s);
    if plan.has_new(LinuxNamespaceType::User) {
        write_id_maps(bundle, pid)?;
    }
    if let Some(cg) = cg {
        cg.finish(pid, cloned.in_cgroup)?;
    }
    crate::logging::step("cgroup joined");
    // Before the first `go`: the container's process never runs without its
    // devices. A failure from here kills the init, and with its namespace
    // the devices go back (see netdev.rs).
    if !setup.net_devices.is_empty() {
        netdev::move_all(setup.net_devices, plan, pid)?;
        crate::logging::step("network devices moved");
    }
    parent.go(&pid.to_string())?;
    // The init sets up its rootfs meanwhile, on the other CPU: limits are in
    // place long before the user's process can run.
    if let Some(p) = &st.cgroup_path {
        cgroups::apply(p, spec)?;
    }
    crate::logging::step("cgroup resources applied");
    rootfs::idmap::serve(setup.idmap, &parent, pid)?;
    parent.go("")?;
    parent.expect(|m| *m == Msg::CreateRuntimeHooks)?;
    let hs = crate::container::hook_state(st, Status::Creating);
    hooks::run_all(Kind::Prestart, &Kind::Prestart.of(spec.hooks()), &hs)?;
    hooks::run_all(
        Kind::CreateRuntime,
        &Kind::CreateRuntime.of(spec.hooks()),
        &hs,
    )?;
    parent.go("")?;
    parent.expect(|m| *m == Msg::Ready)?;
    if setup.trampoline.is_some() {
        // Created means the init runs the trampoline, no longer the runtime.
        parent.wait_exec()?;
    }
    crate::logging::step("init ready");
    st.creating = false;
    dir.save(st)?;
    if let Some(pf) = &opts.pid_file {
        write_pid_file(pf, pid)?;
    }
    Ok(start)
}

/// What the init waits on until start: (its end, ours when `run` starts it).
fn start_gate(opts: &CreateOpts, dir: &ContainerDir) -> Result<(OwnedFd, Option<OwnedFd>)> {
    if opts.own_start {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| Error::sys("start pipe", e))?;
        return Ok((r, Some(w)));
    }
    let fifo_path = dir.fifo();
    mkfifo(&fifo_path, Mode::from_bits_truncate(0o600)).ctx(|| "create exec fifo".into())?;
    // O_RDWR never blocks on a FIFO; the init reads from it until start writes.
    let fifo: OwnedFd = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&fifo_path)
        .ctx(|| "open exec fifo".into())?
        .into();
    Ok((fifo, None))
}

fn map_lines(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

fn write_id_maps(bundle: &Bundle, pid: i32) -> Result<()> {
    let linux = bundle.spec.linux().as_ref();
    let uid = linux
        .and_then(|l| l.uid_mappings().clone())
        .unwrap_or_default();
    let gid = linux
        .and_then(|l| l.gid_mappings().clone())
        .unwrap_or_default();
    std::fs::write(format!("/proc/{pid}/uid_map"), map_lines(&uid))
        .map_err(|e| Error::field("linux.uidMappings", e.to_string()))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), map_lines(&gid))
        .map_err(|e| Error::field("linux.gidMappings", e.to_string()))
}

/// A new time namespace: unshared here (it applies to our children) with
/// linux.timeOffsets written before the init enters it.
fn setup_time_ns(bundle: &Bundle, plan: &Plan) -> Result<()> {
    if !plan.has_new(LinuxNamespaceType::Time) {
        return Ok(());
    }
    nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(
        libc::CLONE_NEWTIME,
    ))
    .ctx(|| "unshare time namespace".into())?;
    let offsets = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().clone())
        .unwrap_or_default();
    let mut lines = String::new();
    for (clock, off) in offsets {
        lines.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    if !lines.is_empty() {
        std::fs::write("/proc/self/timens_offsets", lines)
            .map_err(|e| Error::field("linux.timeOffsets", e.to_string()))?;
    }
    Ok(())
}

/// Writes the pid file relative to the caller's cwd, atomically.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    state::write_volatile(path, pid.to_string().as_bytes())
}
