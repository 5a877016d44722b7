//! Runtime spec: linux.seccomp. Each test loads a filter into a real container and checks
//! with the checker's `syscall` probe what the kernel answers inside, and the `Seccomp:` line
//! of /proc/self/status (2 = filter mode).

use serde_json::{json, Value};
use spec_tests::*;
use std::os::unix::net::UnixListener;

const EPERM: i64 = 1;
const EINVAL: i64 = 22;
const ENOSYS: i64 = 38;
const EBADF: i64 = 9;
const EFAULT: i64 = 14;

fn seccomp(c: &mut Container, s: Value) {
    c.config["linux"]["seccomp"] = s;
}

fn allow_but(syscalls: Value) -> Value {
    json!({"defaultAction": "SCMP_ACT_ALLOW",
           "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
           "syscalls": syscalls})
}

#[test]
fn errno_rule_fails_one_syscall_with_eperm() {
    let mut c = Container::new("sc-errno");
    seccomp(
        &mut c,
        allow_but(json!([{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}])),
    );
    let r = c.check(&[
        "syscall", "getcwd", "syscall", "getppid", "syscall", "uname",
    ]);
    assert_eq!(r["seccomp"], "2", "{}", brief(&r));
    assert_eq!(probe_errno(&r, 0), EPERM, "{}", probe(&r, 0));
    assert_eq!(probe_errno(&r, 1), 0, "{}", probe(&r, 1));
    assert_eq!(probe_errno(&r, 2), 0, "{}", probe(&r, 2));
}

/// noNewPrivileges false: the filter must be loaded while the init still has CAP_SYS_ADMIN
/// (before the capabilities are dropped and the user is switched), as runc does.
#[test]
fn filter_loads_without_no_new_privs_for_a_non_root_user() {
    let mut c = Container::new("sc-nonnp");
    c.config["process"]["noNewPrivileges"] = json!(false);
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    seccomp(
        &mut c,
        allow_but(json!([{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}])),
    );
    let r = c.check(&["syscall", "getpriority:0:0", "syscall", "getppid"]);
    assert_eq!(r["seccomp"], "2", "{}", brief(&r));
    assert_eq!(r["no_new_privs"], "0");
    assert_eq!(r["uid"], 1000);
    assert_eq!(probe_errno(&r, 0), 13, "{}", probe(&r, 0));
    assert_eq!(probe_errno(&r, 1), 0);
}

#[test]
fn default_errno_ret_is_returned_by_the_default_action() {
    let mut c = Container::new("sc-deferrno");
    // Everything the runtime and the checker need is allowed; add_key is not.
    let mut s = podman_profile(&caps_of(&c));
    s["defaultErrnoRet"] = json!(EINVAL);
    seccomp(&mut c, s);
    let r = c.check(&["syscall", "add_key", "syscall", "getcwd"]);
    assert_eq!(probe_errno(&r, 0), EINVAL, "{}", probe(&r, 0));
    assert_eq!(probe_errno(&r, 1), 0, "{}", probe(&r, 1));
}

#[test]
fn argument_conditions_select_the_call() {
    let mut c = Container::new("sc-args");
    // getpriority(PRIO_PGRP, 0) fails, getpriority(PRIO_PROCESS, 0) works; personality:
    // MASKED_EQ on the low byte; setns: two conditions on different args (both must hold).
    seccomp(
        &mut c,
        allow_but(json!([
            {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
             "args": [{"index": 0, "value": 255, "valueTwo": 7, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 0, "value": 100, "op": "SCMP_CMP_GT"},
                      {"index": 1, "value": 5, "op": "SCMP_CMP_NE"}]}
        ])),
    );
    let r = c.check(&[
        "syscall",
        "getpriority:1:0",
        "syscall",
        "getpriority:0:0",
        "syscall",
        "personality:263",
        "syscall",
        "personality:4294967295",
        "syscall",
        "setns:200:0",
        "syscall",
        "setns:200:5",
        "syscall",
        "setns:50:0",
    ]);
    assert_eq!(probe_errno(&r, 0), EPERM, "{}", probe(&r, 0));
    assert_eq!(probe_errno(&r, 1), 0, "{}", probe(&r, 1));
    assert_eq!(probe_errno(&r, 2), EINVAL, "{}", probe(&r, 2)); // 0x107 & 0xff == 7
    assert_eq!(probe_errno(&r, 3), 0, "{}", probe(&r, 3));
    assert_eq!(probe_errno(&r, 4), 13, "{}", probe(&r, 4));
    assert_eq!(probe_errno(&r, 5), EBADF, "{}", probe(&r, 5)); // arg1 == 5: the kernel answers
    assert_eq!(probe_errno(&r, 6), EBADF, "{}", probe(&r, 6)); // arg0 <= 100: the kernel answers
}

