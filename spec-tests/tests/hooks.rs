//! Runtime spec, "POSIX-platform Hooks": prestart, createRuntime, createContainer,
//! startContainer, poststart, poststop. Each hook appends "<name> <state JSON from stdin>" to a
//! log file on the host; the tests check the fields and the order.

use serde_json::{json, Value};
use spec_tests::*;
use std::process::Command;
use std::time::Duration;

const NAMES: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// A hook that appends to `log` (a path valid where the hook runs).
fn log_hook(name: &str, path: &str, log: &str) -> Value {
    json!({"path": path, "args": ["sh", "-c", format!("printf '{name} ' >> {log}; cat >> {log}; echo >> {log}")]})
}

fn hooked(name: &str) -> Container {
    let mut c = Container::new(name);
    let dir = c.host_dir();
    c.add_mount(
        json!({"destination": "/hooklog", "type": "bind", "source": dir, "options": ["bind"]}),
    );
    let host_log = dir.join("log");
    let host_log = host_log.to_str().unwrap();
    let mut hooks = serde_json::Map::new();
    for n in NAMES {
        // startContainer runs in the container (path and file resolve there); the others run
        // with the runtime's view (createContainer: in the container's mount namespace before
        // pivot_root, where host paths are still reachable).
        let h = if *n == "startContainer" {
            log_hook(n, "/bin/sh", "/hooklog/log")
        } else {
            log_hook(n, "/bin/sh", host_log)
        };
        hooks.insert(n.to_string(), json!([h]));
    }
    c.config["hooks"] = Value::Object(hooks);
    // poststart runs while the process runs: let it finish writing first,
    // so the two don't interleave in the log.
    c.args(&["/bin/sh", "-c", "sleep 1; echo process >> /hooklog/log"]);
    c
}

fn entries(c: &Container) -> Vec<(String, Value)> {
    read_or_empty(&c.host_dir().join("log"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (n, rest) = l.split_once(' ').unwrap_or((l, ""));
            (
                n.to_string(),
                serde_json::from_str(rest).unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// Known to fail with runc 1.1: it runs poststart hooks inside `runc create` (fixed in 1.2);
/// the spec says poststart hooks run after the start operation.
#[test]
fn all_hooks_run_in_order_with_state_on_stdin() {
    let c = hooked("hooks-all");
    c.create().assert_ok();
    let after_create: Vec<String> = entries(&c).into_iter().map(|e| e.0).collect();
    for n in ["prestart", "createRuntime", "createContainer"] {
        assert!(
            after_create.contains(&n.to_string()),
            "{n} not run at create: {after_create:?}"
        );
    }
    for n in ["startContainer", "poststart", "process", "poststop"] {
        assert!(
            !after_create.contains(&n.to_string()),
            "{n} ran at create: {after_create:?}"
        );
    }
    let pid = c.state()["pid"].as_i64().unwrap();
    c.start().assert_ok();
    c.wait_status("stopped", 10);
    c.delete(false).assert_ok();
    let e = entries(&c);
    let order: Vec<&str> = e.iter().map(|x| x.0.as_str()).collect();
    let pos = |n: &str| {
        order
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("{n} missing: {order:?}"))
    };
    assert!(pos("prestart") < pos("createContainer"), "{order:?}");
    assert!(pos("createRuntime") < pos("createContainer"), "{order:?}");
    assert!(pos("createContainer") < pos("startContainer"), "{order:?}");
    assert!(pos("startContainer") < pos("process"), "{order:?}");
    assert!(
        pos("process") < pos("poststop") && pos("poststart") < pos("poststop"),
        "{order:?}"
    );
    for (n, st) in &e {
        if n == "process" {
            continue;
        }
        assert_eq!(st["id"], c.id.as_str(), "{n}: {st}");
        assert!(st["ociVersion"].is_string(), "{n}: {st}");
        let b = st["bundle"]
            .as_str()
            .unwrap_or_else(|| panic!("{n}: no bundle: {st}"));
        assert_eq!(
            std::fs::canonicalize(b).unwrap(),
            std::fs::canonicalize(c.bundle()).unwrap()
        );
        if n != "poststop" {
            assert_eq!(
                st["pid"].as_i64(),
                Some(pid),
                "{n}: pid of the container init: {st}"
            );
        }
    }
    let status = |n: &str| e.iter().find(|x| x.0 == n).unwrap().1["status"].clone();
    assert_eq!(status("createRuntime"), "creating");
    assert_eq!(status("createContainer"), "creating");
    assert_eq!(status("poststart"), "running");
    assert_eq!(status("poststop"), "stopped");
}

#[test]
fn hook_args_and_env_are_passed() {
    let mut c = Container::new("hooks-env");
    let log = c.host_dir().join("env");
    c.config["hooks"] = json!({"createRuntime": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("echo \"$0 $1 $HOOKVAR\" > {}", log.display()), "first", "second"],
        "env": ["HOOKVAR=hook-value"]
    }]});
    c.checker_args(&[]);
    c.run().assert_ok();
    assert_eq!(read_or_empty(&log).trim(), "first second hook-value");
}

fn assert_no_leftovers(c: &Container) {
    assert!(
        !c.has_state_dir(),
        "state dir left: {:?}",
        c.state_entries()
    );
    assert!(!c.runtime(&["state", &c.id]).success());
}

