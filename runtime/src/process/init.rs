//! The container's init: runs in the child after clone, in the new
//! namespaces, and becomes the user's process at `start`.
//!
//! Order matters and follows runc: mounts and devices, createRuntime hooks
//! (parent), createContainer hooks, pivot_root, console, sysctls, masked and
//! read-only paths, process attributes, then capabilities and user, with
//! no_new_privs and seccomp last before waiting on the exec FIFO (seccomp
//! before the capabilities are dropped when noNewPrivileges is false, since
//! loading it then needs CAP_SYS_ADMIN: runc's rule).

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::unistd::setsid;
use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::channel::{Channel, Msg};
use super::exec::Program;
use super::user;
use crate::error::Context;
use crate::hooks::{self, Kind};
use crate::namespaces::Plan;
use crate::rootfs::{devices, mounts, paths, pivot, SafeRoot};
use crate::spec::Bundle;
use crate::{seccomp, Error, Result};

pub struct InitArgs<'a> {
    pub id: &'a str,
    pub bundle: &'a Bundle,
    pub chan: Channel,
    pub fifo: OwnedFd,
    pub console: Option<OwnedFd>,
    pub plan: &'a Plan,
    pub seccomp: Option<&'a crate::seccomp::Filter>,
    pub cgroup_path: Option<&'a Path>,
    /// The cgroup's v1 `tasks` files, for the init to move itself.
    pub cgroup: Option<crate::cgroups::join::Prepared>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// The namespaces to join were joined by the helper that cloned us.
    pub joined: bool,
    pub mempolicy: Option<&'a super::mempolicy::Policy>,
    /// Exec the program through it (trampoline.rs), after Ready.
    pub trampoline: Option<&'a crate::trampoline::Trampoline>,
}

/// Never returns: execs the user's program or exits after reporting why not.
pub fn run(mut args: InitArgs) -> ! {
    let (program, state) = match setup(&mut args) {
        Ok(x) => x,
        Err(e) => {
            // The parent is listening until Ready; if it is gone, it has
            // already reported its own error.
            let _ = args.chan.send(&Msg::Error(e.to_string()));
            exit()
        }
    };
    if let Some(t) = args.trampoline {
        // It waits for start; startContainer hooks never come with it.
        super::exec::reset_signals();
        let e = t.exec(&program, Some(&args.fifo), None);
        let _ = args.chan.send(&Msg::Error(e.to_string()));
        exit()
    }
    // After Ready only stderr is left to report on.
    let err = match wait_for_start(&args.fifo).and_then(|()| {
        hooks::run_all_with_env(
            Kind::StartContainer,
            &Kind::StartContainer.of(args.bundle.spec.hooks()),
            &state,
            &program.env_strings(),
        )
    }) {
        Ok(()) => program.exec(),
        Err(e) => e,
    };
    eprintln!("runtime: container init: {err}");
    exit()
}

fn exit() -> ! {
    // SAFETY: _exit skips atexit handlers that belong to the parent.
    unsafe { libc::_exit(127) }
}

