//! Container logs through the built shim: every byte of a burst in order,
//! both streams, follow, tail, timestamps, rotation, json-file, and a full
//! disk under the log that neither blocks the container nor goes unsaid.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{can_run, Env};

#[test]
fn a_200mb_burst_is_logged_whole_and_in_order() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    // ~196 MB of numbered lines, as fast as the container can write them.
    const N: u64 = 23_000_000;
    let n = N.to_string();
    let out = env.run(&["run", "--name", "burst", "bb", "seq", "1", &n]);
    assert_eq!(out.status.code(), Some(0), "exit");
    assert_eq!(
        out.stdout.len() as u64,
        expected_bytes(N),
        "attached output"
    );
    assert_eq!(env.inspect("burst", "{{.State.LogLostBytes}}"), "0");
    let mut logs = env
        .cmd()
        .args(["logs", "burst"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let r = BufReader::with_capacity(1 << 20, logs.stdout.take().unwrap());
    let mut next = 1u64;
    let mut bytes = 0u64;
    for line in r.split(b'\n') {
        let line = line.unwrap();
        bytes += line.len() as u64 + 1;
        assert_eq!(line, next.to_string().as_bytes(), "line {next}");
        next += 1;
    }
    assert!(logs.wait().unwrap().success());
    assert_eq!(next - 1, N, "line count");
    assert_eq!(bytes, expected_bytes(N));
}

fn expected_bytes(n: u64) -> u64 {
    (1..=n).map(|i| i.to_string().len() as u64 + 1).sum()
}

#[test]
fn both_streams_tail_timestamps_and_follow() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "--name",
        "two",
        "bb",
        "sh",
        "-c",
        "for i in $(seq 1 500); do echo out$i; echo err$i >&2; done; printf 'no newline'",
    ]);
    let out = env.run(&["logs", "two"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want_out: String =
        (1..=500).map(|i| format!("out{i}\n")).collect::<String>() + "no newline";
    let want_err: String = (1..=500).map(|i| format!("err{i}\n")).collect();
    assert_eq!(stdout, want_out);
    assert_eq!(stderr, want_err);
    // --tail counts the records of both streams, as docker does; which of
    // two pipes the monitor read first decides their order, so only the
    // counts and the last stdout record are certain.
    for n in [2usize, 3] {
        let out = env.run(&["logs", "--tail", &n.to_string(), "two"]);
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(o.ends_with("no newline"), "{o}");
        assert_eq!(
            o.split_inclusive('\n').count() + e.lines().count(),
            n,
            "{o}|{e}"
        );
    }
    let ts = env.ok(&["logs", "-t", "--tail", "1", "two"]);
    let (stamp, rest) = ts.split_once(' ').unwrap();
    assert!(berth_builder::clock::parse(stamp).is_some(), "{ts}");
    assert_eq!(rest, "no newline");
    assert!(env
        .ok(&["logs", "--since", "1h", "two"])
        .starts_with("out1\n"));
    assert!(env.ok(&["logs", "--until", "1h", "two"]).is_empty());
    // The log file is CRI's format.
    let path = env.inspect("two", "{{.LogPath}}");
    let first = std::fs::read_to_string(&path).unwrap();
    let line = first.lines().next().unwrap();
    let f: Vec<&str> = line.splitn(4, ' ').collect();
    assert_eq!(&f[1..], ["stdout", "F", "out1"], "{line}");

    // Follow: lines as they come, and the end when the container ends.
    env.run_d(&[
        "--name",
        "ticker",
        "bb",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.05; done",
    ]);
    let mut f = env
        .cmd()
        .args(["logs", "-f", "ticker"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(f.stdout.take().unwrap()).lines();
    for i in 1..=20 {
        assert_eq!(lines.next().unwrap().unwrap(), format!("tick{i}"));
    }
    env.ok(&["stop", "-t", "1", "ticker"]);
    for l in lines.by_ref() {
        assert!(l.unwrap().starts_with("tick"));
    }
    assert!(
        f.wait().unwrap().success(),
        "logs -f ends with the container"
    );
}

#[test]
fn rotation_keeps_max_file_files_and_json_file_is_dockers() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    env.ok(&[
        "run",
        "--name",
        "rot",
        "--log-opt",
        "max-size=8k",
        "--log-opt",
        "max-file=3",
        "bb",
        "sh",
        "-c",
        "for i in $(seq 1 3000); do echo line$i; done",
    ]);
    let path = std::path::PathBuf::from(env.inspect("rot", "{{.LogPath}}"));
    let name = |n: u32| std::path::PathBuf::from(format!("{}.{n}", path.display()));
    assert!(path.exists() && name(1).exists() && name(2).exists());
    assert!(!name(3).exists());
    for p in [path.clone(), name(1), name(2)] {
        assert!(
            std::fs::metadata(&p).unwrap().len() <= 8 * 1024,
            "{}",
            p.display()
        );
    }
    let out = env.ok(&["logs", "rot"]);
    let nums: Vec<u32> = out
        .lines()
        .map(|l| l.strip_prefix("line").unwrap().parse().unwrap())
        .collect();
    assert_eq!(*nums.last().unwrap(), 3000);
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "contiguous");
    assert!(nums.len() > 400, "{} lines kept", nums.len());

    env.ok(&[
        "run",
        "--name",
        "js",
        "--log-driver",
        "json-file",
        "bb",
        "sh",
        "-c",
        "echo a; echo b >&2",
    ]);
    let p = env.inspect("js", "{{.LogPath}}");
    let text = std::fs::read_to_string(p).unwrap();
    let v: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_stream = |s: &str| v.iter().find(|x| x["stream"] == s).unwrap()["log"].clone();
    assert_eq!(by_stream("stdout"), "a\n");
    assert_eq!(by_stream("stderr"), "b\n");
    assert!(v.iter().all(|x| x["time"].is_string()));
    assert_eq!(env.ok(&["logs", "js"]), "a\n");
    env.ok(&[
        "run",
        "--name",
        "silent",
        "--log-driver",
        "none",
        "bb",
        "echo",
        "x",
    ]);
    let err = env.fails(&["logs", "silent"]);
    assert!(err.contains("does not support reading"), "{err}");
}

#[test]
fn a_full_disk_under_the_log_does_not_block_the_container() {
    if !can_run() {
        return;
    }
    let env = Env::new();
    let small = env.dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    nix::mount::mount(
        Some("tmpfs"),
        &small,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=1m"),
    )
    .unwrap();
    let log = small.join("full.log");
    let path = format!("path={}", log.display());
    // 4 MB of output into a 1 MB filesystem: the container ends anyway.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "full",
        "--log-opt",
        &path,
        "bb",
        "sh",
        "-c",
        "seq 1 500000; echo the end",
    ]);
    env.until(30, "the container to end (not blocked on its log)", || {
        env.status("full") == "exited"
    });
    let lost: u64 = env
        .inspect("full", "{{.State.LogLostBytes}}")
        .parse()
        .unwrap();
    assert!(lost > 0, "the loss is counted");
    // The log holds whole records only, and what fitted came in order.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.ends_with('\n'));
    let out = env.run(&["logs", "full"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = stdout
        .lines()
        .filter(|l| *l != "the end")
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(nums[0], 1);
    assert!(nums.windows(2).all(|w| w[1] > w[0]), "in order");
    // The loss is told in the log itself, once there was room again.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bytes of log were lost: No space left on device"),
        "{stderr}"
    );
    env.ok(&["rm", "-f", "full"]);
    assert!(!log.exists(), "rm removes a log kept outside");
    nix::mount::umount2(&small, nix::mount::MntFlags::MNT_DETACH).unwrap();
}
