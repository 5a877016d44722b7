//! linux.seccomp with libseccomp, as runc does it: every listed architecture
//! (so 32-bit `int 0x80` calls meet the same rules), per-syscall actions with
//! argument conditions, filter flags, and SCMP_ACT_NOTIFY with the listener
//! fd sent to `listenerPath`. The filter is built in the parent (bad input
//! fails before anything exists) and loaded by the init or exec child:
//! without noNewPrivileges before capabilities are dropped (loading needs
//! CAP_SYS_ADMIN then), with it as the last step before execve.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::str::FromStr;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator,
};
use serde_json::{json, Value};

use crate::error::Context;
use crate::{Error, Result};

pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

pub const OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// The names oci-spec's `Arch` knows.
pub const ARCHES: &[&str] = &[
    "SCMP_ARCH_NATIVE",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

/// Flag names and their SECCOMP_FILTER_FLAG_* bits.
pub const FLAGS: &[(&str, libc::c_ulong)] = &[
    ("SECCOMP_FILTER_FLAG_TSYNC", 1),
    ("SECCOMP_FILTER_FLAG_LOG", 2),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4),
    ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 32),
];

/// A filter ready to load, and where its notify fd goes, if any action is
/// SCMP_ACT_NOTIFY.
pub struct Filter {
    program: Program,
    listener: Option<Listener>,
}

enum Program {
    /// libseccomp compiles and loads it (NOTIFY: it also hands us the fd).
    Context(ScmpFilterContext),
    /// Compiled BPF (from the cache), loaded with seccomp(2) as it is.
    Bpf { code: Vec<u8>, flags: libc::c_ulong },
}

struct Listener {
    path: std::path::PathBuf,
    metadata: Option<String>,
    sock: Option<OwnedFd>,
}

fn field_err(field: impl Into<String>, e: impl std::fmt::Display) -> Error {
    Error::field(field, e.to_string())
}

/// SCMP_ACT_ERRNO and SCMP_ACT_TRACE return EPERM unless told otherwise.
fn action(a: LinuxSeccompAction, ret: Option<u32>, field: &str) -> Result<ScmpAction> {
    let ret = ret.unwrap_or(libc::EPERM as u32);
    Ok(match a {
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(
            i32::try_from(ret)
                .map_err(|_| field_err(field, format!("errno {ret} out of range")))?,
        ),
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(
            u16::try_from(ret)
                .map_err(|_| field_err(field, format!("errno {ret} out of range")))?,
        ),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
    })
}

fn arch(a: Arch, field: &str) -> Result<ScmpArch> {
    let name = serde_json::to_value(a)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    ScmpArch::from_str(&name).map_err(|e| field_err(field, format!("{name}: {e}")))
}

fn condition(a: &LinuxSeccompArg, field: &str) -> Result<ScmpArgCompare> {
    if a.index() > 5 {
        return Err(field_err(
            format!("{field}.index"),
            format!("{} is out of range (0-5)", a.index()),
        ));
    }
    let (op, datum) = match a.op() {
        LinuxSeccompOperator::ScmpCmpNe => (ScmpCompareOp::NotEqual, a.value()),
        LinuxSeccompOperator::ScmpCmpLt => (ScmpCompareOp::Less, a.value()),
        LinuxSeccompOperator::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, a.value()),
        LinuxSeccompOperator::ScmpCmpEq => (ScmpCompareOp::Equal, a.value()),
        LinuxSeccompOperator::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, a.value()),
        LinuxSeccompOperator::ScmpCmpGt => (ScmpCompareOp::Greater, a.value()),
        // value is the mask, valueTwo what the masked argument must equal.
        LinuxSeccompOperator::ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(a.value()),
            a.value_two().unwrap_or(0),
        ),
    };
    Ok(ScmpArgCompare::new(a.index() as u32, op, datum))
}

