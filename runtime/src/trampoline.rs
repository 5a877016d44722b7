//! CVE-2019-5736 without re-executing the runtime: the init execs the user's
//! program through a tiny sealed program instead (runtime/trampoline/main.rs).
//!
//! What the CVE needs is a container process reaching the runtime binary
//! through `/proc/PID/exe` of a runtime process it can see, or an execve in
//! the container made by a runtime process (`#!/proc/self/exe` then runs the
//! binary inside). exeseal.rs answers both by re-executing the whole runtime
//! from a protected file first (a second start-up: ~15% of a `run`). For a
//! `create`/`run` whose init is alone in a new pid namespace, this answers
//! them more cheaply:
//!
//! - the `create`/`run` process itself stays on the host: no container
//!   process shares its pid namespace, and one in the host's would need
//!   CAP_SYS_PTRACE over it (it holds every capability) to open its exe;
//! - the init is not dumpable from its first step, so until it execs, its
//!   `/proc/PID/exe` needs CAP_SYS_PTRACE too, even after it has taken the
//!   container's credentials;
//! - it then execs the trampoline from a sealed memfd (writes: EPERM), which
//!   waits for `start` and execs the program: every exec in the container
//!   starts from a process whose exe is that memfd, never the runtime.
//!
//! Anything else that runs in the container's namespaces while the init is
//! still the runtime (createContainer and startContainer hooks), a pid or
//! user namespace shared with others, LSM labels (applied at the next exec,
//! which would be the trampoline's), or a seccomp profile that might refuse
//! the trampoline's few syscalls: the runtime re-executes as before.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use oci_spec::runtime::{LinuxNamespaceType, LinuxSeccomp, LinuxSeccompAction, Spec};

use crate::exeseal;
use crate::namespaces::Plan;
use crate::process::exec::Program;
use crate::{logging, Error, Result};

#[cfg(berth_trampoline)]
const IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/trampoline"));

/// What the trampoline itself calls after the init's seccomp filter is in
/// place (execve is the program's own).
const SYSCALLS: &[&str] = &["execveat", "read", "fcntl", "write", "exit_group"];

/// The sealed trampoline, inherited by the init (close-on-exec).
pub struct Trampoline {
    fd: OwnedFd,
}

/// How the init of this container will exec its program: `Some` through the
/// trampoline, `None` directly, the runtime then running from a protected
/// binary (re-executed here if it did not already). Call it before anything
/// of the container exists: a re-exec starts the command over.
pub fn for_init(spec: &Spec, plan: &Plan) -> Result<Option<Trampoline>> {
    if let Some(seal) = exeseal::running_protected()? {
        logging::debug(&format!("exeseal: running from a {} binary", seal.name()));
        return Ok(None);
    }
    if let Some(why) = refusal(spec, plan) {
        logging::debug(&format!("exeseal: no trampoline ({why}); re-executing"));
        exeseal::ensure_sealed()?;
        return Ok(None);
    }
    match Trampoline::new() {
        Ok(t) => {
            logging::debug("exeseal: the init execs the program through a sealed trampoline");
            Ok(Some(t))
        }
        Err(e) => {
            logging::debug(&format!("exeseal: no trampoline ({e}); re-executing"));
            exeseal::ensure_sealed()?;
            Ok(None)
        }
    }
}

/// Why this container's init can't use the trampoline, if it can't.
fn refusal(spec: &Spec, plan: &Plan) -> Option<&'static str> {
    if !cfg!(berth_trampoline) {
        return Some("not built for this architecture");
    }
    if !plan.has_new(LinuxNamespaceType::Pid) || plan.joins(LinuxNamespaceType::Pid) {
        return Some("no pid namespace of its own");
    }
    if plan.has_new(LinuxNamespaceType::User) || plan.joins(LinuxNamespaceType::User) {
        return Some("a user namespace");
    }
    if let Some(h) = spec.hooks() {
        let some = |v: &Option<Vec<_>>| v.as_ref().is_some_and(|v| !v.is_empty());
        if some(h.create_container()) || some(h.start_container()) {
            return Some("hooks run in the container");
        }
    }
    if let Some(p) = spec.process() {
        if p.apparmor_profile().is_some() || p.selinux_label().is_some() {
            return Some("an LSM label");
        }
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

    /// In the init, after Ready: execs the trampoline, which waits on `fifo`
    /// for `start` and then execs `program`. Returns only on failure.
    pub fn exec(&self, program: &Program, fifo: &OwnedFd) -> Error {
        // The FIFO must cross this exec (the trampoline marks it
        // close-on-exec once it has read from it).
        // SAFETY: F_SETFD on an fd we own.
        if unsafe { libc::fcntl(fifo.as_raw_fd(), libc::F_SETFD, 0) } < 0 {
            return Error::io("exec fifo", std::io::Error::last_os_error());
        }
        let fd = CString::new(fifo.as_raw_fd().to_string()).unwrap_or_default();
        let mut argv = vec![fd.as_ptr(), program.path.as_ptr()];
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
