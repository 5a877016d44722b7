//! CVE-2019-5736 without re-executing the runtime: the init execs the user's
//! program through a tiny sealed program instead (runtime/trampoline/main.rs).
//!
//! What the CVE needs is a container process reaching the runtime binary
//! through `/proc/PID/exe` of a runtime process it can see, or an execve in
//! the container made by a runtime process (`#!/proc/self/exe` then runs the
//! binary inside). exeseal.rs answers both by re-executing the whole runtime
//! from a protected file first (a second start-up: ~15% of a `run`). For the
//! init of a container with a new pid namespace, and for a process `exec`
//! starts in such a container, this answers them more cheaply:
//!
//! - the runtime process itself stays on the host: no container process
//!   shares its pid namespace, and one in the host's would need to hold every
//!   capability it holds (ptrace access rules) to open its exe;
//! - the child it forks is not dumpable from its first step, so until it
//!   execs, its `/proc/PID/exe` needs CAP_SYS_PTRACE in the host's user
//!   namespace, even after it has taken the container's credentials (a
//!   privileged container has that, and owns the host anyway);
//! - it then execs the trampoline from a sealed memfd (writes: EPERM), which
//!   waits for `start` (the init) and execs the program: every exec in the
//!   container starts from a process whose exe is that memfd, never the
//!   runtime.
//!
//! Anything else that runs in the container's namespaces while the init is
//! still the runtime (createContainer and startContainer hooks), a pid or
//! user namespace shared with others, LSM labels (applied at the next exec,
//! which would be the trampoline's), or a seccomp profile that might refuse
//! the trampoline's few syscalls: the runtime re-executes as before.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use oci_spec::runtime::{LinuxNamespaceType, LinuxSeccomp, LinuxSeccompAction, Process, Spec};

use crate::exeseal;
use crate::namespaces::Plan;
use crate::process::channel::Channel;
use crate::process::exec::Program;
use crate::{logging, Error, Result};

#[cfg(berth_trampoline)]
const IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/trampoline"));

/// What the trampoline itself calls after the init's seccomp filter is in
/// place (execve is the program's own).
const SYSCALLS: &[&str] = &["execveat", "read", "fcntl", "write", "exit_group"];

/// The sealed trampoline, inherited by the forked child (close-on-exec).
pub struct Trampoline {
    fd: OwnedFd,
}

/// How the init of this container will exec its program: `Some` through the
/// trampoline, `None` directly, the runtime then running from a protected
/// binary (re-executed here if it did not already). Call it before anything
/// of the container exists: a re-exec starts the command over.
pub fn for_init(spec: &Spec, plan: &Plan) -> Result<Option<Trampoline>> {
    choose(refusal(spec, plan))
}

/// The same for a process `exec` forks into a container: `own_pidns` from
/// its state, `process` the exec'd one, `spec` the container's config.
pub fn for_exec(spec: &Spec, own_pidns: bool, process: &Process) -> Result<Option<Trampoline>> {
    let why = if !own_pidns {
        Some("no pid namespace of its own")
    } else {
        common_refusal(spec, process)
    };
    choose(why)
}

fn choose(refusal: Option<&str>) -> Result<Option<Trampoline>> {
    if let Some(seal) = exeseal::running_protected()? {
        logging::debug(&format!("exeseal: running from a {} binary", seal.name()));
        return Ok(None);
    }
    if let Some(why) = refusal {
        logging::debug(&format!("exeseal: no trampoline ({why}); re-executing"));
        return exeseal::reexec_sealed().map(|()| None);
    }
    match Trampoline::new() {
        Ok(t) => {
            logging::debug("exeseal: the program is exec'd through a sealed trampoline");
            Ok(Some(t))
        }
        Err(e) => {
            logging::debug(&format!("exeseal: no trampoline ({e}); re-executing"));
            exeseal::reexec_sealed().map(|()| None)
        }
    }
}

/// Why this container's init can't use the trampoline, if it can't.
fn refusal(spec: &Spec, plan: &Plan) -> Option<&'static str> {
    if !plan.has_new(LinuxNamespaceType::Pid) || plan.joins(LinuxNamespaceType::Pid) {
        return Some("no pid namespace of its own");
    }
    if let Some(h) = spec.hooks() {
        let some = |v: &Option<Vec<_>>| v.as_ref().is_some_and(|v| !v.is_empty());
        if some(h.create_container()) || some(h.start_container()) {
            return Some("hooks run in the container");
        }
    }
    spec.process()
        .as_ref()
        .and_then(|p| common_refusal(spec, p))
}