/// Builds (but does not load) the filter; every error names its field.
pub fn build(s: &LinuxSeccomp) -> Result<Filter> {
    const F: &str = "linux.seccomp";
    let default = action(
        s.default_action(),
        s.default_errno_ret(),
        "linux.seccomp.defaultAction",
    )?;
    if default == ScmpAction::Notify {
        return Err(Error::field(
            "linux.seccomp.defaultAction",
            "SCMP_ACT_NOTIFY cannot be the default action",
        ));
    }
    let mut ctx = ScmpFilterContext::new(default).map_err(|e| field_err(F, e))?;
    // We set no_new_privs ourselves, from process.noNewPrivileges.
    ctx.set_ctl_nnp(false).map_err(|e| field_err(F, e))?;
    for (i, a) in s.architectures().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.architectures[{i}]");
        let a = arch(*a, &field)?;
        ctx.add_arch(a).map_err(|e| field_err(&field, e))?;
    }
    for (i, f) in s.flags().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.flags[{i}]");
        let r = match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => ctx.set_ctl_tsync(true),
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => ctx.set_ctl_log(true),
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => ctx.set_ctl_ssb(true),
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => ctx.set_ctl_waitkill(true),
        };
        r.map_err(|e| field_err(&field, format!("{f:?} not supported: {e}")))?;
    }
    let mut notify = false;
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let act = action(sc.action(), sc.errno_ret(), &format!("{field}.action"))?;
        if act == ScmpAction::Notify {
            notify = true;
            if sc.names().iter().any(|n| n == "write") {
                return Err(Error::field(
                    format!("{field}.names"),
                    "SCMP_ACT_NOTIFY cannot be used for write (the runtime needs it)",
                ));
            }
        }
        let args = sc.args().as_deref().unwrap_or_default();
        let mut conds = Vec::with_capacity(args.len());
        let mut per_index = [0u8; 6];
        for (j, a) in args.iter().enumerate() {
            conds.push(condition(a, &format!("{field}.args[{j}]"))?);
            per_index[a.index()] += 1;
        }
        // As runc: several conditions on one argument are alternatives (one
        // rule each); otherwise all of them must hold (one rule).
        let rules: Vec<Vec<ScmpArgCompare>> = if per_index.iter().any(|n| *n > 1) {
            conds.into_iter().map(|c| vec![c]).collect()
        } else {
            vec![conds]
        };
        if act == default {
            // libseccomp refuses a rule that repeats the default action.
            continue;
        }
        for name in sc.names() {
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                crate::logging::debug(&format!(
                    "{field}: unknown syscall {name:?} ignored (as runc does)"
                ));
                continue;
            };
            for r in &rules {
                let res = if r.is_empty() {
                    ctx.add_rule(act, nr)
                } else {
                    ctx.add_rule_conditional(act, nr, r)
                };
                res.map_err(|e| field_err(&field, format!("{name}: {e}")))?;
            }
        }
    }
    let listener = if notify {
        let path = s.listener_path().clone().ok_or_else(|| {
            Error::field(
                "linux.seccomp.listenerPath",
                "required when an action is SCMP_ACT_NOTIFY",
            )
        })?;
        Some(Listener {
            path,
            metadata: s.listener_metadata().clone(),
            sock: None,
        })
    } else {
        None
    };
    Ok(Filter {
        program: Program::Context(ctx),
        listener,
    })
}

/// The kernel's flags for seccomp(2) that linux.seccomp.flags ask for.
fn syscall_flags(s: &LinuxSeccomp) -> libc::c_ulong {
    s.flags()
        .iter()
        .flatten()
        .map(|f| match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => 1,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => 2,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => 4,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 32,
        })
        .fold(0, |a, b| a | b)
}

