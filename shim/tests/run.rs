//! `run` through the built shim and our runtime: attached and detached,
//! exit codes, the image config and the flags applied, --rm, --cidfile, and
//! bad input refused with one line and nothing left behind.

mod common;

use common::{can_run, text, Env};

#[test]
fn attached_run_prints_output_and_exits_with_the_containers_code() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    let out = env.run(&["run", "--name", "hello", "bb", "echo", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    let out = env.run(&["run", "bb", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    // Stopped containers stay listed, with docker's status text.
    let ps = env.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.contains("hello Exited (0)"), "{ps}");
    assert!(ps.contains("Exited (3)"), "{ps}");
    assert_eq!(
        env.inspect("hello", "{{.State.ExitCode}} {{.State.Running}}"),
        "0 false"
    );
    // stdin with -i reaches the process; its EOF ends it.
    let mut child = env
        .cmd()
        .args(["run", "-i", "--rm", "bb", "sh", "-c", "cat; echo done"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"piped in\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "piped in\ndone\n");
}

#[test]
fn the_image_config_and_the_flags_shape_the_process() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    let envfile = env.dir.path().join("env");
    std::fs::write(&envfile, "# comment\nFROM_FILE=yes\n").unwrap();
    let vol = env.dir.path().join("vol");
    std::fs::create_dir(&vol).unwrap();
    std::fs::write(vol.join("f"), "host file\n").unwrap();
    let v = format!("{}:/data:ro", vol.display());
    let out = env.ok(&[
        "run", "--rm", "-h", "myhost", "-u", "nobody", "-w", "/tmp", "-e", "K=V", "--env-file",
        envfile.to_str().unwrap(), "-v", &v, "bb", "sh", "-c",
        "hostname; id -u; pwd; echo $K $FROM_FILE; cat /data/f; touch /data/x 2>/dev/null || echo ro; cat /etc/hostname",
    ]);
    assert_eq!(out, "myhost\n65534\n/tmp\nV yes\nhost file\nro\nmyhost\n");
    // Without -h the hostname is the short id; the image's CMD runs when no
    // command is given; --entrypoint replaces it.
    let id = env.run_d(&["--name", "web", "bb", "sleep", "30"]);
    let out = env.ok(&["exec", "web", "hostname"]);
    assert_eq!(out.trim(), &id[..12]);
    let out = env.ok(&[
        "run",
        "--rm",
        "--entrypoint",
        "echo",
        "bb",
        "from",
        "entrypoint",
    ]);
    assert_eq!(out, "from entrypoint\n");
    // Loopback only by default, and it is up.
    let out = env.ok(&["run", "--rm", "bb", "cat", "/proc/net/dev"]);
    assert!(out.contains("lo:") && !out.contains("eth0"), "{out}");
    env.ok(&["rm", "-f", "web"]);
}

#[test]
fn rm_and_cidfile_leave_nothing_and_bad_input_makes_nothing() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    let cid = env.dir.path().join("cid");
    env.ok(&[
        "run",
        "--rm",
        "--cidfile",
        cid.to_str().unwrap(),
        "bb",
        "true",
    ]);
    let id = std::fs::read_to_string(&cid).unwrap();
    assert_eq!(id.len(), 64);
    assert!(env.ids().is_empty(), "{:?}", env.ids());
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());
    let err = env.fails(&["run", "--cidfile", cid.to_str().unwrap(), "bb", "true"]);
    assert!(err.contains("Container ID file found"), "{err}");

    let cases: &[(&[&str], &str)] = &[
        (
            &["run", "nosuchimage"],
            "Unable to find image 'nosuchimage'",
        ),
        (
            &["run", "--restart", "sometimes", "bb"],
            "invalid restart policy",
        ),
        (
            &["run", "--rm", "--restart", "always", "bb"],
            "Conflicting options",
        ),
        (
            &["run", "-v", "/nonexistent-berth:/x", "bb"],
            "invalid volume specification",
        ),
        (
            &["run", "-v", "relative:/x", "bb"],
            "invalid volume specification",
        ),
        (&["run", "--name", "-bad", "bb"], "Invalid container name"),
        (&["run", "--stop-signal", "SIGNOPE", "bb"], "invalid signal"),
        (&["run", "-m", "1k", "bb"], "Minimum memory limit"),
        (
            &["run", "--log-driver", "syslog", "bb"],
            "unknown log driver",
        ),
        (
            &["run", "--log-opt", "max-size=lots", "bb"],
            "invalid log option",
        ),
        (&["run", "--network", "bridge", "bb"], "network \"bridge\""),
        (
            &["run", "--cap-add", "FLY", "bb", "true"],
            "unknown capability",
        ),
        (&["run", "-u", "nosuchuser", "bb", "true"], "nosuchuser"),
    ];
    for (args, want) in cases {
        let out = env.run(args);
        assert!(!out.status.success(), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(env.ids().is_empty(), "{args:?} left {:?}", env.ids());
        assert!(env.mounts().is_empty(), "{args:?} left {:?}", env.mounts());
    }
    // A command the runtime cannot start: its error as one line, exit 127,
    // nothing left (no record, name, mount or cgroup).
    let out = env.run(&["run", "--name", "broken", "bb", "/no/such/binary"]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/no/such/binary"), "{err}");
    assert!(env.ids().is_empty(), "{:?}", env.ids());
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());
    let names: Vec<_> = std::fs::read_dir(env.root().join("names"))
        .unwrap()
        .collect();
    assert!(names.is_empty(), "{names:?}");
    assert!(!std::path::Path::new("/sys/fs/cgroup/memory/berth")
        .join("x")
        .exists());
}

#[test]
fn names_are_unique_even_when_two_runs_race() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    let spawn = || {
        env.cmd()
            .args(["run", "-d", "--name", "racer", "bb", "sleep", "30"])
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap(), b.join().unwrap())
    });
    let wins = [&a, &b].iter().filter(|o| o.status.success()).count();
    assert_eq!(wins, 1, "{}\n{}", text(&a), text(&b));
    let loser = if a.status.success() { &b } else { &a };
    assert!(String::from_utf8_lossy(&loser.stderr).contains("already in use"));
    assert_eq!(env.ids().len(), 1);
    // Random names when none is given, docker-style; prefixes resolve.
    let id = env.run_d(&["bb", "sleep", "30"]);
    let name = env.inspect(&id[..8], "{{.Name}}");
    assert!(name.starts_with('/') && name.contains('_'), "{name}");
    let err = env.fails(&["inspect", "nosuch"]);
    assert!(err.contains("No such container: nosuch"), "{err}");
}

