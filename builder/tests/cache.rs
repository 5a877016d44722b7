//! The build cache: a rebuild with nothing changed runs no container and
//! writes no layer; a change to one copied file reruns from that COPY on;
//! --no-cache reruns everything; bind-mount sources are in the key.

mod common;

use common::{Context, Store};

fn ten_step_context() -> Context {
    let ctx = Context::new();
    ctx.write("a.txt", "one\n");
    ctx.write("b.txt", "two\n");
    let mut df = String::from(
        "FROM busybox\nRUN echo 1 > /1\nCOPY a.txt /a.txt\nRUN cat /a.txt > /a.copy\n",
    );
    df.push_str("COPY b.txt /b.txt\nRUN cat /b.txt > /b.copy\n");
    for i in 0..5 {
        df.push_str(&format!("RUN echo {i} >> /log\n"));
    }
    ctx.write("Dockerfile", &df);
    ctx
}

#[test]
fn an_unchanged_rebuild_runs_nothing_and_gives_the_same_image() {
    let s = Store::new();
    s.base();
    let ctx = ten_step_context();
    let first = s.build(ctx.path(), &["-t", "c:v1"]);
    assert_eq!(first.runs, 8, "{}", first.log);
    let blobs = s.blobs();
    let again = s.build(ctx.path(), &["-t", "c:v1"]);
    assert_eq!((again.runs, again.cached), (0, 10), "{}", again.log);
    assert_eq!(again.id, first.id, "a cached rebuild writes the same image");
    assert_eq!(s.blobs(), blobs, "a cached rebuild writes no blob");
    assert_eq!(again.log.matches("CACHED").count(), 10, "{}", again.log);
}

#[test]
fn a_changed_file_reruns_from_its_copy_on() {
    let s = Store::new();
    s.base();
    let ctx = ten_step_context();
    s.build(ctx.path(), &["-t", "c:v1"]);
    ctx.write("b.txt", "changed\n");
    let b = s.build(ctx.path(), &["-t", "c:v2"]);
    // RUN 1, COPY a, RUN a are cached; COPY b and the 6 RUNs after it run.
    assert_eq!((b.runs, b.cached), (6, 3), "{}", b.log);
    let (out, _, _) = s.run_image("c:v2", Some(&["cat", "/b.copy", "/a.copy"]));
    assert_eq!(out, "changed\none\n");
    // A file's mtime alone is not content: the copy stays cached.
    let f = ctx.path().join("a.txt");
    let t = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(t)
        .unwrap();
    let b = s.build(ctx.path(), &["-t", "c:v3"]);
    assert_eq!(b.runs, 0, "{}", b.log);
}

#[test]
fn no_cache_reruns_everything_and_build_args_invalidate_runs() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        "FROM busybox\nARG V=1\nRUN echo $V > /v\nRUN echo fixed > /f\n",
    );
    let first = s.build(ctx.path(), &[]);
    assert_eq!(first.runs, 2);
    let b = s.build(ctx.path(), &["--no-cache"]);
    assert_eq!((b.runs, b.cached), (2, 0), "{}", b.log);
    let b = s.build(ctx.path(), &["--build-arg", "V=2", "-t", "v:2"]);
    assert_eq!(
        b.runs, 2,
        "an arg a RUN sees is part of its key:\n{}",
        b.log
    );
    let (out, _, _) = s.run_image("v:2", Some(&["cat", "/v"]));
    assert_eq!(out, "2\n");
}

#[test]
fn bind_mount_sources_are_part_of_the_key() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write("src/input", "first\n");
    ctx.write(
        "Dockerfile",
        "FROM busybox\nRUN --mount=type=bind,source=src,target=/src cat /src/input > /out\n",
    );
    s.build(ctx.path(), &["-t", "m:1"]);
    ctx.write("src/input", "second\n");
    let b = s.build(ctx.path(), &["-t", "m:2"]);
    assert_eq!(
        b.runs, 1,
        "a changed bind source reruns the step (buildah#5400):\n{}",
        b.log
    );
    let (out, _, _) = s.run_image("m:2", Some(&["cat", "/out"]));
    assert_eq!(out, "second\n");
    let (out, _, _) = s.run_image("m:2", Some(&["ls", "/src"]));
    assert_eq!(out, "", "the bind mount's target is not part of the layer");
}