/// Builds the filter, through a cache of compiled programs under `cache`:
/// libseccomp takes milliseconds to resolve and compile a Docker-sized
/// profile, and most containers of a host share a few profiles. The key is
/// the SHA-256 of the profile, libseccomp's version and ours, so a changed
/// profile or library never meets a stale program. The cache is written
/// atomically; NOTIFY filters are not cached (libseccomp hands out the fd).
pub fn build_cached(s: &LinuxSeccomp, cache: &Path) -> Result<Filter> {
    let notify = s
        .syscalls()
        .iter()
        .flatten()
        .any(|sc| sc.action() == LinuxSeccompAction::ScmpActNotify);
    if notify {
        return build(s);
    }
    let flags = syscall_flags(s);
    let file = cache.join(format!("{}.bpf", cache_key(s)));
    if let Ok(code) = std::fs::read(&file) {
        if !code.is_empty() && code.len() % 8 == 0 {
            return Ok(Filter {
                program: Program::Bpf { code, flags },
                listener: None,
            });
        }
    }
    let filter = build(s)?;
    let Program::Context(ctx) = &filter.program else {
        return Ok(filter);
    };
    match export(ctx, cache, &file) {
        Ok(code) => Ok(Filter {
            program: Program::Bpf { code, flags },
            listener: None,
        }),
        // A cache we can't write only costs time.
        Err(e) => {
            crate::logging::debug(&format!("seccomp cache {}: {e}", cache.display()));
            Ok(filter)
        }
    }
}

fn cache_key(s: &LinuxSeccomp) -> String {
    use sha2::{Digest, Sha256};
    let v = libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default();
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(s).unwrap_or_default());
    h.update(format!(
        "|libseccomp {v}|berth {}|{}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    ));
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Compiles `ctx` into `file` (temp + fsync + rename) and returns the code.
fn export(ctx: &ScmpFilterContext, dir: &Path, file: &Path) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let result = (|| {
        let f = std::fs::File::create(&tmp)?;
        ctx.export_bpf(&f).map_err(std::io::Error::other)?;
        f.sync_all()?;
        std::fs::rename(&tmp, file)?;
        std::fs::read(file)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// seccomp(SECCOMP_SET_MODE_FILTER) with a compiled program.
fn load_bpf(code: &[u8], flags: libc::c_ulong) -> Result<()> {
    #[repr(C)]
    struct SockFprog {
        len: libc::c_ushort,
        filter: *const u8,
    }
    let prog = SockFprog {
        len: (code.len() / 8) as libc::c_ushort,
        filter: code.as_ptr(),
    };
    // SAFETY: prog points at `len` 8-byte sock_filter instructions that live
    // for the duration of the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const SockFprog,
        )
    };
    nix::errno::Errno::result(r)
        .map(drop)
        .map_err(|e| field_err("linux.seccomp", format!("load the filter: {e}")))
}

impl Filter {
    /// Connects to listenerPath (a host path: call it before the child
    /// changes its root). No-op without SCMP_ACT_NOTIFY.
    pub fn connect(&mut self) -> Result<()> {
        if let Some(l) = &mut self.listener {
            let s = std::os::unix::net::UnixStream::connect(&l.path)
                .ctx(|| format!("linux.seccomp.listenerPath {}", l.path.display()))?;
            l.sock = Some(s.into());
        }
        Ok(())
    }

    /// Loads the filter into this process. With a listener, sends it the
    /// notify fd and runc's container process state JSON (`state`, and our
    /// host `pid`).
    pub fn load(&self, pid: i64, state: impl FnOnce() -> Vec<u8>) -> Result<()> {
        let ctx = match &self.program {
            Program::Bpf { code, flags } => return load_bpf(code, *flags),
            Program::Context(ctx) => ctx,
        };
        ctx.load()
            .map_err(|e| field_err("linux.seccomp", format!("load the filter: {e}")))?;
        let Some(l) = &self.listener else {
            return Ok(());
        };
        let raw = ctx
            .get_notify_fd()
            .map_err(|e| field_err("linux.seccomp", format!("notify fd: {e}")))?;
        // SAFETY: libseccomp just created this fd for us and keeps no other owner.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let sock = l.sock.as_ref().ok_or_else(|| {
            Error::field("linux.seccomp.listenerPath", "not connected before load")
        })?;
        let st: Value = serde_json::from_slice(&state()).unwrap_or(Value::Null);
        let mut msg = json!({
            "ociVersion": crate::spec::OCI_VERSION,
            "fds": ["seccompFd"],
            "pid": pid,
            "state": st,
        });
        if let Some(m) = &l.metadata {
            msg["metadata"] = json!(m);
        }
        send_fd(sock.as_raw_fd(), msg.to_string().as_bytes(), fd.as_raw_fd()).map_err(|e| {
            Error::field(
                "linux.seccomp.listenerPath",
                format!("{}: send the notify fd: {e}", l.path.display()),
            )
        })
    }
}

