//! Docker's default seccomp profile and capability set, as OCI config
//! fragments (OWNER: bundle helper).
//!
//! The data is Docker's default profile (moby/profiles seccomp/default.json,
//! Apache-2.0), written out as Rust so the builder needs no profile file at
//! run time. [`default_profile`] resolves it the way dockerd does for one
//! container: rules whose `includes`/`excludes` name capabilities or
//! architectures are kept or dropped for the process's capabilities and the
//! host's architecture, and what is left is the OCI `linux.seccomp` object.

use serde_json::{json, Value};

/// Docker's default capabilities for containers and build steps.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// EPERM: what a syscall outside the profile fails with.
const EPERM: u32 = 1;
/// ENOSYS: clone3 fails with it so that glibc falls back to clone, whose
/// flags the profile can inspect (clone3 passes them in memory).
const ENOSYS: u32 = 38;

/// AF_ALG and AF_VSOCK: the socket families Docker's profile denies (kernel
/// crypto API, CVE-2026-31431; host/guest sockets).
const AF_ALG: u64 = 38;
const AF_VSOCK: u64 = 40;

/// clone flags a process without CAP_SYS_ADMIN may not pass: CLONE_NEWNS,
/// NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET and NEWCGROUP (0x7E020000).
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// The syscalls every container may make (Docker's first, unconditional rule).
const ALLOW: &[&str] = &[
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "getxattrat",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listmount",
    "listxattr",
    "listxattrat",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "mseal",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "removexattrat",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "riscv_hwprobe",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "setxattrat",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statmount",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "uretprobe",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
];

/// What a matching syscall does.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Action {
    Allow,
    Errno(u32),
}

/// A condition on one syscall argument (an OCI `args` entry). For
/// SCMP_CMP_MASKED_EQ, `value` is the mask and `value_two` the datum.
struct Arg {
    index: u32,
    value: u64,
    value_two: u64,
    op: &'static str,
}

const fn arg(index: u32, value: u64, op: &'static str) -> Arg {
    Arg {
        index,
        value,
        value_two: 0,
        op,
    }
}

/// One rule of Docker's profile, with its `includes` and `excludes`.
/// Architectures are Go's GOARCH names, as Docker's profile writes them.
struct Rule {
    names: &'static [&'static str],
    action: Action,
    args: &'static [Arg],
    /// includes.arches: kept only on one of these.
    arches: &'static [&'static str],
    /// excludes.arches: dropped on any of these.
    not_arches: &'static [&'static str],
    /// includes.caps: kept only when all of these are in the bounding set.
    caps: &'static [&'static str],
    /// excludes.caps: dropped when any of these is.
    not_caps: &'static [&'static str],
}

const ALLOW_RULE: Rule = Rule {
    names: &[],
    action: Action::Allow,
    args: &[],
    arches: &[],
    not_arches: &[],
    caps: &[],
    not_caps: &[],
};

const fn allow(names: &'static [&'static str]) -> Rule {
    Rule {
        names,
        ..ALLOW_RULE
    }
}

const fn allow_on(arches: &'static [&'static str], names: &'static [&'static str]) -> Rule {
    Rule {
        names,
        arches,
        ..ALLOW_RULE
    }
}

const fn allow_with(cap: &'static [&'static str], names: &'static [&'static str]) -> Rule {
    Rule {
        names,
        caps: cap,
        ..ALLOW_RULE
    }
}

/// Only the personalities programs ask for: PER_LINUX, UNAME26, ADDR_NO_RANDOMIZE
/// (alone and with UNAME26), and 0xffffffff (a query).
const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// The syscalls CAP_SYS_ADMIN lets in (mounts, namespaces, bpf, ...).
const SYS_ADMIN: &[&str] = &[
    "bpf",
    "clone",
    "clone3",
    "fanotify_init",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "lookup_dcookie",
    "lsm_get_self_attr",
    "lsm_list_modules",
    "lsm_set_self_attr",
    "mount",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "perf_event_open",
    "quotactl",
    "quotactl_fd",
    "setdomainname",
    "sethostname",
    "setns",
    "syslog",
    "umount",
    "umount2",
    "unshare",
];