#[test]
fn cache_and_tmpfs_mounts() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        "FROM busybox\nARG N=1\nRUN --mount=type=cache,target=/cache echo $N >> /cache/runs && cat /cache/runs > /seen\n\
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && grep -q ' /scratch tmpfs' /proc/mounts\n",
    );
    s.build(ctx.path(), &["-t", "k:1"]);
    s.build(ctx.path(), &["-t", "k:2", "--build-arg", "N=2"]);
    let (out, _, _) = s.run_image("k:2", Some(&["cat", "/seen"]));
    assert_eq!(
        out, "1\n2\n",
        "the cache mount keeps its content across builds"
    );
    let (out, _, _) = s.run_image("k:2", Some(&["ls", "-A", "/cache"]));
    assert_eq!(out, "", "the cache's content is not in the image");
}

#[test]
fn secrets_are_mounted_and_never_stored() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    let secret = ctx.write("../secret-berth-test", "s3cr3t-value\n");
    ctx.write(
        "Dockerfile",
        "FROM busybox\nRUN --mount=type=secret,id=tok cat /run/secrets/tok | wc -c > /len\n",
    );
    let arg = format!("id=tok,src={}", secret.display());
    s.build(ctx.path(), &["-t", "sec:1", "--secret", &arg]);
    let (out, _, _) = s.run_image("sec:1", Some(&["cat", "/len"]));
    assert_eq!(out.trim(), "13");
    for b in s.blobs() {
        let bytes = std::fs::read(s.root().join("blobs/sha256").join(&b)).unwrap();
        assert!(
            !bytes.windows(12).any(|w| w == b"s3cr3t-value"),
            "the secret is in blob {b}"
        );
    }
    let _ = std::fs::remove_file(secret);
}

#[test]
fn a_locked_cache_mount_is_used_by_one_step_at_a_time() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    let step = |me: &str| {
        format!(
            "RUN --mount=type=cache,id=lk,target=/c,sharing=locked \
             echo start-{me} >> /c/log; sleep 0.3; echo end-{me} >> /c/log; cp /c/log /seen-{me}\n"
        )
    };
    ctx.write(
        "Dockerfile",
        &format!(
            "FROM busybox AS a\n{}FROM busybox AS b\n{}FROM busybox\nCOPY --from=a /seen-a /a\nCOPY --from=b /seen-b /b\n",
            step("a"),
            step("b")
        ),
    );
    s.build(ctx.path(), &["-t", "lk:1"]);
    let (a, _, _) = s.run_image("lk:1", Some(&["cat", "/a"]));
    let (b, _, _) = s.run_image("lk:1", Some(&["cat", "/b"]));
    let last = if a.len() > b.len() { a } else { b };
    let lines: Vec<&str> = last.lines().collect();
    assert_eq!(lines.len(), 4, "{last}");
    for pair in lines.chunks(2) {
        assert_eq!(
            pair[0].replace("start-", ""),
            pair[1].replace("end-", ""),
            "the steps overlapped: {last}"
        );
    }
}

#[test]
fn a_new_cache_mount_is_seeded_from_a_stage() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        "FROM busybox AS seed\nRUN mkdir /seed && echo from-the-stage > /seed/file\n\
FROM busybox\nRUN --mount=type=cache,id=seeded,target=/c,from=seed,source=/seed cat /c/file > /out\n",
    );
    s.build(ctx.path(), &["-t", "seeded:1"]);
    let (out, _, _) = s.run_image("seeded:1", Some(&["cat", "/out"]));
    assert_eq!(out, "from-the-stage\n");
}