fn send_fd(sock: RawFd, data: &[u8], fd: RawFd) -> nix::Result<()> {
    let fds = [fd];
    let iov = [IoSlice::new(data)];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(sock, &iov, &cmsg, MsgFlags::empty(), None).map(drop)
}

/// Field-named errors for seccomp values oci-spec cannot parse (unknown
/// action, operator, architecture or flag), from the raw config.json.
pub fn check_raw(spec: &Value) -> Option<Error> {
    let s = spec.pointer("/linux/seccomp")?;
    let bad = |field: String, v: &Value, known: &[&str]| -> Option<Error> {
        match v.as_str() {
            Some(x) if known.contains(&x) => None,
            _ => Some(Error::field(
                field,
                format!("unknown value {v}; known: {}", known.join(", ")),
            )),
        }
    };
    if let Some(v) = s.get("defaultAction") {
        if let Some(e) = bad("linux.seccomp.defaultAction".into(), v, ACTIONS) {
            return Some(e);
        }
    }
    let list = |k: &str| {
        s.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for (i, v) in list("architectures").iter().enumerate() {
        if let Some(e) = bad(format!("linux.seccomp.architectures[{i}]"), v, ARCHES) {
            return Some(e);
        }
    }
    let flags: Vec<&str> = FLAGS.iter().map(|f| f.0).collect();
    for (i, v) in list("flags").iter().enumerate() {
        if let Some(e) = bad(format!("linux.seccomp.flags[{i}]"), v, &flags) {
            return Some(e);
        }
    }
    for (i, sc) in list("syscalls").iter().enumerate() {
        if let Some(v) = sc.get("action") {
            if let Some(e) = bad(format!("linux.seccomp.syscalls[{i}].action"), v, ACTIONS) {
                return Some(e);
            }
        }
        let args = sc.get("args").and_then(Value::as_array);
        for (j, a) in args.into_iter().flatten().enumerate() {
            if let Some(v) = a.get("op") {
                let f = format!("linux.seccomp.syscalls[{i}].args[{j}].op");
                if let Some(e) = bad(f, v, OPERATORS) {
                    return Some(e);
                }
            }
        }
    }
    None
}

/// The features document's "seccomp" object, probed on this host: the
/// architectures libseccomp accepts, the flags the kernel (and libseccomp)
/// support.
pub fn features() -> Value {
    let archs: Vec<&str> = ARCHES
        .iter()
        .copied()
        .filter(|a| {
            ScmpArch::from_str(a).is_ok_and(|arch| {
                ScmpFilterContext::new(ScmpAction::Allow)
                    .is_ok_and(|mut c| c.add_arch(arch).is_ok())
            })
        })
        .collect();
    let supported: Vec<&str> = FLAGS
        .iter()
        .filter(|(name, bit)| kernel_has_flag(*bit) && lib_has_flag(name))
        .map(|f| f.0)
        .collect();
    json!({
        "enabled": true,
        "actions": ACTIONS,
        "operators": OPERATORS,
        "archs": archs,
        "knownFlags": FLAGS.iter().map(|f| f.0).collect::<Vec<_>>(),
        "supportedFlags": supported,
    })
}

/// As runc: seccomp(SET_MODE_FILTER, flag, NULL) fails with EFAULT when
/// the flag is known (the NULL program is read after the flags are checked).
fn kernel_has_flag(flag: libc::c_ulong) -> bool {
    // SAFETY: a NULL program is never loaded; the kernel returns an error.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            1 as libc::c_ulong, // SECCOMP_SET_MODE_FILTER
            flag,
            std::ptr::null::<libc::c_void>(),
        )
    };
    r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}