/// Docker's rules after the big allow list, in its order.
const RULES: &[Rule] = &[
    allow(ALLOW),
    // Docker's profile has these for kernels >= 4.8 (before, ptrace could
    // bypass seccomp); older kernels are not supported here.
    allow(&["process_vm_readv", "process_vm_writev", "ptrace"]),
    // socket for every family but AF_ALG and AF_VSOCK: three rules because
    // conditions within one rule are ANDed on the same argument.
    Rule {
        names: &["socket"],
        args: &[arg(0, AF_ALG, "SCMP_CMP_LT")],
        ..ALLOW_RULE
    },
    Rule {
        names: &["socket"],
        args: &[arg(0, AF_ALG + 1, "SCMP_CMP_EQ")],
        ..ALLOW_RULE
    },
    Rule {
        names: &["socket"],
        args: &[arg(0, AF_VSOCK, "SCMP_CMP_GT")],
        ..ALLOW_RULE
    },
    Rule {
        names: &["personality"],
        args: &[arg(0, PERSONALITIES[0], "SCMP_CMP_EQ")],
        ..ALLOW_RULE
    },
    Rule {
        names: &["personality"],
        args: &[arg(0, PERSONALITIES[1], "SCMP_CMP_EQ")],
        ..ALLOW_RULE
    },
    Rule {
        names: &["personality"],
        args: &[arg(0, PERSONALITIES[2], "SCMP_CMP_EQ")],
        ..ALLOW_RULE
    },
    Rule {
        names: &["personality"],
        args: &[arg(0, PERSONALITIES[3], "SCMP_CMP_EQ")],
        ..ALLOW_RULE
    },
    Rule {
        names: &["personality"],
        args: &[arg(0, PERSONALITIES[4], "SCMP_CMP_EQ")],
        ..ALLOW_RULE
    },
    allow_on(&["ppc64le"], &["sync_file_range2", "swapcontext"]),
    allow_on(
        &["arm", "arm64"],
        &[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ],
    ),
    allow_on(&["amd64", "x32"], &["arch_prctl"]),
    allow_on(&["amd64", "x32", "x86"], &["modify_ldt"]),
    allow_on(
        &["s390", "s390x"],
        &[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ],
    ),
    allow_on(&["riscv64"], &["riscv_flush_icache"]),
    allow_with(&["CAP_DAC_READ_SEARCH"], &["open_by_handle_at"]),
    allow_with(&["CAP_SYS_ADMIN"], SYS_ADMIN),
    // Without CAP_SYS_ADMIN, clone may not make namespaces (flags are
    // argument 0, argument 1 on s390).
    Rule {
        names: &["clone"],
        args: &[arg(0, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ")],
        not_caps: &["CAP_SYS_ADMIN"],
        not_arches: &["s390", "s390x"],
        ..ALLOW_RULE
    },
    Rule {
        names: &["clone"],
        args: &[arg(1, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ")],
        arches: &["s390", "s390x"],
        not_caps: &["CAP_SYS_ADMIN"],
        ..ALLOW_RULE
    },
    Rule {
        names: &["clone3"],
        action: Action::Errno(ENOSYS),
        not_caps: &["CAP_SYS_ADMIN"],
        ..ALLOW_RULE
    },
    allow_with(&["CAP_SYS_BOOT"], &["reboot"]),
    allow_with(&["CAP_SYS_CHROOT"], &["chroot"]),
    allow_with(
        &["CAP_SYS_MODULE"],
        &["delete_module", "init_module", "finit_module"],
    ),
    allow_with(&["CAP_SYS_PACCT"], &["acct"]),
    allow_with(
        &["CAP_SYS_PTRACE"],
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
    ),
    allow_with(&["CAP_SYS_RAWIO"], &["iopl", "ioperm"]),
    allow_with(
        &["CAP_SYS_TIME"],
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
    ),
    allow_with(&["CAP_SYS_TTY_CONFIG"], &["vhangup"]),
    allow_with(
        &["CAP_SYS_NICE"],
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
    allow_with(&["CAP_SYSLOG"], &["syslog"]),
    allow_with(&["CAP_BPF"], &["bpf"]),
    allow_with(&["CAP_PERFMON"], &["perf_event_open"]),
];

/// The host as Docker's profile sees it: its GOARCH name and the seccomp
/// architectures a filter covers (the native one and its compat ABIs, from
/// the profile's archMap). An unknown host gets no list: the runtime then
/// filters the native architecture only.
fn host_arch() -> (&'static str, &'static [&'static str]) {
    match std::env::consts::ARCH {
        "x86_64" => (
            "amd64",
            &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        ),
        "aarch64" => ("arm64", &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]),
        "s390x" => ("s390x", &["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]),
        "riscv64" => ("riscv64", &["SCMP_ARCH_RISCV64"]),
        other => (other, &[]),
    }
}

/// The OCI `linux.seccomp` object of Docker's default profile for a process
/// with `caps`, on the host's architecture.
pub fn default_profile(caps: &[String]) -> Value {
    let (arch, arches) = host_arch();
    profile_for(arch, arches, caps)
}

fn profile_for(arch: &str, arches: &[&str], caps: &[String]) -> Value {
    let has = |c: &&str| caps.iter().any(|have| have == c);
    let syscalls: Vec<Value> = RULES
        .iter()
        .filter(|r| r.arches.is_empty() || r.arches.contains(&arch))
        .filter(|r| !r.not_arches.contains(&arch))
        .filter(|r| r.caps.iter().all(has))
        .filter(|r| !r.not_caps.iter().any(has))
        .map(rule_json)
        .collect();
    let mut profile = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "syscalls": syscalls,
    });
    if !arches.is_empty() {
        profile["architectures"] = json!(arches);
    }
    profile
}

fn rule_json(rule: &Rule) -> Value {
    let mut v = json!({ "names": rule.names });
    match rule.action {
        Action::Allow => v["action"] = json!("SCMP_ACT_ALLOW"),
        Action::Errno(errno) => {
            v["action"] = json!("SCMP_ACT_ERRNO");
            v["errnoRet"] = json!(errno);
        }
    }
    if !rule.args.is_empty() {
        let args: Vec<Value> = rule
            .args
            .iter()
            .map(|a| json!({"index": a.index, "value": a.value, "valueTwo": a.value_two, "op": a.op}))
            .collect();
        v["args"] = json!(args);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn caps(extra: &[&str]) -> Vec<String> {
        DEFAULT_CAPS
            .iter()
            .chain(extra)
            .map(|c| c.to_string())
            .collect()
    }

    /// Names some ALLOW rule lets in (with or without argument conditions).
    fn allowed(profile: &Value) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for rule in profile["syscalls"].as_array().into_iter().flatten() {
            if rule["action"] == "SCMP_ACT_ALLOW" {
                for n in rule["names"].as_array().into_iter().flatten() {
                    out.insert(n.as_str().unwrap_or_default().to_string());
                }
            }
        }
        out
    }

    fn rules_for<'a>(profile: &'a Value, name: &str) -> Vec<&'a Value> {
        let arr = profile["syscalls"].as_array();
        arr.into_iter()
            .flatten()
            .filter(|r| {
                r["names"]
                    .as_array()
                    .is_some_and(|n| n.iter().any(|n| n == name))
            })
            .collect()
    }

    #[test]
    fn defaults_and_architectures() {
        let p = profile_for("amd64", &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], &caps(&[]));
        assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(p["defaultErrnoRet"], 1);
        assert_eq!(
            p["architectures"],
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])
        );
        let host = default_profile(&caps(&[]));
        if std::env::consts::ARCH == "x86_64" {
            let want = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
            assert_eq!(host["architectures"], want);
        }
        assert!(profile_for("mips", &[], &[]).get("architectures").is_none());
    }

    #[test]
    fn clone3_is_enosys_without_sys_admin_and_clone_is_masked() {
        let p = profile_for("amd64", &[], &caps(&[]));
        let clone3 = rules_for(&p, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0]["action"], "SCMP_ACT_ERRNO");
        assert_eq!(clone3[0]["errnoRet"], 38);
        let clone = rules_for(&p, "clone");
        assert_eq!(clone.len(), 1, "{clone:?}");
        let a = &clone[0]["args"][0];
        assert_eq!(
            (a["index"].clone(), a["value"].clone()),
            (json!(0), json!(0x7E02_0000u64))
        );
        assert_eq!(a["op"], "SCMP_CMP_MASKED_EQ");
        assert!(!allowed(&p).contains("mount"));

        let admin = profile_for("amd64", &[], &caps(&["CAP_SYS_ADMIN"]));
        let clone3 = rules_for(&admin, "clone3");
        assert!(
            clone3.iter().all(|r| r["action"] == "SCMP_ACT_ALLOW"),
            "{clone3:?}"
        );
        assert!(rules_for(&admin, "clone")
            .iter()
            .all(|r| r.get("args").is_none()));
        assert!(
            allowed(&admin).is_superset(&["mount", "unshare", "setns"].map(String::from).into())
        );
    }

    #[test]
    fn s390_clone_rule_uses_the_second_argument() {
        let p = profile_for("s390x", &[], &caps(&[]));
        let clone = rules_for(&p, "clone");
        assert_eq!(clone.len(), 1);
        assert_eq!(clone[0]["args"][0]["index"], 1);
        assert!(allowed(&p).contains("s390_runtime_instr"));
        assert!(!allowed(&p).contains("arch_prctl"));
    }

    #[test]
    fn arch_rules_only_for_the_host_arch() {
        let x86 = allowed(&profile_for("amd64", &[], &caps(&[])));
        assert!(x86.contains("arch_prctl") && x86.contains("modify_ldt"));
        assert!(!x86.contains("set_tls") && !x86.contains("riscv_flush_icache"));
        let arm = allowed(&profile_for("arm64", &[], &caps(&[])));
        assert!(arm.contains("set_tls") && arm.contains("arm_fadvise64_64"));
        assert!(!arm.contains("arch_prctl") && !arm.contains("modify_ldt"));
    }

    #[test]
    fn capability_rules_follow_the_caps() {
        let base = allowed(&profile_for("amd64", &[], &caps(&[])));
        // CAP_SYS_CHROOT is a default cap: chroot is in.
        assert!(base.contains("chroot"));
        for gated in [
            "kcmp",
            "reboot",
            "bpf",
            "perf_event_open",
            "syslog",
            "open_by_handle_at",
        ] {
            assert!(!base.contains(gated), "{gated}");
        }
        let no_chroot: Vec<String> = caps(&[])
            .into_iter()
            .filter(|c| c != "CAP_SYS_CHROOT")
            .collect();
        assert!(!allowed(&profile_for("amd64", &[], &no_chroot)).contains("chroot"));
        let more = allowed(&profile_for(
            "amd64",
            &[],
            &caps(&["CAP_SYS_PTRACE", "CAP_BPF"]),
        ));
        assert!(more.contains("kcmp") && more.contains("pidfd_getfd") && more.contains("bpf"));
    }

    #[test]
    fn socket_denies_af_alg_and_af_vsock_only() {
        let p = profile_for("amd64", &[], &caps(&[]));
        let socket = rules_for(&p, "socket");
        let conds: Vec<(u64, String)> = socket
            .iter()
            .map(|r| {
                let a = &r["args"][0];
                (
                    a["value"].as_u64().unwrap_or_default(),
                    a["op"].as_str().unwrap_or_default().into(),
                )
            })
            .collect();
        let want = [
            (38, "SCMP_CMP_LT"),
            (39, "SCMP_CMP_EQ"),
            (40, "SCMP_CMP_GT"),
        ];
        assert_eq!(conds, want.map(|(v, o)| (v, o.to_string())));
        let personality = rules_for(&p, "personality");
        assert_eq!(personality.len(), 5);
    }

    /// Names podman's containers-common profile (0.50, Debian 12) and Docker's
    /// current one disagree on, checked as exceptions. Docker allows newer
    /// syscalls containers-common 0.50 predates, and io_pgetevents and
    /// vmsplice; containers-common lets in clone3, the new mount API, keyctl,
    /// pivot_root, unshare, setns, NUMA policy and others Docker gates on
    /// CAP_SYS_ADMIN / CAP_SYS_NICE, and a few names that are no syscalls on
    /// x86_64 at all (readdir, signal, sigaction, ...).
    const ONLY_DOCKER: &[&str] = &[
        "cachestat",
        "fchmodat2",
        "futex_requeue",
        "futex_wait",
        "futex_waitv",
        "futex_wake",
        "getxattrat",
        "io_pgetevents",
        "io_pgetevents_time64",
        "listmount",
        "listxattrat",
        "map_shadow_stack",
        "mseal",
        "removexattrat",
        "riscv_hwprobe",
        "setxattrat",
        "statmount",
        "uretprobe",
        "vmsplice",
    ];
    const ONLY_PODMAN: &[&str] = &[
        "clone3",
        "fsconfig",
        "fsmount",
        "fsopen",
        "fspick",
        "get_mempolicy",
        "keyctl",
        "mbind",
        "mount",
        "mount_setattr",
        "move_mount",
        "open_tree",
        "pidfd_getfd",
        "pivot_root",
        "readdir",
        "reboot",
        "set_mempolicy",
        "setns",
        "sigaction",
        "signal",
        "sigpending",
        "sigsuspend",
        "syscall",
        "syslog",
        "timerfd",
        "umount",
        "umount2",
        "unshare",
    ];

    /// Resolves a profile in Docker's file format for `caps` on amd64 the way
    /// dockerd does (minKernel taken as met), returning the allowed names.
    fn resolve_docker_format(profile: &Value, caps: &[String]) -> BTreeSet<String> {
        let strs = |v: &Value| -> Vec<String> {
            let arr = v.as_array().cloned().unwrap_or_default();
            arr.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        };
        let mut out = BTreeSet::new();
        for rule in profile["syscalls"].as_array().into_iter().flatten() {
            let (inc, exc) = (&rule["includes"], &rule["excludes"]);
            let inc_arches = strs(&inc["arches"]);
            let keep = rule["action"] == "SCMP_ACT_ALLOW"
                && (inc_arches.is_empty() || inc_arches.iter().any(|a| a == "amd64"))
                && !strs(&exc["arches"]).iter().any(|a| a == "amd64")
                && strs(&inc["caps"]).iter().all(|c| caps.contains(c))
                && !strs(&exc["caps"]).iter().any(|c| caps.contains(c));
            if keep {
                out.extend(strs(&rule["names"]));
            }
        }
        out
    }

    #[test]
    fn allow_list_matches_containers_common_profile() {
        let path = "/usr/share/containers/seccomp.json";
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipping: {path} not present");
            return;
        };
        let theirs: Value = serde_json::from_str(&text).expect("seccomp.json is JSON");
        let theirs = resolve_docker_format(&theirs, &caps(&[]));
        let ours = allowed(&profile_for("amd64", &[], &caps(&[])));
        let only_ours: Vec<_> = ours.difference(&theirs).collect();
        let only_theirs: Vec<_> = theirs.difference(&ours).collect();
        eprintln!("only in ours: {only_ours:?}\nonly in {path}: {only_theirs:?}");
        let unexpected_ours: Vec<_> = only_ours
            .iter()
            .filter(|n| !ONLY_DOCKER.contains(&n.as_str()))
            .collect();
        let unexpected_theirs: Vec<_> = only_theirs
            .iter()
            .filter(|n| !ONLY_PODMAN.contains(&n.as_str()))
            .collect();
        assert!(
            unexpected_ours.is_empty() && unexpected_theirs.is_empty(),
            "undocumented differences: only ours {unexpected_ours:?}, only theirs {unexpected_theirs:?}"
        );
    }
}