/// What rules it out for an init and an exec'd process alike.
fn common_refusal(spec: &Spec, p: &Process) -> Option<&'static str> {
    if !cfg!(berth_trampoline) {
        return Some("not built for this architecture");
    }
    let ns = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    if ns.is_some_and(|v| v.iter().any(|n| n.typ() == LinuxNamespaceType::User)) {
        return Some("a user namespace");
    }
    if p.apparmor_profile().is_some() || p.selinux_label().is_some() {
        return Some("an LSM label");
    }
    let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    if seccomp.is_some_and(|s| !SYSCALLS.iter().all(|n| allows(s, n))) {
        return Some("the seccomp profile may refuse its syscalls");
    }
    None
}

/// Whether `s` lets `name` through whatever its arguments: no rule names it
/// with another action, and an allow-by-default profile or an unconditional
/// allow rule does.
fn allows(s: &LinuxSeccomp, name: &str) -> bool {
    let ok = |a: LinuxSeccompAction| {
        matches!(
            a,
            LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
        )
    };
    let rules = s.syscalls().as_deref().unwrap_or_default();
    let naming = || rules.iter().filter(|r| r.names().iter().any(|n| n == name));
    if naming().any(|r| !ok(r.action())) {
        return false;
    }
    ok(s.default_action()) || naming().any(|r| r.args().as_ref().is_none_or(|a| a.is_empty()))
}

impl Trampoline {
    #[cfg(berth_trampoline)]
    fn new() -> Result<Trampoline> {
        let fd = exeseal::sealed_memfd(c"berth-exec", IMAGE)?;
        Ok(Trampoline { fd })
    }

    #[cfg(not(berth_trampoline))]
    fn new() -> Result<Trampoline> {
        Err(Error::Other("no exec trampoline in this build".into()))
    }

    /// Execs the trampoline, which waits on `wait` for `start` (the init's
    /// exec FIFO), then execs `program` and reports a failure on `report`
    /// (an exec'd process's channel: Msg::ExecFailed) or else on stderr.
    /// Both cross this exec and close on the next. Returns only on failure.
    pub fn exec(
        &self,
        program: &Program,
        wait: Option<&OwnedFd>,
        report: Option<&Channel>,
    ) -> Error {
        let mut args = Vec::new();
        for fd in [wait.map(|f| f.as_raw_fd()), report.map(|c| c.raw_fd())] {
            let arg = match fd {
                Some(fd) => {
                    // SAFETY: F_SETFD on an fd we hold.
                    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
                        return Error::io(
                            "pass an fd to the trampoline",
                            std::io::Error::last_os_error(),
                        );
                    }
                    fd.to_string()
                }
                None => "-".to_string(),
            };
            args.push(CString::new(arg).unwrap_or_default());
        }
        let mut argv: Vec<_> = args.iter().map(|a| a.as_ptr()).collect();
        argv.push(program.path.as_ptr());
        argv.extend(program.argv.iter().map(|a| a.as_ptr()));
        argv.push(std::ptr::null());
        let mut envp: Vec<_> = program.envp.iter().map(|e| e.as_ptr()).collect();
        envp.push(std::ptr::null());
        // SAFETY: argv and envp are NULL-terminated arrays of C strings that
        // outlive the call; the memfd is ours. Returns only on failure.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                self.fd.as_raw_fd(),
                c"".as_ptr(),
                argv.as_ptr(),
                envp.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
        Error::io(
            "exec the sealed trampoline",
            std::io::Error::last_os_error(),
        )
    }
}

/// The init, first thing: not dumpable until it execs (see the module doc).
pub fn hide_init() -> Result<()> {
    // SAFETY: PR_SET_DUMPABLE takes a plain integer.
    let r = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    nix::errno::Errno::result(r)
        .map(drop)
        .map_err(|e| Error::sys("prctl(PR_SET_DUMPABLE, 0)", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile(v: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn seccomp_profiles_that_let_the_trampoline_run() {
        let docker = profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["execveat", "read", "fcntl", "write", "exit_group"],
                          "action": "SCMP_ACT_ALLOW"}]
        }));
        assert!(SYSCALLS.iter().all(|n| allows(&docker, n)));
        let open = profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}));
        assert!(allows(&open, "execveat"));
        let denied = profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ERRNO"}]}));
        assert!(!allows(&denied, "execveat"));
        let narrow = profile(json!({"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["write"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}));
        assert!(!allows(&narrow, "write"), "allowed only for some arguments");
        assert!(!allows(&narrow, "read"), "not listed, default errno");
    }
}