fn lib_has_flag(name: &str) -> bool {
    let Ok(mut c) = ScmpFilterContext::new(ScmpAction::Allow) else {
        return false;
    };
    match name {
        "SECCOMP_FILTER_FLAG_TSYNC" => c.set_ctl_tsync(true).is_ok(),
        "SECCOMP_FILTER_FLAG_LOG" => c.set_ctl_log(true).is_ok(),
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => c.set_ctl_ssb(true).is_ok(),
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => c.set_ctl_waitkill(true).is_ok(),
        _ => false,
    }
}

/// Loads a process's filter at runc's point: `early` is the call before
/// capabilities are dropped, the other after no_new_privs.
pub fn load_at(
    f: Option<&Filter>,
    nnp: bool,
    early: bool,
    pid: i64,
    state: impl FnOnce() -> Vec<u8>,
) -> Result<()> {
    match f {
        Some(f) if nnp != early => f.load(pid, state),
        _ => Ok(()),
    }
}

/// linux.seccomp of a spec, built (compiled programs cached under `cache`).
pub fn from_spec(spec: &oci_spec::runtime::Spec, cache: &Path) -> Result<Option<Filter>> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(|s| build_cached(s, cache))
        .transpose()
}

/// Where a runtime root keeps compiled filters ('@' is not valid in an id).
pub fn cache_dir(root: &Path) -> std::path::PathBuf {
    root.join("@seccomp")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> LinuxSeccomp {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn builds_docker_like_rules() {
        let s = parse(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [
                {"names": ["read", "no_such_syscall", "socketcall"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                          {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
            ]
        }));
        let f = build(&s).unwrap();
        assert!(f.listener.is_none());
        let Program::Context(ctx) = &f.program else {
            panic!("build gives a libseccomp context");
        };
        assert!(ctx.is_arch_present(ScmpArch::X86).unwrap());
        // Through the cache: compiled once, then read back as the same program.
        let dir = std::env::temp_dir().join(format!("berth-seccomp-{}", std::process::id()));
        let code = |f: Filter| match f.program {
            Program::Bpf { code, .. } => code,
            Program::Context(_) => panic!("not compiled"),
        };
        let a = code(build_cached(&s, &dir).unwrap());
        let b = code(build_cached(&s, &dir).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!a.is_empty() && a.len() % 8 == 0);
        assert_eq!(a, b);
    }

    #[test]
    fn notify_needs_a_listener_path() {
        let s = parse(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_NOTIFY"}]
        }));
        let e = build(&s).err().unwrap().to_string();
        assert!(e.starts_with("linux.seccomp.listenerPath:"), "{e}");
    }

    #[test]
    fn raw_check_names_the_field() {
        let v = json!({"linux": {"seccomp": {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["a"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["b"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"}]},
                {"names": ["c"], "action": "SCMP_ACT_BOGUS"}
            ]
        }}});
        let e = check_raw(&v).unwrap().to_string();
        assert!(
            e.starts_with("linux.seccomp.syscalls[1].args[0].op:"),
            "{e}"
        );
        let v = json!({"linux": {"seccomp": {"defaultAction": "X"}}});
        assert!(check_raw(&v)
            .unwrap()
            .to_string()
            .starts_with("linux.seccomp.defaultAction:"));
    }

    #[test]
    fn features_are_probed() {
        let f = features();
        assert_eq!(f["enabled"], true);
        let archs = f["archs"].as_array().unwrap();
        assert!(archs.contains(&json!("SCMP_ARCH_X86_64")));
    }
}