#[test]
fn failing_prestart_hook_fails_create() {
    let mut c = hooked("hooks-fail");
    c.config["hooks"]["prestart"] = json!([{"path": "/bin/sh", "args": ["sh", "-c", "exit 1"]}]);
    let o = c.create();
    o.assert_fail();
    std::thread::sleep(Duration::from_millis(200));
    let names: Vec<String> = entries(&c).into_iter().map(|e| e.0).collect();
    assert!(
        !names.contains(&"process".to_string()),
        "process ran: {names:?}"
    );
    assert!(!names.contains(&"startContainer".to_string()), "{names:?}");
    assert_no_leftovers(&c);
}

#[test]
fn failing_create_runtime_hook_fails_create() {
    let mut c = hooked("hooks-fail-cr");
    c.config["hooks"]["createRuntime"] = json!([{"path": "/bin/false"}]);
    c.create().assert_fail();
    assert_no_leftovers(&c);
}

#[test]
fn missing_hook_binary_fails_create() {
    let mut c = Container::new("hooks-missing");
    c.config["hooks"] = json!({"createRuntime": [{"path": "/nonexistent/hook-binary"}]});
    let o = c.create();
    o.assert_fail();
    assert_no_leftovers(&c);
}

#[test]
fn hook_timeout_kills_hook_and_fails_create() {
    let mut c = Container::new("hooks-timeout");
    let marker = c.host_dir().join("finished");
    c.config["hooks"] = json!({"createRuntime": [{
        "path": "/bin/sh",
        // the sleep holds no pipe of the runtime's, so waiting for the hook's output cannot
        // stretch the timeout (runc waits for the hook's stdio to close)
        "args": ["sh", "-c", format!("sleep 5 </dev/null >/dev/null 2>&1; touch {}", marker.display())],
        "timeout": 1
    }]});
    let o = c.create();
    o.assert_fail();
    assert!(
        o.elapsed < Duration::from_secs(4),
        "timeout not enforced: {o}"
    );
    assert_no_leftovers(&c);
    std::thread::sleep(Duration::from_secs(5));
    assert!(!marker.exists(), "the timed-out hook was not killed");
}

#[test]
fn failing_poststop_hook_does_not_block_delete() {
    // runtime-spec: "If any poststop hook fails, the runtime MUST log a warning, but the
    // remaining hooks and lifecycle continue as if the hook had succeeded."
    // Known to fail with runc 1.1, which stops at the first failing poststop hook.
    let mut c = hooked("hooks-poststop-fail");
    let hl = c.host_dir().join("log");
    c.config["hooks"]["poststop"] = json!([
        {"path": "/bin/false"},
        log_hook("poststop", "/bin/sh", hl.to_str().unwrap())
    ]);
    c.create().assert_ok();
    c.start().assert_ok();
    c.wait_status("stopped", 10);
    c.delete(false).assert_ok();
    assert!(!c.has_state_dir());
    let names: Vec<String> = entries(&c).into_iter().map(|e| e.0).collect();
    assert!(
        names.contains(&"poststop".to_string()),
        "remaining poststop hooks must run: {names:?}"
    );
}

/// The `KEY=VALUE` lines a hook saw (the shell's own PWD, SHLVL, _ left out).
fn env_of(file: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = read_or_empty(file)
        .lines()
        .filter(|l| {
            !["PWD=", "SHLVL=", "_=", "OLDPWD="]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// As under runc 1.1.5 (measured here): host-side hooks without `env`
/// inherit the runtime's environment; createContainer gets process.env,
/// startContainer process.env plus HOME (the container's /etc/passwd); a hook
/// with `env` gets exactly that.
#[test]
fn hooks_without_env_get_runc_s_environments() {
    let mut c = Container::new("hooks-env");
    let dir = c.host_dir();
    c.add_mount(
        json!({"destination": "/hooklog", "type": "bind", "source": dir, "options": ["bind"]}),
    );
    c.config["process"]["env"] = json!(["PATH=/bin:/usr/bin", "FOO=bar"]);
    let d = dir.to_str().unwrap();
    let dump =
        |file: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("env > {file}")]});
    c.config["hooks"] = json!({
        "prestart": [dump(&format!("{d}/prestart.env"))],
        "poststart": [dump(&format!("{d}/poststart.env"))],
        "createContainer": [dump(&format!("{d}/createContainer.env"))],
        "startContainer": [dump("/hooklog/startContainer.env"),
            {"path": "/bin/sh", "args": ["sh", "-c", "env > /hooklog/given.env"], "env": ["ONLY=this"]}],
    });
    c.args(&["true"]);
    c.write_config();
    let b = c.bundle();
    let mut cmd = Command::new(runtime_bin());
    cmd.env("BERTH_HOOK_PROBE", "from-the-runtime")
        .arg("--root")
        .arg(c.state_root())
        .args(["run", "--bundle", b.to_str().unwrap(), &c.id]);
    c.exec_cmd(cmd, Spawn::default()).assert_ok();
    let probe = "BERTH_HOOK_PROBE=from-the-runtime".to_string();
    for host_side in ["prestart", "poststart"] {
        let env = env_of(&dir.join(format!("{host_side}.env")));
        assert!(env.contains(&probe), "{host_side}: {env:?}");
    }
    assert_eq!(
        env_of(&dir.join("createContainer.env")),
        ["FOO=bar", "PATH=/bin:/usr/bin"],
        "createContainer"
    );
    assert_eq!(
        env_of(&dir.join("startContainer.env")),
        ["FOO=bar", "HOME=/root", "PATH=/bin:/usr/bin"],
        "startContainer"
    );
    let given = env_of(&dir.join("given.env"));
    assert!(given.contains(&"ONLY=this".to_string()), "{given:?}");
    assert!(!given.iter().any(|e| e.starts_with("FOO=")), "{given:?}");
}