/// Everything up to Ready; returns the program and the hooks' state JSON.
fn setup(a: &mut InitArgs) -> Result<(Program, Vec<u8>)> {
    if a.trampoline.is_some() {
        crate::trampoline::hide_init()?;
    }
    if let Some(cg) = a.cgroup.take() {
        cg.join_self()?;
    }
    let spec = &a.bundle.spec;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::field("process", "missing"))?;
    let host_pid = a.chan.wait_go()?;
    // Now in the container's cgroup: the CPUs it allows, not the caller's pinning.
    super::cpus::reset_to_cgroup();
    let plan = a.plan;
    let in_userns = plan.has_new(LinuxNamespaceType::User) || plan.joins(LinuxNamespaceType::User);
    if plan.has_new(LinuxNamespaceType::User) {
        become_userns_root()?;
    }
    if !a.joined {
        plan.join_in_child()?;
    }
    if plan.joins(LinuxNamespaceType::User) && userns_maps_root() {
        // Our host uid is not mapped there: files we made would fail EOVERFLOW.
        become_userns_root()?;
    }
    if plan.has_new(LinuxNamespaceType::Network) {
        // A new network namespace starts with `lo` down; runc and crun bring
        // it up. One joined by path is its owner's to configure.
        crate::syscall::loopback_up()
            .ctx(|| "bring up lo in the container's network namespace".into())?;
    }
    if plan.has_new(LinuxNamespaceType::Cgroup) {
        // Now that the parent has moved us into the container's cgroup, the
        // new namespace is rooted there.
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .ctx(|| "unshare cgroup namespace".into())?;
    }
    setsid().ctx(|| "setsid".into())?;
    set_names(a)?;
    setup_rootfs(a, in_userns)?;
    a.chan.send(&Msg::CreateRuntimeHooks)?;
    a.chan.wait_go()?;
    hooks::run_all_with_env(
        Kind::CreateContainer,
        &Kind::CreateContainer.of(spec.hooks()),
        &hook_state(a, &host_pid, "creating"),
        process.env().as_deref().unwrap_or_default(),
    )?;
    let state = hook_state(a, &host_pid, "created");
    if !own_mount_ns(a.plan) {
        // The host's mount namespace: neither pivot_root nor MS_MOVE may
        // touch its "/".
        pivot::chroot_only(&a.bundle.rootfs)?;
    } else if a.no_pivot {
        pivot::move_root(&a.bundle.rootfs)?;
    } else {
        pivot::pivot(&a.bundle.rootfs)?;
    }
    if let Some(sock) = &a.console {
        let size = process
            .console_size()
            .as_ref()
            .map(|b| (b.height() as u16, b.width() as u16));
        let sock = sock.try_clone().ctx(|| "console socket".into())?;
        crate::console::setup(sock, size, true)?;
    }
    finalize_rootfs(a)?;
    if let Some(prop) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().clone())
    {
        mounts::set_root_propagation(&prop)?;
    }
    let pid: i64 = host_pid.parse().unwrap_or(0);
    let nnp = process.no_new_privileges() == Some(true);
    let seccomp_state = || hook_state(a, &host_pid, "creating");
    // Everything a filter might forbid happens before an early (no NNP)
    // load: the program lookup (from the cwd, for "./prog") and close_range.
    let program = user::lookup_program(process)?;
    crate::syscall::cloexec_from(3 + a.preserve_fds).ctx(|| "close_range".into())?;
    apply_process(a, process, &|| {
        seccomp::load_at(a.seccomp, nnp, true, pid, seccomp_state)
    })?;
    seccomp::load_at(a.seccomp, nnp, false, pid, seccomp_state)?;
    a.chan.send(&Msg::Ready)?;
    Ok((program, state))
}

/// Whether the container has a mount namespace (new or joined); without
/// one it shares the host's (rootfs::hostns).
pub fn own_mount_ns(plan: &Plan) -> bool {
    plan.has_new(LinuxNamespaceType::Mount) || plan.joins(LinuxNamespaceType::Mount)
}

/// Whether our user namespace maps uid and gid 0 (a map line "0 HOST N").
fn userns_maps_root() -> bool {
    ["/proc/self/uid_map", "/proc/self/gid_map"]
        .iter()
        .all(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .any(|l| l.split_whitespace().next() == Some("0"))
        })
}

/// Become the user namespace's root (uid and gid 0 must be mapped).
fn become_userns_root() -> Result<()> {
    nix::unistd::setresgid(0.into(), 0.into(), 0.into())
        .ctx(|| "setresgid 0 in user namespace".into())?;
    nix::unistd::setresuid(0.into(), 0.into(), 0.into())
        .ctx(|| "setresuid 0 in user namespace".into())
}

fn set_names(a: &InitArgs) -> Result<()> {
    let spec = &a.bundle.spec;
    let own_uts = a.plan.has_new(LinuxNamespaceType::Uts) || a.plan.joins(LinuxNamespaceType::Uts);
    if let Some(h) = spec.hostname() {
        if !own_uts {
            return Err(Error::field("hostname", "needs a UTS namespace"));
        }
        nix::unistd::sethostname(h).ctx(|| format!("hostname {h:?}"))?;
    }
    if let Some(d) = spec.domainname() {
        if !own_uts {
            return Err(Error::field("domainname", "needs a UTS namespace"));
        }
        // SAFETY: setdomainname reads len bytes from a valid buffer.
        let r = unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) };
        nix::errno::Errno::result(r).ctx(|| format!("domainname {d:?}"))?;
    }
    Ok(())
}

