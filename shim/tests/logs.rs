//! Container logs through the built shim: every byte of a burst in order,
//! both streams, follow, tail, timestamps, rotation, json-file, and a full
//! disk under the log that neither blocks the container nor goes unsaid.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{can_run, text, Env};

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
    let tail = env.ok(&["logs", "--tail", "2", "two"]);
    assert_eq!(
        tail, "no newline",
        "the last two records are err500 and the open line"
    );
    let out = env.run(&["logs", "-n", "3", "two"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out500\nno newline");
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
    assert!(nums.len() > 500, "{} lines kept", nums.len());

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
    let shim = |args: &[&str]| {
        let mut c = env.cmd();
        c.arg("--root").arg(&small).args(args);
        c.output().unwrap()
    };
    // 4 MB of output into a 1 MB filesystem: the container ends anyway.
    let out = shim(&[
        "run",
        "-d",
        "--name",
        "full",
        "bb",
        "sh",
        "-c",
        "seq 1 500000; echo the end",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let t = std::time::Instant::now();
    loop {
        let s = shim(&["inspect", "-f", "{{.State.Status}}", "full"]);
        if String::from_utf8_lossy(&s.stdout).trim() == "exited" {
            break;
        }
        assert!(
            t.elapsed().as_secs() < 30,
            "the container is blocked on the log"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let lost = shim(&["inspect", "-f", "{{.State.LogLostBytes}}", "full"]);
    let lost: u64 = String::from_utf8_lossy(&lost.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(lost > 0, "the loss is counted");
    // Room again: the next write says what was lost.
    let _ = std::fs::remove_file(small.join("containers").join("x"));
    let out = shim(&["rm", "-f", "full"]);
    assert!(out.status.success(), "{}", text(&out));
    nix::mount::umount2(&small, nix::mount::MntFlags::MNT_DETACH).unwrap();
}
