//! Contexts (a dir, a tar or a bare Dockerfile on stdin, a git repository
//! through file://), -f, and the build's options: --iidfile, --label,
//! --compression zstd, --platform, --runtime, SOURCE_DATE_EPOCH.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{text, Context, Store};

fn build_stdin(s: &Store, args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = s
        .cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_tar_context_and_a_bare_dockerfile_on_stdin() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write("hello.txt", "from the tar\n");
    ctx.write("Dockerfile", "FROM busybox\nCOPY hello.txt /\n");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(ctx.path())
        .args(["-czf", "-", "."])
        .output()
        .unwrap();
    assert!(tar.status.success());
    let out = build_stdin(&s, &["build", "-t", "tar:1", "-"], &tar.stdout);
    assert!(out.status.success(), "{}", text(&out));
    let (o, _, _) = s.run_image("tar:1", Some(&["cat", "/hello.txt"]));
    assert_eq!(o, "from the tar\n");
    let out = build_stdin(
        &s,
        &["build", "-t", "bare:1", "-"],
        b"FROM busybox\nRUN echo bare > /b\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    let (o, _, _) = s.run_image("bare:1", Some(&["cat", "/b"]));
    assert_eq!(o, "bare\n");
    // -f - with a directory context.
    let out = build_stdin(
        &s,
        &[
            "build",
            "-t",
            "dash:1",
            "-f",
            "-",
            ctx.path().to_str().unwrap(),
        ],
        b"FROM busybox\nCOPY hello.txt /h\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = build_stdin(&s, &["build", "-f", "-", "-"], b"");
    assert!(
        !out.status.success() && text(&out).contains("stdin for both"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_git_repository_as_context() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let s = Store::new();
    s.base();
    let work = Context::new();
    work.write("Dockerfile", "FROM busybox\nCOPY file.txt /from-git\n");
    work.write("file.txt", "committed\n");
    work.write("sub/Dockerfile", "FROM busybox\nCOPY inner.txt /inner\n");
    work.write("sub/inner.txt", "in sub\n");
    let repo = tempfile::tempdir().unwrap();
    let bare = repo.path().join("repo.git");
    let git = |args: &[&str], dir: &std::path::Path| {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
    };
    git(&["init", "-q"], work.path());
    git(&["add", "."], work.path());
    git(&["commit", "-qm", "one"], work.path());
    git(&["branch", "-q", "-M", "main"], work.path());
    git(
        &[
            "clone",
            "-q",
            "--bare",
            work.path().to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
        repo.path(),
    );
    let url = format!("file://{}", bare.display());
    s.ok(&["build", "-t", "git:1", &url]);
    let (o, _, _) = s.run_image("git:1", Some(&["cat", "/from-git"]));
    assert_eq!(o, "committed\n");
    s.ok(&["build", "-t", "git:2", &format!("{url}#main:sub")]);
    let (o, _, _) = s.run_image("git:2", Some(&["cat", "/inner"]));
    assert_eq!(o, "in sub\n");
    let out = s.run(&["build", &format!("{url}#nosuchbranch")]);
    assert!(
        !out.status.success() && text(&out).contains("git clone"),
        "{}",
        text(&out)
    );
}

#[test]
fn reproducible_with_source_date_epoch() {
    let ctx = Context::new();
    ctx.write("f.txt", "same\n");
    ctx.write(
        "Dockerfile",
        "FROM busybox\nCOPY f.txt /f\nRUN echo run > /r\nENV A=b\n",
    );
    let ids: Vec<String> = (0..2)
        .map(|i| {
            let s = Store::new();
            s.base_with_epoch();
            if i == 1 {
                // Other mtimes in the context do not change the result.
                std::fs::File::options()
                    .write(true)
                    .open(ctx.path().join("f.txt"))
                    .unwrap()
                    .set_modified(
                        std::time::SystemTime::now() + std::time::Duration::from_secs(100),
                    )
                    .unwrap();
            }
            let out = s
                .cmd()
                .env("SOURCE_DATE_EPOCH", "1700000000")
                .args(["build", "-q", "-t", "r:1", ctx.path().to_str().unwrap()])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", text(&out));
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .collect();
    assert_eq!(ids[0], ids[1], "two builds of one context differ");
    assert!(ids[0].starts_with("sha256:"));
}

#[test]
fn iidfile_labels_zstd_and_platform() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write("Dockerfile", "FROM busybox\nRUN echo z > /z\n");
    let iid = ctx.path().join("iid");
    s.build(
        ctx.path(),
        &[
            "-t",
            "z:1",
            "--compression",
            "zstd",
            "--label",
            "a=b",
            "--iidfile",
            iid.to_str().unwrap(),
            "--platform",
            "linux/amd64",
        ],
    );
    let v = s.inspect("z:1");
    assert_eq!(
        std::fs::read_to_string(&iid).unwrap(),
        v["Id"].as_str().unwrap()
    );
    assert_eq!(v["Config"]["Labels"]["a"], "b");
    let layers = v["Manifest"]["layers"].as_array().unwrap();
    assert_eq!(
        layers.last().unwrap()["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    let (o, _, _) = s.run_image("z:1", Some(&["cat", "/z"]));
    assert_eq!(o, "z\n");
    let out = s.run(&[
        "build",
        "--platform",
        "linux/s390x",
        ctx.path().to_str().unwrap(),
    ]);
    assert!(
        !out.status.success() && text(&out).contains("linux/s390x"),
        "{}",
        text(&out)
    );
    let out = s.run(&["build", "-t", "Bad:Name!", ctx.path().to_str().unwrap()]);
    assert!(
        !out.status.success() && text(&out).contains("Bad:Name!"),
        "{}",
        text(&out)
    );
}

#[test]
fn other_runtimes_run_the_steps() {
    for rt in ["runc", "crun"] {
        let Ok(path) = which(rt) else {
            eprintln!("skipped: {rt} is not installed");
            continue;
        };
        let s = Store::new();
        s.base();
        let ctx = Context::new();
        ctx.write(
            "Dockerfile",
            &format!("FROM busybox\nRUN echo {rt} > /by\n"),
        );
        let out = s.run(&[
            "build",
            "--runtime",
            &path,
            "-t",
            "rt:1",
            ctx.path().to_str().unwrap(),
        ]);
        if rt == "crun" && !out.status.success() && text(&out).contains("cgroup") {
            // Debian 12's crun refuses this host's v1 hybrid layout.
            eprintln!(
                "skipped: crun cannot run containers on this host: {}",
                text(&out).lines().last().unwrap_or("")
            );
            continue;
        }
        assert!(out.status.success(), "{rt}: {}", text(&out));
        let (o, _, _) = s.run_image("rt:1", Some(&["cat", "/by"]));
        assert_eq!(o, format!("{rt}\n"));
    }
}

fn which(name: &str) -> Result<String, ()> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map_err(|_| ())?;
    let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if p.is_empty() {
        Err(())
    } else {
        Ok(p)
    }
}
