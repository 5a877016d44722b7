//! Bad input and faults: one clear error, a non-zero exit, and the store as
//! it was (no new blob or index entry, no temp dir, mount or container
//! left); a SIGKILLed or interrupted build leaves a store the next build
//! uses; two builds at once on one store both succeed.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{text, Context, Store};

/// What must be as before after a failed build.
struct Snapshot {
    blobs: Vec<String>,
    index: String,
}

fn snapshot(s: &Store) -> Snapshot {
    Snapshot {
        blobs: s.blobs(),
        index: std::fs::read_to_string(s.root().join("index.json")).unwrap(),
    }
}

fn assert_unchanged(s: &Store, before: &Snapshot) {
    assert_eq!(s.blobs(), before.blobs, "a failed build left blobs");
    assert_eq!(
        std::fs::read_to_string(s.root().join("index.json")).unwrap(),
        before.index
    );
    assert_eq!(
        s.tmp_entries(),
        Vec::<String>::new(),
        "a failed build left temp dirs"
    );
    assert_eq!(
        s.mounts(),
        Vec::<String>::new(),
        "a failed build left mounts"
    );
    assert_eq!(
        build_containers(s),
        Vec::<String>::new(),
        "a failed build left containers"
    );
}

/// Step containers of builds on this store still known to the runtime.
fn build_containers(s: &Store) -> Vec<String> {
    let out = std::process::Command::new(common::runtime())
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    let list: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    let root = s.root().to_string_lossy().into_owned();
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["bundle"].as_str().is_some_and(|b| b.starts_with(&root)))
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect()
}

fn fails_with(s: &Store, ctx: &Context, want: &[&str]) -> String {
    let out = s.run(&["build", ctx.path().to_str().unwrap()]);
    let t = text(&out);
    assert!(!out.status.success(), "the build should fail:\n{t}");
    let last = t
        .lines()
        .rfind(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line:\n{t}"));
    for w in want {
        assert!(last.contains(w), "{last:?} lacks {w:?}");
    }
    last.to_string()
}

#[test]
fn dockerfile_errors_name_file_line_and_column() {
    let s = Store::new();
    s.base();
    let before = snapshot(&s);
    let cases: &[(&str, &[&str])] = &[
        (
            "FROM busybox\nRUN true\nFOOO bar\n",
            &["Dockerfile:3:1", "unknown instruction: FOOO"],
        ),
        (
            "FROM busybox\nCOPY --bogus=1 a /\n",
            &["Dockerfile:2", "unknown flag", "bogus"],
        ),
        (
            "FROM busybox\nRUN <<EOF\necho never closed\n",
            &["Dockerfile:2", "EOF"],
        ),
        ("FROM busybox\nSHELL sh -c\n", &["Dockerfile:2", "SHELL"]),
        (
            "FROM busybox\nCOPY onlyone\n",
            &["Dockerfile:2", "COPY requires at least two arguments"],
        ),
        (
            "FROM nosuchimage:v9\n",
            &["Dockerfile:1", "nosuchimage:v9", "not in the store"],
        ),
        (
            "FROM busybox\nCOPY --from=nosuch /x /x\n",
            &["Dockerfile:2", "nosuch"],
        ),
        (
            "FROM busybox\nCOPY missing.txt /\n",
            &["Dockerfile:2", "missing.txt", "not found"],
        ),
        (
            "FROM busybox\nCOPY ../outside /\n",
            &["Dockerfile:2", "outside the build context"],
        ),
        (
            "FROM busybox\nUSER nosuchuser\nRUN true\n",
            &["Dockerfile:3", "nosuchuser"],
        ),
    ];
    for (df, want) in cases {
        let ctx = Context::new();
        ctx.write("Dockerfile", df);
        fails_with(&s, &ctx, want);
        assert_unchanged(&s, &before);
    }
}

#[test]
fn a_failing_run_shows_its_exit_code_and_last_output() {
    let s = Store::new();
    s.base();
    let before = snapshot(&s);
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        "FROM busybox\nRUN echo ok > /ok\nRUN echo first-line; echo the-last-words >&2; exit 3\n",
    );
    let last = fails_with(
        &s,
        &ctx,
        &["Dockerfile:3", "exit code: 3", "the-last-words"],
    );
    assert!(last.contains("did not complete successfully"), "{last}");
    // The first RUN's layer is cached (BuildKit keeps finished steps), but
    // no image was written and nothing else is left.
    assert_eq!(
        std::fs::read_to_string(s.root().join("index.json")).unwrap(),
        before.index
    );
    assert_eq!(s.tmp_entries(), Vec::<String>::new());
    assert_eq!(s.mounts(), Vec::<String>::new());
    assert_eq!(build_containers(&s), Vec::<String>::new());
}