#[test]
fn init_runs_the_command_under_a_pid_1_that_forwards_and_reaps() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    // make exports the static berth-init; a dynamic one is refused clearly.
    if std::env::var_os("BERTH_INIT").is_none() {
        let err = env.fails(&["run", "--rm", "--init", "bb", "true"]);
        assert!(
            err.contains("linked dynamically") || err.contains("not found"),
            "{err}"
        );
        assert!(env.ids().is_empty());
        eprintln!("BERTH_INIT unset (make sets it): the init itself was not run");
        return;
    }
    let out = env.ok(&["run", "--rm", "--init", "bb", "ps", "-o", "pid,args"]);
    let one = out
        .lines()
        .find(|l| l.trim().starts_with("1 "))
        .unwrap_or("");
    assert!(one.contains("/sbin/docker-init -- ps"), "{out}");
    let out = env.run(&["run", "--rm", "--init", "bb", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    // An orphan's zombie is reaped by the init, not left behind.
    let out = env.ok(&[
        "run",
        "--rm",
        "--init",
        "bb",
        "sh",
        "-c",
        "sh -c 'sleep 0.1 & exit 0'; sleep 0.5; ps -o stat,args",
    ]);
    assert!(
        !out.lines().any(|l| l.trim_start().starts_with('Z')),
        "{out}"
    );
    // stop's SIGTERM reaches the command through the init.
    env.run_d(&[
        "--init",
        "--name",
        "initd",
        "bb",
        "sh",
        "-c",
        "trap 'echo got term; exit 3' TERM; while true; do sleep 0.1; done",
    ]);
    env.until(10, "the trap to be set", || {
        env.ok(&["top", "initd"]).contains("sleep")
    });
    env.ok(&["stop", "-t", "10", "initd"]);
    assert_eq!(env.inspect("initd", "{{.State.ExitCode}}"), "3");
    assert_eq!(env.ok(&["logs", "initd"]), "got term\n");
    env.ok(&["rm", "initd"]);
}

#[test]
fn a_containers_image_layers_outlive_rmi_and_prune() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    env.run_d(&["--name", "held", "bb", "sleep", "60"]);
    let store = berth_builder::store::Store::open(&env.store()).unwrap();
    let img = store.resolve("bb").unwrap();
    assert_eq!(store.holders(&img).len(), 1, "run holds the image's layers");
    // What `builder rmi -f bb` and `builder prune -a` do: the layers stay.
    store.untag("bb:latest").unwrap();
    store.remove_image(&img).unwrap();
    let c = store.collect(true).unwrap();
    assert!(c.ran && c.layer_dirs == 0, "{c:?}");
    assert_eq!(
        env.ok(&["exec", "held", "cat", "/etc/passwd"])
            .lines()
            .count(),
        2
    );
    env.ok(&["rm", "-f", "held"]);
    assert!(store.holds().is_empty(), "rm releases the hold");
    assert_eq!(store.collect(true).unwrap().layer_dirs, 1);
}
