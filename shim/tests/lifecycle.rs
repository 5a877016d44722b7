//! The container verbs on real containers: ps, inspect, stop (timing and
//! codes), kill, restart policies and their back-off, wait, pause, exec,
//! top, stats, rename, rm, prune, and a monitor killed with -9.

mod common;

use std::time::{Duration, Instant};

use common::{can_run, text, Env};

#[test]
fn stop_sends_the_stop_signal_then_kills_at_the_timeout() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    env.run_d(&["--name", "polite", "bb", "sleep", "300"]);
    // sleep as pid 1 has no handler for TERM: ignored by the kernel, so
    // stop must SIGKILL at the timeout.
    let t = Instant::now();
    env.ok(&["stop", "-t", "1", "polite"]);
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(env.inspect("polite", "{{.State.ExitCode}}"), "137");
    // A process that handles TERM ends with it at once: 143.
    env.run_d(&[
        "--name",
        "trapper",
        "bb",
        "sh",
        "-c",
        "trap 'exit 143' TERM; while true; do sleep 0.1; done",
    ]);
    let t = Instant::now();
    env.ok(&["stop", "trapper"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(env.inspect("trapper", "{{.State.ExitCode}}"), "143");
    assert_eq!(env.status("trapper"), "exited");
    let ps = env.ok(&[
        "ps",
        "-a",
        "--filter",
        "status=exited",
        "--format",
        "{{.Names}}",
    ]);
    assert!(ps.contains("polite") && ps.contains("trapper"), "{ps}");
    // kill -s by name and number, and its errors.
    env.run_d(&[
        "--name",
        "kk",
        "bb",
        "sh",
        "-c",
        "trap 'echo got HUP' HUP; while true; do sleep 0.1; done",
    ]);
    env.ok(&["kill", "-s", "HUP", "kk"]);
    env.until(10, "the HUP to be logged", || {
        env.ok(&["logs", "kk"]).contains("got HUP")
    });
    env.ok(&["kill", "-s", "9", "kk"]);
    assert_eq!(env.ok(&["wait", "kk"]).trim(), "137");
    let err = env.fails(&["kill", "kk"]);
    assert!(err.contains("is not running"), "{err}");
    env.run_d(&["--name", "k2", "bb", "sleep", "30"]);
    let err = env.fails(&["kill", "-s", "BOGUS", "k2"]);
    assert!(err.contains("invalid signal"), "{err}");
}

#[test]
fn on_failure_restarts_are_counted_and_backed_off() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    let t = Instant::now();
    env.run_d(&[
        "--restart",
        "on-failure:3",
        "--name",
        "flaky",
        "bb",
        "sh",
        "-c",
        "exit 1",
    ]);
    // One read of both: between two runs the state is briefly exited with
    // the count of the runs so far.
    env.until(30, "the restarts to run out", || {
        env.inspect("flaky", "{{.State.Status}} {{.RestartCount}}") == "exited 3"
    });
    // Back-off: 100 + 200 + 400 ms at least between the four runs.
    assert!(
        t.elapsed() >= Duration::from_millis(700),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(env.inspect("flaky", "{{.State.ExitCode}}"), "1");
    // Stop ends a restarting container for good.
    env.run_d(&[
        "--restart",
        "always",
        "--name",
        "forever",
        "bb",
        "sh",
        "-c",
        "sleep 0.2; exit 2",
    ]);
    env.until(20, "a restart", || {
        env.inspect("forever", "{{.RestartCount}}") != "0"
    });
    env.ok(&["stop", "-t", "1", "forever"]);
    let count = env.inspect("forever", "{{.RestartCount}}");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(env.status("forever"), "exited");
    assert_eq!(env.inspect("forever", "{{.RestartCount}}"), count);
}

#[test]
fn ps_inspect_exec_top_stats_pause_and_names() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    let id = env.run_d(&[
        "--name",
        "daemon_dave",
        "--label",
        "tier=web",
        "-m",
        "64m",
        "bb",
        "sh",
        "-c",
        "while true; do echo hello world; sleep 0.2; done",
    ]);
    let ps = env.ok(&["ps"]);
    let mut lines = ps.lines();
    let header = lines.next().unwrap();
    for col in [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&id[..12]) && row.contains("Up ") && row.ends_with("daemon_dave"),
        "{row}"
    );
    assert_eq!(env.ok(&["ps", "-q"]).trim(), &id[..12]);
    assert_eq!(env.ok(&["ps", "-q", "--no-trunc"]).trim(), id);
    assert_eq!(
        env.ok(&["ps", "-q", "--filter", "label=tier=web"]).trim(),
        &id[..12]
    );
    assert!(env
        .ok(&["ps", "-q", "--filter", "name=nomatch"])
        .trim()
        .is_empty());
    let json: serde_json::Value =
        serde_json::from_str(env.ok(&["ps", "--format", "json"]).lines().next().unwrap()).unwrap();
    assert_eq!(json["Names"], "daemon_dave");
    assert_eq!(json["State"], "running");
    // inspect as the docker books use it.
    let pid: i32 = env
        .inspect("daemon_dave", "{{.State.Pid}}")
        .parse()
        .unwrap();
    assert!(pid > 1);
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let doc: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "daemon_dave"])).unwrap();
    let d = &doc[0];
    assert_eq!(d["Id"], id.as_str());
    assert_eq!(d["Name"], "/daemon_dave");
    assert_eq!(d["State"]["Running"], true);
    assert_eq!(d["HostConfig"]["Memory"], 64 << 20);
    assert_eq!(d["Config"]["Labels"]["tier"], "web");
    assert!(d["LogPath"].as_str().unwrap().ends_with("ctr.log"));
    // The memory limit reached the cgroup.
    let limit = std::fs::read_to_string(format!(
        "/sys/fs/cgroup/memory/berth/{id}/memory.limit_in_bytes"
    ))
    .unwrap();
    assert_eq!(limit.trim(), (64u64 << 20).to_string());
    // exec: output, exit code, -d, -e, -w, -u.
    assert_eq!(env.ok(&["exec", "daemon_dave", "echo", "in"]), "in\n");
    let out = env.run(&["exec", "daemon_dave", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    // A command that cannot start: the runtime's one line, docker's codes,
    // attached or not.
    for args in [&["exec"][..], &["exec", "-d"]] {
        let mut v = args.to_vec();
        v.extend(["daemon_dave", "nosuch"]);
        let out = env.run(&v);
        assert_eq!(out.status.code(), Some(127), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.contains("\"nosuch\"") && !err.contains("level="),
            "{err}"
        );
    }
    let out = env.run(&["exec", "daemon_dave", "/etc/hosts"]);
    assert_eq!(out.status.code(), Some(126), "{}", text(&out));
    env.ok(&["exec", "-d", "daemon_dave", "touch", "/etc/new_config_file"]);
    env.until(10, "the detached exec", || {
        env.run(&["exec", "daemon_dave", "test", "-f", "/etc/new_config_file"])
            .status
            .success()
    });
    let out = env.ok(&[
        "exec",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        "-u",
        "nobody",
        "daemon_dave",
        "sh",
        "-c",
        "echo $X; pwd; id -u",
    ]);
    assert_eq!(out, "1\n/tmp\n65534\n");
    // top and stats.
    let top = env.ok(&["top", "daemon_dave"]);
    assert!(top.lines().next().unwrap().contains("PID"), "{top}");
    assert!(top.contains(&pid.to_string()), "{top}");
    let stats = env.ok(&["stats", "--no-stream", "daemon_dave"]);
    assert!(
        stats.contains("MEM USAGE / LIMIT") && stats.contains("64MiB"),
        "{stats}"
    );
    // pause / unpause.
    env.ok(&["pause", "daemon_dave"]);
    assert_eq!(env.status("daemon_dave"), "paused");
    assert!(env.ok(&["ps"]).contains("(Paused)"));
    env.ok(&["unpause", "daemon_dave"]);
    assert_eq!(env.status("daemon_dave"), "running");
    // rename; rm refuses a running one, -f removes it; prune the rest.
    env.ok(&["rename", "daemon_dave", "dave2"]);
    assert_eq!(env.inspect("dave2", "{{.Name}}"), "/dave2");
    env.fails(&["inspect", "daemon_dave"]);
    let err = env.fails(&["rm", "dave2"]);
    assert!(err.contains("container is running"), "{err}");
    env.ok(&["run", "--name", "done1", "bb", "true"]);
    env.ok(&["rm", "-f", "dave2"]);
    let out = env.ok(&["container", "prune", "-f"]);
    assert!(out.contains("Deleted Containers"), "{out}");
    assert!(env.ids().is_empty(), "{:?}", env.ids());
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());
    assert!(!std::path::Path::new(&format!("/sys/fs/cgroup/memory/berth/{id}")).exists());
}