fn setup_rootfs(a: &InitArgs, in_userns: bool) -> Result<()> {
    let spec = &a.bundle.spec;
    let linux = spec.linux().as_ref();
    let rootfs = &a.bundle.rootfs;
    if own_mount_ns(a.plan) {
        mounts::prepare(
            rootfs,
            linux.and_then(|l| l.rootfs_propagation().as_deref()),
        )?;
    }
    let safe = SafeRoot::open(rootfs)?;
    // The runtime sets MOUNT_ATTR_IDMAP on our detached copy (rootfs::idmap).
    let idmap = |i: usize, tree: BorrowedFd| -> Result<()> {
        a.chan.send(&Msg::Idmap(i, tree.as_raw_fd()))?;
        a.chan.wait_go().map(drop)
    };
    let ctx = mounts::Ctx {
        root: &safe,
        bundle: &a.bundle.dir,
        cgroup_path: a.cgroup_path,
        new_cgroupns: a.plan.has_new(LinuxNamespaceType::Cgroup),
        idmap: &idmap,
    };
    let list = spec.mounts().clone().unwrap_or_default();
    mounts::mount_all(&ctx, &list)?;
    // runc creates a missing cwd; do it inside the root, before pivot_root.
    if let Some(p) = spec.process() {
        safe.mkdir_all(p.cwd())
            .map_err(|e| Error::field("process.cwd", e.to_string()))?;
    }
    // A /dev bound from the host already has its nodes.
    let dev_bound = list.iter().any(|m| {
        m.destination() == Path::new("/dev")
            && (m.typ().as_deref() == Some("bind")
                || m.options()
                    .iter()
                    .flatten()
                    .any(|o| o == "bind" || o == "rbind"))
    });
    // Device nodes wait until the parent has written the device cgroup
    // rules (it does that while we mount): mknod is checked against them.
    a.chan.wait_go()?;
    if !dev_bound {
        let devs = linux.and_then(|l| l.devices().clone()).unwrap_or_default();
        devices::create_all(&safe, &devs, in_userns)?;
    }
    Ok(())
}

fn finalize_rootfs(a: &InitArgs) -> Result<()> {
    let spec = &a.bundle.spec;
    if let Some(linux) = spec.linux() {
        if let Some(sysctl) = linux.sysctl() {
            paths::write_sysctls(sysctl.iter())?;
        }
        paths::readonly(linux.readonly_paths().as_deref().unwrap_or_default())?;
        paths::mask(linux.masked_paths().as_deref().unwrap_or_default())?;
    }
    if spec
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly() == Some(true))
    {
        paths::readonly_root()?;
    }
    Ok(())
}

/// `early_seccomp` runs after everything but the capability and user changes.
fn apply_process(a: &InitArgs, p: &Process, early_seccomp: &dyn Fn() -> Result<()>) -> Result<()> {
    if !a.no_new_keyring {
        let name = std::ffi::CString::new(format!("_ses.{}", a.id)).unwrap_or_default();
        // ENOSYS/EPERM: no keyring support here; runc ignores that too.
        let _ = crate::syscall::join_session_keyring(&name);
    }
    if p.apparmor_profile().is_some() && !Path::new("/sys/kernel/security/apparmor").exists() {
        crate::logging::warn(
            "process.apparmorProfile: AppArmor is not enabled on this host; ignored",
        );
    }
    if p.selinux_label().is_some() && !Path::new("/sys/fs/selinux/enforce").exists() {
        crate::logging::warn("process.selinuxLabel: SELinux is not enabled on this host; ignored");
    }
    user::apply_rlimits(p)?;
    user::apply_oom_score_adj(p)?;
    user::apply_io_priority(p)?;
    user::apply_scheduler(p)?;
    user::apply_personality(a.bundle.spec.linux().as_ref())?;
    if let Some(m) = a.mempolicy {
        m.apply()?;
    }
    early_seccomp()?;
    user::assume_identity(p)
}

/// Blocks until `start` writes a byte into the exec FIFO.
fn wait_for_start(fifo: &OwnedFd) -> Result<()> {
    let mut b = [0u8; 1];
    loop {
        // SAFETY: read of one byte into a valid buffer.
        let n = unsafe { libc::read(fifo.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
        if n >= 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::io("wait on exec fifo", e));
        }
    }
}

/// The state JSON hooks get on stdin.
pub fn hook_state(a: &InitArgs, pid: &str, status: &str) -> Vec<u8> {
    let v = serde_json::json!({
        "ociVersion": crate::spec::OCI_VERSION,
        "id": a.id,
        "status": status,
        "pid": pid.parse::<i64>().unwrap_or(0),
        "bundle": a.bundle.dir,
        "annotations": a.bundle.spec.annotations().clone().unwrap_or_default(),
    });
    v.to_string().into_bytes()
}