#[test]
fn kill_action_kills_the_process_with_sigsys() {
    for action in ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS"] {
        let mut c = Container::new("sc-kill");
        seccomp(
            &mut c,
            allow_but(json!([{"names": ["getcwd"], "action": action}])),
        );
        c.checker_args(&["syscall", "getcwd"]);
        let o = c.run();
        assert_eq!(o.code, Some(128 + 31), "{action}: {o}");
        assert!(
            !o.stdout.contains("\"probes\""),
            "{action}: the checker went on: {o}"
        );
    }
}

/// Without SCMP_ARCH_X86 in the filter a 32-bit `int 0x80` call is a bad-arch kill.
#[test]
fn architectures_cover_32_bit_calls() {
    let mut c = Container::new("sc-arch");
    seccomp(&mut c, allow_but(json!([])));
    let r = c.check(&["syscall", "int80_getpid"]);
    assert_eq!(probe_errno(&r, 0), 0, "{}", probe(&r, 0));
    assert_eq!(probe(&r, 0)["ret"], r["pid"]);

    let mut c = Container::new("sc-arch64");
    seccomp(
        &mut c,
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
               "syscalls": [{"names": ["add_key"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    c.checker_args(&["syscall", "int80_getpid"]);
    let o = c.run();
    assert_eq!(o.code, Some(128 + 31), "{o}");
}

fn caps_of(c: &Container) -> Vec<String> {
    c.config["process"]["capabilities"]["bounding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Docker's/podman's profile (/usr/share/containers/seccomp.json, Docker's format) in the
/// OCI form, the way Docker converts it: x86_64 and its sub-architectures, entries kept when
/// every `includes.caps` is in the bounding set and no `excludes.caps` is, arches likewise.
fn podman_profile(caps: &[String]) -> Value {
    let d: Value = serde_json::from_slice(
        &std::fs::read("/usr/share/containers/seccomp.json")
            .expect("/usr/share/containers/seccomp.json (containers-common) is installed"),
    )
    .unwrap();
    let arch = "SCMP_ARCH_X86_64";
    let mut arches = vec![json!(arch)];
    for m in d["archMap"].as_array().into_iter().flatten() {
        if m["architecture"] == arch {
            arches.extend(
                m["subArchitectures"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
    }
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    let mut syscalls = Vec::new();
    for s in d["syscalls"].as_array().unwrap() {
        let inc_caps = strs(&s["includes"]["caps"]);
        let exc_caps = strs(&s["excludes"]["caps"]);
        let inc_arch = strs(&s["includes"]["arches"]);
        let exc_arch = strs(&s["excludes"]["arches"]);
        if !inc_caps.iter().all(|c| caps.contains(c))
            || exc_caps.iter().any(|c| caps.contains(c))
            || (!inc_arch.is_empty() && !inc_arch.iter().any(|a| a == "amd64" || a == arch))
            || exc_arch.iter().any(|a| a == "amd64" || a == arch)
        {
            continue;
        }
        let mut names = strs(&s["names"]);
        if let Some(n) = s["name"].as_str() {
            names.push(n.to_string());
        }
        let mut e = json!({"names": names, "action": s["action"]});
        for k in ["errnoRet", "args"] {
            if !s[k].is_null() && s[k] != json!([]) {
                e[k] = s[k].clone();
            }
        }
        syscalls.push(e);
    }
    let mut out = json!({"defaultAction": d["defaultAction"], "architectures": arches,
                         "syscalls": syscalls});
    if !d["defaultErrnoRet"].is_null() {
        out["defaultErrnoRet"] = d["defaultErrnoRet"].clone();
    }
    out
}

#[test]
fn podman_default_profile_loads_and_behaves() {
    let mut c = Container::new("sc-podman");
    let profile = podman_profile(&caps_of(&c));
    assert_eq!(
        profile["defaultErrnoRet"], ENOSYS,
        "the profile changed: {profile}"
    );
    seccomp(&mut c, profile);
    let r = c.check(&[
        "syscall",
        "getcwd",
        "syscall",
        "add_key",
        "syscall",
        "chroot",
        "syscall",
        "personality:4294967295",
        "syscall",
        "personality:1",
        "syscall",
        "int80_getpid",
        "syscall",
        "mkdir",
    ]);
    assert_eq!(r["seccomp"], "2", "{}", brief(&r));
    assert_eq!(probe_errno(&r, 0), 0, "getcwd: {}", probe(&r, 0));
    // Not in the profile: the default action, ENOSYS.
    assert_eq!(probe_errno(&r, 1), ENOSYS, "add_key: {}", probe(&r, 1));
    // chroot is allowed only with CAP_SYS_CHROOT: EPERM (the kernel would say EFAULT).
    assert_eq!(probe_errno(&r, 2), EPERM, "chroot: {}", probe(&r, 2));
    assert_eq!(probe_errno(&r, 3), 0, "personality query: {}", probe(&r, 3));
    assert_eq!(
        probe_errno(&r, 4),
        ENOSYS,
        "personality(1): {}",
        probe(&r, 4)
    );
    assert_eq!(probe_errno(&r, 5), 0, "int 0x80 getpid: {}", probe(&r, 5));
    assert_eq!(probe_errno(&r, 6), 0, "mkdir: {}", probe(&r, 6));

    // With CAP_SYS_CHROOT the profile allows chroot: the kernel answers.
    let mut c = Container::new("sc-podman-chroot");
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_SYS_CHROOT"]);
    for set in ["bounding", "effective", "permitted"] {
        c.config["process"]["capabilities"][set] = caps.clone();
    }
    c.config["process"]["capabilities"]["ambient"] = json!([]);
    let profile = podman_profile(&caps_of(&c));
    seccomp(&mut c, profile);
    let r = c.check(&["syscall", "chroot"]);
    assert_eq!(probe_errno(&r, 0), EFAULT, "chroot: {}", probe(&r, 0));
}

#[test]
fn exec_gets_the_container_filter() {
    let _g = exclusive();
    let mut c = Container::new("sc-exec");
    seccomp(
        &mut c,
        allow_but(json!([{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}])),
    );
    c.args(&["/bin/sleep", "30"]);
    c.create().assert_ok();
    c.start().assert_ok();
    let o = c.runtime(&["exec", &c.id, "/bin/checker", "syscall", "getcwd"]);
    o.assert_ok();
    let r = o.json();
    assert_eq!(r["seccomp"], "2", "{}", brief(&r));
    assert_eq!(probe_errno(&r, 0), EPERM, "{}", probe(&r, 0));
    c.delete(true).assert_ok();
}

/// SCMP_ACT_NOTIFY: the notify fd and runc's container process state reach listenerPath;
/// once the agent closes the fd, the notified syscall fails with ENOSYS.
#[test]
fn notify_sends_the_listener_fd_and_state() {
    let mut c = Container::new("sc-notify");
    let sock = c.host_dir().join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let mut s = allow_but(json!([{"names": ["getcwd"], "action": "SCMP_ACT_NOTIFY"}]));
    s["listenerPath"] = json!(sock);
    s["listenerMetadata"] = json!("berth-test");
    seccomp(&mut c, s);
    c.checker_args(&["syscall", "getcwd"]);
    let agent = std::thread::spawn(move || {
        let (data, fd) = accept_fd(&listener);
        let msg: Value = serde_json::from_slice(&data).unwrap();
        drop(fd);
        msg
    });
    c.create().assert_ok();
    let msg = agent.join().unwrap();
    assert_eq!(msg["fds"], json!(["seccompFd"]), "{msg}");
    assert_eq!(msg["metadata"], "berth-test", "{msg}");
    assert_eq!(msg["state"]["id"], c.id.as_str(), "{msg}");
    assert_eq!(msg["pid"], c.state()["pid"], "{msg}");
    c.start().assert_ok();
    c.wait_status("stopped", 10);
    let r = parse_last_json(&c.container_stdout()).expect("checker report");
    assert_eq!(probe_errno(&r, 0), ENOSYS, "{}", probe(&r, 0));
    c.delete(true).assert_ok();
}

#[test]
fn unknown_action_is_a_clear_error_and_leaves_nothing() {
    let mut c = Container::new("sc-bad");
    seccomp(
        &mut c,
        allow_but(json!([
            {"names": ["getcwd"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["getcwd"], "action": "SCMP_ACT_BOGUS"}
        ])),
    );
    let o = c.create();
    o.assert_fail();
    assert!(
        o.stderr.contains("linux.seccomp.syscalls[1].action")
            && o.stderr.contains("SCMP_ACT_BOGUS"),
        "{o}"
    );
    assert!(
        !c.has_state_dir(),
        "state left behind: {:?}",
        c.state_entries()
    );

    // NOTIFY without listenerPath, and an unknown architecture: also named.
    seccomp(
        &mut c,
        allow_but(json!([{"names": ["getcwd"], "action": "SCMP_ACT_NOTIFY"}])),
    );
    let o = c.create();
    o.assert_fail();
    assert!(o.stderr.contains("linux.seccomp.listenerPath"), "{o}");
    let mut s = allow_but(json!([]));
    s["architectures"] = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"]);
    seccomp(&mut c, s);
    let o = c.create();
    o.assert_fail();
    assert!(o.stderr.contains("linux.seccomp.architectures[1]"), "{o}");
    assert!(
        !c.has_state_dir(),
        "state left behind: {:?}",
        c.state_entries()
    );
}

#[test]
fn features_report_seccomp() {
    let c = Container::new("sc-features");
    let o = c.runtime(&["features"]);
    o.assert_ok();
    let f: Value = serde_json::from_str(&o.stdout).unwrap();
    let s = &f["linux"]["seccomp"];
    assert_eq!(s["enabled"], true, "{s}");
    for (k, v) in [
        ("actions", "SCMP_ACT_NOTIFY"),
        ("operators", "SCMP_CMP_MASKED_EQ"),
        ("archs", "SCMP_ARCH_X86"),
        ("knownFlags", "SECCOMP_FILTER_FLAG_LOG"),
        ("supportedFlags", "SECCOMP_FILTER_FLAG_TSYNC"),
    ] {
        assert!(s[k].as_array().unwrap().contains(&json!(v)), "{k}: {s}");
    }
}

/// The second container with the same profile loads the compiled program from
/// the runtime root's cache, and the filter still holds.
#[test]
fn compiled_filter_is_cached_and_still_enforced() {
    let mut c = Container::new("sc-cache");
    seccomp(
        &mut c,
        allow_but(json!([{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}])),
    );
    let first = c.check(&["syscall", "getcwd"]);
    assert_eq!(probe_errno(&first, 0), EPERM, "{}", brief(&first));
    let cache = c.state_root().join("@seccomp");
    let cached: Vec<_> = std::fs::read_dir(&cache)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    if !cached.is_empty() {
        // Ours keeps one compiled program per profile; other runtimes have no cache.
        assert_eq!(cached.len(), 1, "{cached:?}");
    }
    let b = c.bundle();
    let id2 = format!("{}-again", c.id);
    let o = c.runtime(&["run", "--bundle", b.to_str().unwrap(), &id2]);
    o.assert_ok();
    let second = o.json();
    assert_eq!(second["seccomp"], "2", "{}", brief(&second));
    assert_eq!(probe_errno(&second, 0), EPERM, "{}", brief(&second));
}

/// Without noNewPrivileges the filter is loaded before the user switch; a
/// profile that forbids getcwd and close_range (as runtime-tools' default
/// does for getcwd) must not break the runtime's own last steps.
#[test]
fn early_filter_forbidding_getcwd_and_close_range_still_starts() {
    let mut c = Container::new("sc-early");
    c.config["process"]["noNewPrivileges"] = json!(false);
    seccomp(
        &mut c,
        allow_but(
            json!([{"names": ["getcwd", "close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]),
        ),
    );
    let r = c.check(&["syscall", "getcwd", "syscall", "getppid"]);
    assert_eq!(r["seccomp"], "2", "{}", brief(&r));
    assert_eq!(probe_errno(&r, 0), EPERM, "{}", probe(&r, 0));
    assert_eq!(probe_errno(&r, 1), 0, "{}", probe(&r, 1));
}