#[test]
fn a_killed_monitor_leaves_a_container_that_stop_and_rm_still_end() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    let id = env.run_d(&["--name", "orphan", "bb", "sleep", "300"]);
    let mpid: i32 = env
        .inspect("orphan", "{{.State.MonitorPid}}")
        .parse()
        .unwrap();
    let pid: i32 = env.inspect("orphan", "{{.State.Pid}}").parse().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(mpid), nix::sys::signal::SIGKILL).unwrap();
    env.until(10, "the monitor to be gone", || {
        env.inspect("orphan", "{{.State.MonitorAlive}}") == "false"
    });
    // The container keeps running; the verbs say the monitor is gone.
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(env.status("orphan"), "running");
    assert!(env
        .inspect("orphan", "{{.State.Error}}")
        .contains("monitor"));
    assert!(env.ok(&["ps"]).contains("(monitor gone)"));
    env.ok(&["stop", "-t", "1", "orphan"]);
    assert_eq!(env.status("orphan"), "exited");
    env.until(10, "the process to be gone", || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z"))
    });
    // And rm -f of another orphan ends and cleans it.
    let id2 = env.run_d(&["--name", "orphan2", "bb", "sleep", "300"]);
    let m2: i32 = env
        .inspect("orphan2", "{{.State.MonitorPid}}")
        .parse()
        .unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(m2), nix::sys::signal::SIGKILL).unwrap();
    env.until(10, "the monitor to be gone", || {
        env.inspect("orphan2", "{{.State.MonitorAlive}}") == "false"
    });
    env.ok(&["rm", "-f", "orphan", "orphan2"]);
    assert!(env.ids().is_empty());
    assert!(env.mounts().is_empty(), "{:?}", env.mounts());
    for i in [&id, &id2] {
        assert!(!std::path::Path::new(&format!("/sys/fs/cgroup/memory/berth/{i}")).exists());
    }
}