/// Starts a build whose second RUN prints a marker and sleeps; returns the
/// child once the marker is seen.
fn start_slow_build(s: &Store, ctx: &Context) -> std::process::Child {
    ctx.write(
        "Dockerfile",
        "FROM busybox\nRUN echo before > /before\nRUN echo STEP-$((1+1))-STARTED; sleep 60\n",
    );
    let mut child = s
        .cmd()
        .args(["build", "--progress", "plain", ctx.path().to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let mut lines = BufReader::new(err).lines();
    let started = Instant::now();
    loop {
        let line = lines
            .next()
            .expect("build output ended before the step started")
            .unwrap();
        if line.contains("STEP-2-STARTED") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the step never started"
        );
    }
    // Keep draining so the builder never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

#[test]
fn a_sigkilled_build_leaves_a_store_the_next_build_uses() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    let mut child = start_slow_build(&s, &ctx);
    // SAFETY-free: kill(2) through the std API.
    child.kill().unwrap();
    child.wait().unwrap();
    // The next build reclaims the dead build's temp dir and container and
    // reuses the step that finished.
    ctx.write(
        "Dockerfile",
        "FROM busybox\nRUN echo before > /before\nRUN echo after > /after\n",
    );
    let b = s.build(ctx.path(), &["-t", "after:1"]);
    assert_eq!((b.runs, b.cached), (1, 1), "{}", b.log);
    let (out, _, _) = s.run_image("after:1", Some(&["cat", "/before", "/after"]));
    assert_eq!(out, "before\nafter\n");
    assert_eq!(s.tmp_entries(), Vec::<String>::new());
    assert_eq!(
        build_containers(&s),
        Vec::<String>::new(),
        "the killed build's container is still there"
    );
}

#[test]
fn an_interrupted_build_stops_and_cleans_up() {
    let s = Store::new();
    s.base();
    let before = snapshot(&s);
    let ctx = Context::new();
    let mut child = start_slow_build(&s, &ctx);
    let t = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "SIGINT ends the build with 130");
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "the build did not stop at SIGINT"
    );
    assert_eq!(
        std::fs::read_to_string(s.root().join("index.json")).unwrap(),
        before.index
    );
    assert_eq!(s.tmp_entries(), Vec::<String>::new());
    assert_eq!(s.mounts(), Vec::<String>::new());
    assert_eq!(build_containers(&s), Vec::<String>::new());
}

#[test]
fn two_builds_at_once_on_one_store_both_succeed() {
    let s = Store::new();
    s.base();
    let a = Context::new();
    let b = Context::new();
    a.write(
        "Dockerfile",
        "FROM busybox\nRUN echo a > /a\nRUN echo shared > /s\n",
    );
    b.write(
        "Dockerfile",
        "FROM busybox\nRUN echo b > /b\nRUN echo shared > /s\n",
    );
    let spawn = |ctx: &Context, tag: &str| {
        s.cmd()
            .args(["build", "-t", tag, ctx.path().to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (ca, cb) = (spawn(&a, "two:a"), spawn(&b, "two:b"));
    for c in [ca, cb] {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (out, _, _) = s.run_image("two:a", Some(&["cat", "/a", "/s"]));
    assert_eq!(out, "a\nshared\n");
    let (out, _, _) = s.run_image("two:b", Some(&["cat", "/b", "/s"]));
    assert_eq!(out, "b\nshared\n");
}