#[test]
fn the_oom_killer_gives_137_and_oomkilled() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    // 16 MiB limit, no swap beyond it; the shell grows a string past it.
    let out = env.run(&[
        "run",
        "--name",
        "hog",
        "-m",
        "16m",
        "--memory-swap",
        "16m",
        "bb",
        "sh",
        "-c",
        "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while true; do x=$x$x; done",
    ]);
    assert_eq!(out.status.code(), Some(137), "{}", text(&out));
    assert_eq!(env.inspect("hog", "{{.State.OOMKilled}}"), "true");
    env.ok(&["run", "--name", "fine", "-m", "16m", "bb", "true"]);
    assert_eq!(env.inspect("fine", "{{.State.OOMKilled}}"), "false");
}

#[test]
fn a_container_outlives_its_caller_and_start_runs_it_again() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    // The caller is a session of its own that ends at once (setsid).
    let out = env
        .cmd()
        .args([
            "run",
            "-d",
            "--name",
            "survivor",
            "bb",
            "sh",
            "-c",
            "echo run; sleep 300",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = std::process::Command::new("setsid")
        .args(["-w", "sh", "-c", "exit 0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(env.status("survivor"), "running");
    let msid = env.inspect("survivor", "{{.State.MonitorPid}}");
    let stat = std::fs::read_to_string(format!("/proc/{msid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // The monitor sits in a session of its own, without a terminal (it is
    // not the session's leader, so it can never acquire one).
    let ours = nix::unistd::getsid(None).unwrap().to_string();
    assert_ne!(f[3], ours, "session of the monitor: {stat}");
    assert_ne!(f[3], msid, "the monitor leads its session: {stat}");
    assert_eq!(f[4], "0", "the monitor has a terminal: {stat}");
    env.ok(&["stop", "-t", "0", "survivor"]);
    env.ok(&["start", "survivor"]);
    assert_eq!(env.status("survivor"), "running");
    env.until(10, "the second run's output", || {
        env.ok(&["logs", "survivor"]) == "run\nrun\n"
    });
    env.ok(&["restart", "-t", "0", "survivor"]);
    assert_eq!(env.status("survivor"), "running");
    // `start` right after `stop` returns: the old run's monitor may still
    // be finishing, and start waits for it (it used to refuse, now and then).
    for _ in 0..10 {
        env.ok(&["stop", "-t", "0", "survivor"]);
        env.ok(&["start", "survivor"]);
        assert_eq!(env.status("survivor"), "running");
    }
    env.ok(&["rm", "-f", "survivor"]);
}

#[test]
fn start_waits_for_a_monitor_still_finishing() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    env.run_d(&["--name", "late", "bb", "sleep", "300"]);
    let id = env.inspect("late", "{{.Id}}");
    env.ok(&["stop", "-t", "0", "late"]);
    // The last monitor's lock, held a while longer: a monitor still
    // flushing its clients after it recorded the exit.
    let path = env.root().join("containers").join(&id).join("monitor.lock");
    let file = std::fs::File::open(&path).unwrap();
    let held = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let start = env
        .cmd()
        .args(["start", "late"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = start.id();
    env.until(10, "start to wait on the monitor's lock", || {
        let locks = std::fs::read_to_string("/proc/locks").unwrap();
        locks
            .lines()
            .any(|l| l.contains("->") && l.split_whitespace().nth(5) == Some(&pid.to_string()))
    });
    drop(held);
    let out = start.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(env.status("late"), "running");
    env.ok(&["rm", "-f", "late"]);
}
