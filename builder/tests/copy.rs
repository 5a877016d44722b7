//! COPY and ADD as Docker/BuildKit do them, checked on the files of the
//! built image (unpacked on the host, looked at with lstat).

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::{text, Context, Store};

fn set_mode(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// Sets a path's mtime (and atime) to `secs` since the epoch.
fn set_mtime(p: &Path, secs: i64) {
    let f = fs::File::options().write(true).open(p).unwrap();
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
    f.set_times(fs::FileTimes::new().set_accessed(t).set_modified(t))
        .unwrap();
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("note: {tool} is missing, that part is skipped");
    }
    ok
}

/// The last line of stderr: where a failed build says why.
fn last_err(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string()
}

#[test]
fn destinations_globs_and_dir_contents() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    for (p, t) in [
        ("a.txt", "A"),
        ("b.txt", "B"),
        ("c.log", "C"),
        ("dir/x.c", "x"),
        ("dir/y.c", "y"),
        ("dir/zz.c", "zz"),
        ("dir/sub/deep.txt", "deep"),
        ("adir/in-a", "ia"),
        ("bdir/in-b", "ib"),
    ] {
        ctx.write(p, t);
    }
    ctx.write(
        "Dockerfile",
        "FROM busybox
COPY a.txt /f2f/renamed.txt
COPY a.txt /intodir/
COPY a.txt /etc
COPY a.txt b.txt /multi/
COPY dir /dircontents/
COPY dir /dirnoslash
COPY *.txt /glob1/
COPY dir/?.c /glob2/
COPY [ab]* /glob3/
WORKDIR /wd
COPY a.txt rel/
COPY b.txt .
COPY a.txt ./dot/
",
    );
    s.build(ctx.path(), &["-t", "dest"]);
    let u = s.unpack("dest");
    assert_eq!(u.read("/f2f/renamed.txt"), "A");
    assert!(u.meta("/f2f").is_dir());
    assert_eq!(u.read("/intodir/a.txt"), "A");
    assert_eq!(u.read("/etc/a.txt"), "A", "existing dir: the file goes in");
    assert!(u.meta("/etc").is_dir());
    assert_eq!(u.read("/multi/a.txt") + &u.read("/multi/b.txt"), "AB");
    assert_eq!(u.read("/dircontents/x.c"), "x");
    assert_eq!(u.read("/dircontents/sub/deep.txt"), "deep");
    assert!(!u.exists("/dircontents/dir"), "the dir itself was copied");
    assert_eq!(u.read("/dirnoslash/zz.c"), "zz");
    assert_eq!(u.read("/glob1/a.txt") + &u.read("/glob1/b.txt"), "AB");
    assert!(!u.exists("/glob1/c.log"));
    assert_eq!(u.read("/glob2/x.c") + &u.read("/glob2/y.c"), "xy");
    assert!(!u.exists("/glob2/zz.c"));
    // `[ab]*` matches a.txt, adir, b.txt, bdir: dirs give their contents.
    for f in ["a.txt", "b.txt", "in-a", "in-b"] {
        assert!(u.exists(&format!("/glob3/{f}")), "/glob3/{f}");
    }
    assert!(!u.exists("/glob3/adir"));
    assert_eq!(u.read("/wd/rel/a.txt"), "A");
    assert_eq!(u.read("/wd/b.txt"), "B");
    assert_eq!(u.read("/wd/dot/a.txt"), "A");
}

#[test]
fn links_modes_times_and_owners() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write("a.txt", "A");
    let t = ctx.write("tree/target.txt", "target");
    ctx.write("tree/sub/deeper", "d");
    symlink("target.txt", ctx.path().join("tree/rel-link")).unwrap();
    symlink("/etc/passwd", ctx.path().join("tree/abs-link")).unwrap();
    symlink("tree/target.txt", ctx.path().join("toplink")).unwrap();
    let h1 = ctx.write("tree/hard1", "hard");
    fs::hard_link(&h1, ctx.path().join("tree/hard2")).unwrap();
    let suid = ctx.write("tree/suid", "s");
    set_mode(&suid, 0o4755);
    let secret = ctx.write("tree/secret", "p");
    set_mode(&secret, 0o600);
    set_mtime(&t, 1_000_000_000);
    std::os::unix::fs::chown(&t, Some(4321), Some(4321)).unwrap();
    ctx.write(
        "Dockerfile",
        "FROM busybox
COPY tree /tree/
COPY toplink /top
COPY toplink /topdir/
COPY --chown=user a.txt /newp/deeper/f
COPY --chown=user:extra a.txt /own/ug
COPY --chown=1234 a.txt /own/num
COPY --chown=user a.txt /own/u
COPY --chown=nobody tree /own/tree/
COPY --chmod=0755 a.txt /mod/f
COPY --chmod=0750 tree /mod/d/
",
    );
    s.build(ctx.path(), &["-t", "meta"]);
    let u = s.unpack("meta");
    assert_eq!(
        fs::read_link(u.path("/tree/rel-link")).unwrap(),
        Path::new("target.txt")
    );
    assert_eq!(
        fs::read_link(u.path("/tree/abs-link")).unwrap(),
        Path::new("/etc/passwd")
    );
    let top = u.meta("/top");
    assert!(top.is_file(), "a top-level source symlink is followed");
    assert_eq!(u.read("/top"), "target");
    assert_eq!(u.read("/topdir/toplink"), "target", "named as written");
    let (m1, m2) = (u.meta("/tree/hard1"), u.meta("/tree/hard2"));
    assert_eq!(m1.ino(), m2.ino(), "hardlinks kept");
    assert_eq!(u.meta("/tree/suid").mode() & 0o7777, 0o4755);
    assert_eq!(u.meta("/tree/secret").mode() & 0o7777, 0o600);
    let tm = u.meta("/tree/target.txt");
    assert_eq!(tm.mtime(), 1_000_000_000, "mtime kept");
    assert_eq!((tm.uid(), tm.gid()), (0, 0), "context files are 0:0");
    let ids = |p: &str| {
        let m = u.meta(p);
        (m.uid(), m.gid())
    };
    assert_eq!(ids("/own/ug"), (1000, 2000));
    assert_eq!(ids("/own/num"), (1234, 1234));
    assert_eq!(ids("/own/u"), (1000, 1000));
    // Dirs the COPY makes get --chown's owner (BuildKit's MkdirAll).
    assert_eq!(ids("/newp"), (1000, 1000));
    assert_eq!(ids("/newp/deeper"), (1000, 1000));
    assert_eq!(ids("/newp/deeper/f"), (1000, 1000));
    assert_eq!(ids("/own/tree/sub/deeper"), (65534, 65534));
    assert_eq!(ids("/own/tree/sub"), (65534, 65534));
    assert_eq!(ids("/own/tree/rel-link"), (65534, 65534));
    assert_eq!(u.meta("/mod/f").mode() & 0o7777, 0o755);
    assert_eq!(u.meta("/mod/d/secret").mode() & 0o7777, 0o750);
    assert_eq!(u.meta("/mod/d/sub").mode() & 0o7777, 0o750);
    assert!(u.meta("/mod/d/rel-link").is_symlink());
}

#[test]
fn from_stages_images_parents_exclude_link() {
    let s = Store::new();
    s.base();
    let pre = Context::new();
    pre.write(
        "Dockerfile",
        "FROM busybox\nRUN mkdir /owned && echo o > /owned/f && chown -R 1000:2000 /owned\n",
    );
    s.build(pre.path(), &["-t", "owned"]);
    let ctx = Context::new();
    ctx.write("a.txt", "A");
    ctx.write("a/b/c.txt", "C");
    ctx.write("a/b/other.txt", "O");
    ctx.write("logs/keep.txt", "k");
    ctx.write("logs/drop.log", "d");
    ctx.write("logs/sub/keep.log", "deeper .log: `*.log` is one level");
    ctx.write("top.log", "t");
    ctx.write(
        "Dockerfile",
        "FROM busybox AS first
RUN mkdir -p /out/sub && echo one > /out/sub/f && echo x > /out/skip.log && chown -R 1000:2000 /out
FROM busybox
COPY --from=first /out /byname/
COPY --from=0 /out/sub/f /byindex
COPY --from=owned /owned /fromimage/
COPY --parents a/b/c.txt /dst/
COPY --exclude=*.log logs/ /ex/
COPY --exclude=*.log logs/* top.log a.txt /exglob/
COPY --exclude=*.log --from=first /out /exfrom/
COPY --link a.txt /linked
",
    );
    s.build(ctx.path(), &["-t", "from"]);
    let u = s.unpack("from");
    let ids = |p: &str| {
        let m = u.meta(p);
        (m.uid(), m.gid())
    };
    assert_eq!(u.read("/byname/sub/f"), "one\n");
    assert_eq!(ids("/byname/sub/f"), (1000, 2000), "stage owners kept");
    assert_eq!(ids("/byname/sub"), (1000, 2000));
    assert_eq!(u.read("/byindex"), "one\n");
    assert_eq!(u.read("/fromimage/f"), "o\n");
    assert_eq!(ids("/fromimage/f"), (1000, 2000), "image owners kept");
    assert_eq!(u.read("/dst/a/b/c.txt"), "C");
    assert!(!u.exists("/dst/a/b/other.txt"));
    assert!(!u.exists("/dst/c.txt"));
    assert_eq!(u.read("/ex/keep.txt"), "k");
    assert!(!u.exists("/ex/drop.log"), "--exclude with a dir source");
    assert!(u.exists("/ex/sub/keep.log"));
    assert!(u.exists("/exglob/keep.txt") && u.exists("/exglob/a.txt"));
    assert!(
        !u.exists("/exglob/drop.log"),
        "a wildcard match is excluded"
    );
    // ... but a source named as such is not (BuildKit never matches the
    // top of a copy against --exclude).
    assert!(u.exists("/exglob/top.log"));
    assert_eq!(u.read("/exfrom/sub/f"), "one\n");
    assert!(!u.exists("/exfrom/skip.log"));
    assert_eq!(u.read("/linked"), "A");
}

#[test]
fn dockerignore_patterns_and_exceptions() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    for p in [
        "normal.txt",
        "secret.txt",
        "build/out",
        "x.tmp",
        "a/b/y.tmp",
        "a/b/z.txt",
        "cache/drop",
        "cache/keep.txt",
    ] {
        ctx.write(p, p);
    }
    ctx.write(
        ".dockerignore",
        "secret.txt\nbuild\n**/*.tmp\ncache\n!cache/keep.txt\n",
    );
    ctx.write("Dockerfile", "FROM busybox\nCOPY . /ctx/\n");
    s.build(ctx.path(), &["-t", "ign"]);
    let u = s.unpack("ign");
    assert_eq!(u.read("/ctx/normal.txt"), "normal.txt");
    assert_eq!(u.read("/ctx/a/b/z.txt"), "a/b/z.txt");
    for gone in ["secret.txt", "build", "x.tmp", "a/b/y.tmp", "cache/drop"] {
        assert!(!u.exists(&format!("/ctx/{gone}")), "{gone} was copied");
    }
    assert_eq!(
        u.read("/ctx/cache/keep.txt"),
        "cache/keep.txt",
        "! exception"
    );

    // <Dockerfile>.dockerignore beside a -f Dockerfile wins.
    ctx.write("sub/Dockerfile.custom", "FROM busybox\nCOPY . /ctx/\n");
    ctx.write("sub/Dockerfile.custom.dockerignore", "normal.txt\n");
    let f = ctx.path().join("sub/Dockerfile.custom");
    s.build(ctx.path(), &["-t", "ign2", "-f", f.to_str().unwrap()]);
    let u = s.unpack("ign2");
    assert!(!u.exists("/ctx/normal.txt"));
    assert!(u.exists("/ctx/secret.txt") && u.exists("/ctx/build/out"));

    // Naming an excluded file fails, naming it.
    ctx.write("Dockerfile", "FROM busybox\nCOPY secret.txt /s\n");
    let out = s.build_fails(ctx.path(), &[]);
    let line = last_err(&out);
    assert!(
        line.contains("secret.txt") && line.contains("Dockerfile:2"),
        "{}",
        text(&out)
    );
}

#[test]
fn errors_name_the_line_and_path_and_leave_the_store_alone() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write("a.txt", "A");
    ctx.write("b.txt", "B");
    // The steps before the failing one are built (and cached) first, so
    // any blob a failed build leaves would be the failing step's.
    ctx.write("Dockerfile", "FROM busybox\nRUN true\n");
    s.build(ctx.path(), &[]);
    let before = s.blobs();
    for (line, want) in [
        ("COPY missing.txt /m", "missing.txt"),
        ("COPY ../x /", "../x"),
        ("COPY --chmod=abc a.txt /a", "abc"),
        ("COPY --chmod=99999 a.txt /a", "99999"),
        ("COPY --chown=nosuchuser a.txt /a", "nosuchuser"),
        ("COPY --chown=user:nosuchgroup a.txt /a", "nosuchgroup"),
        (
            "COPY a.txt b.txt /nodir",
            "must be a directory and end with a /",
        ),
        ("ADD missing.tar /", "missing.tar"),
    ] {
        ctx.write("Dockerfile", &format!("FROM busybox\nRUN true\n{line}\n"));
        let out = s.build_fails(ctx.path(), &[]);
        let l = last_err(&out);
        assert!(
            l.contains("Dockerfile:3") && l.contains(want),
            "{line}: {}",
            text(&out)
        );
        assert_eq!(s.blobs(), before, "{line}: blobs were added");
        assert!(s.tmp_entries().is_empty(), "{line}: {:?}", s.tmp_entries());
        assert!(s.mounts().is_empty(), "{line}: {:?}", s.mounts());
    }
}

#[test]
fn hostile_symlinks_stay_inside() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    let name = format!("berth-copy-{}-{}", std::process::id(), common::unique());
    ctx.write(&name, "inside");
    ctx.write(
        "Dockerfile",
        &format!("FROM busybox\nRUN ln -s /etc /app\nCOPY {name} /app/{name}\nCOPY {name} /app/\n"),
    );
    s.build(ctx.path(), &["-t", "hostile"]);
    let host = Path::new("/etc").join(&name);
    assert!(!host.exists(), "COPY wrote the host's {}", host.display());
    let u = s.unpack("hostile");
    assert_eq!(u.read(&format!("/etc/{name}")), "inside");
    assert!(u.meta("/app").is_symlink());

    // An ADDed tar whose entry crosses a symlink the image has (`evil -> /`)
    // lands in the image's root, not the host's.
    let ctx = Context::new();
    ctx.write(&format!("t/evil/{name}"), "tar");
    let ok = Command::new("tar")
        .args(["-C", "t", "-cf", "t.tar", "evil"])
        .current_dir(ctx.path())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        ctx.write(
            "Dockerfile",
            "FROM busybox\nRUN mkdir /x && ln -s / /x/evil\nADD t.tar /x/\n",
        );
        s.build(ctx.path(), &["-t", "hostile-tar"]);
        let host = Path::new("/").join(&name);
        assert!(!host.exists(), "ADD wrote the host's {}", host.display());
        let u = s.unpack("hostile-tar");
        // Either the link was followed inside the rootfs, or the tar's dir
        // entry replaced it (never checked through the host's `evil -> /`).
        let replaced = u.meta("/x/evil").is_dir() && u.exists(&format!("/x/evil/{name}"));
        assert!(u.exists(&format!("/{name}")) || replaced);
    }

    // A context symlink to a host file: BuildKit resolves it inside the
    // context, where /etc/passwd is not, and fails (`"/etc/passwd" not found`).
    let ctx = Context::new();
    symlink("/etc/passwd", ctx.path().join("leak")).unwrap();
    ctx.write("Dockerfile", "FROM busybox\nCOPY leak /leak\n");
    let out = s.build_fails(ctx.path(), &[]);
    let l = last_err(&out);
    assert!(
        l.contains("/etc/passwd") && l.contains("not found"),
        "{}",
        text(&out)
    );
    // ... and a context copy keeps it a symlink, never the host's content.
    ctx.write("Dockerfile", "FROM busybox\nCOPY . /c/\n");
    s.build(ctx.path(), &["-t", "leak"]);
    let u = s.unpack("leak");
    assert!(u.meta("/c/leak").is_symlink());
}

#[test]
fn add_extracts_local_tars() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write("payload/inner.txt", "in");
    ctx.write("note.txt", "plain");
    let mut lines = vec!["FROM busybox".to_string()];
    let tar = |args: &[&str]| {
        let ok = Command::new("tar")
            .args(args)
            .current_dir(ctx.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tar {args:?}");
    };
    let kinds = [
        ("plain.tar", "-cf", None),
        ("t.tar.gz", "-czf", Some("gzip")),
        ("t.tar.bz2", "-cjf", Some("bzip2")),
        ("t.tar.xz", "-cJf", Some("xz")),
    ];
    let mut made = Vec::new();
    if !have("tar") {
        return;
    }
    for (file, flag, tool) in kinds {
        if tool.is_some_and(|t| !have(t)) {
            continue;
        }
        tar(&[flag, file, "payload"]);
        lines.push(format!("ADD {file} /x/{file}/"));
        made.push(file);
    }
    lines.push("ADD --unpack=false plain.tar /raw/".into());
    lines.push("ADD note.txt /x/".into());
    ctx.write("Dockerfile", &(lines.join("\n") + "\n"));
    s.build(ctx.path(), &["-t", "tars"]);
    let u = s.unpack("tars");
    for f in made {
        assert_eq!(u.read(&format!("/x/{f}/payload/inner.txt")), "in", "{f}");
    }
    assert!(u.meta("/raw/plain.tar").is_file(), "--unpack=false copies");
    assert_eq!(u.read("/x/note.txt"), "plain");
}

/// Serves `body` on 127.0.0.1 for `n` requests: `/sized` with a
/// Content-Length, `/chunked` in chunks. Returns the port.
fn serve(body: &'static [u8], n: usize) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().take(n).flatten() {
            let mut c = conn;
            let mut req = Vec::new();
            let mut b = [0u8; 1];
            while !req.ends_with(b"\r\n\r\n") && c.read(&mut b).is_ok_and(|k| k == 1) {
                req.push(b[0]);
            }
            let req = String::from_utf8_lossy(&req);
            if req.starts_with("GET /chunked") {
                let _ = write!(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                for part in body.chunks(5) {
                    let _ = write!(c, "{:x}\r\n", part.len());
                    let _ = c.write_all(part);
                    let _ = c.write_all(b"\r\n");
                }
                let _ = c.write_all(b"0\r\n\r\n");
            } else {
                let _ = write!(
                    c,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let _ = c.write_all(body);
            }
        }
    });
    port
}

#[test]
fn add_http_urls_and_checksums() {
    const BODY: &[u8] = b"downloaded over http\n";
    let sum = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(BODY);
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let s = Store::new();
    s.base();
    let port = serve(BODY, 16);
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        &format!(
            "FROM busybox
ADD http://127.0.0.1:{port}/sized /dl/
ADD --checksum=sha256:{sum} http://127.0.0.1:{port}/chunked /dl/c.txt
"
        ),
    );
    s.build(ctx.path(), &["-t", "http", "--no-cache"]);
    let u = s.unpack("http");
    assert_eq!(u.read("/dl/sized"), "downloaded over http\n");
    assert_eq!(u.read("/dl/c.txt"), "downloaded over http\n");
    assert_eq!(u.meta("/dl/sized").mode() & 0o7777, 0o600);
    assert_eq!(u.meta("/dl/c.txt").mode() & 0o7777, 0o600);

    let wrong = "0".repeat(64);
    ctx.write(
        "Dockerfile",
        &format!("FROM busybox\nADD --checksum=sha256:{wrong} http://127.0.0.1:{port}/sized /x\n"),
    );
    let before = s.blobs();
    let out = s.build_fails(ctx.path(), &[]);
    let l = last_err(&out);
    assert!(
        l.contains(&wrong) && l.contains(&sum) && l.contains("Dockerfile:2"),
        "{}",
        text(&out)
    );
    assert_eq!(s.blobs(), before);
    assert!(s.tmp_entries().is_empty());
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c"])
        .arg("init.defaultBranch=main")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
}

#[test]
fn add_git_repositories() {
    if !have("git") {
        return;
    }
    let s = Store::new();
    s.base();
    let repos = tempfile::tempdir().unwrap();
    let bare = repos.path().join("repo.git");
    fs::create_dir(&bare).unwrap();
    git(&bare, &["init", "--bare", "-q"]);
    let work = repos.path().join("work");
    git(
        repos.path(),
        &["clone", "-q", bare.to_str().unwrap(), "work"],
    );
    fs::write(work.join("readme"), "main branch\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "one"]);
    git(&work, &["push", "-q", "origin", "HEAD:main"]);
    git(&work, &["checkout", "-q", "-b", "feature"]);
    fs::write(work.join("readme"), "feature branch\n").unwrap();
    git(&work, &["commit", "-q", "-am", "two"]);
    git(&work, &["push", "-q", "origin", "feature"]);
    let url = format!("file://{}", bare.display());
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        &format!(
            "FROM busybox
ADD {url} /src/
ADD {url}#feature /feat/
ADD --keep-git-dir=true {url} /kept/
"
        ),
    );
    s.build(ctx.path(), &["-t", "git"]);
    let u = s.unpack("git");
    assert_eq!(u.read("/src/readme"), "main branch\n");
    assert!(!u.exists("/src/.git"), ".git is dropped by default");
    assert_eq!(u.read("/feat/readme"), "feature branch\n");
    assert!(u.meta("/kept/.git").is_dir(), "--keep-git-dir");
}

/// The number of the progress step titled with `title`, and its result.
fn step_result(log: &str, title: &str) -> String {
    let n = log
        .lines()
        .find(|l| l.contains(title) && l.starts_with('#'))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no step {title} in\n{log}"))
        .to_string();
    log.lines()
        .rfind(|l| l.starts_with(&format!("{n} ")))
        .unwrap_or("")
        .to_string()
}

#[test]
fn cache_follows_content_not_mtime() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    let f = ctx.write("src/f.txt", "one");
    ctx.write("src/g.txt", "g");
    ctx.write("Dockerfile", "FROM busybox\nCOPY src /src/\n");
    let b = s.build(ctx.path(), &["-t", "c1"]);
    assert!(
        step_result(&b.log, "COPY src").contains("DONE"),
        "{}",
        b.log
    );
    let b = s.build(ctx.path(), &["-t", "c1"]);
    assert!(
        step_result(&b.log, "COPY src").ends_with("CACHED"),
        "{}",
        b.log
    );
    // mtime only: BuildKit's content hash leaves times out.
    set_mtime(&f, 1_500_000_000);
    let b = s.build(ctx.path(), &["-t", "c1"]);
    assert!(
        step_result(&b.log, "COPY src").ends_with("CACHED"),
        "{}",
        b.log
    );
    fs::write(&f, "two").unwrap();
    let b = s.build(ctx.path(), &["-t", "c1"]);
    assert!(
        step_result(&b.log, "COPY src").contains("DONE"),
        "{}",
        b.log
    );
    assert_eq!(s.unpack("c1").read("/src/f.txt"), "two");
}

/// Kills the openssl server even when the test fails.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn add_https_urls_trusting_the_hosts_ca_file() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipped: openssl is not installed");
        return;
    }
    let s = Store::new();
    s.base();
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("file.txt"), "downloaded over https\n").unwrap();
    let (cert, key) = (www.path().join("cert.pem"), www.path().join("key.pem"));
    let ca = www.path().join("ca.pem");
    // A CA, and a server certificate for 127.0.0.1 signed by it (webpki
    // refuses a self-signed CA used as the server's own certificate).
    let ext = www.path().join("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let d = www.path().to_str().unwrap().to_string();
    let steps: [Vec<String>; 3] = [
        format!("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=berth-test-ca -keyout {d}/ca.key -out {d}/ca.pem"),
        format!("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 -keyout {d}/key.pem -out {d}/leaf.csr"),
        format!("x509 -req -in {d}/leaf.csr -CA {d}/ca.pem -CAkey {d}/ca.key -CAcreateserial -days 1 -extfile {d}/ext.cnf -out {d}/cert.pem"),
    ]
    .map(|c| c.split(' ').map(str::to_string).collect());
    for args in steps {
        let made = Command::new("openssl").args(&args).output().unwrap();
        assert!(made.status.success(), "openssl {args:?}: {}", text(&made));
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let _server = Server(
        std::process::Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-WWW",
                "-accept",
                &format!("127.0.0.1:{port}"),
            ])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .current_dir(www.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        &format!("FROM busybox\nADD https://127.0.0.1:{port}/file.txt /dl/\n"),
    );
    let out = s
        .cmd()
        .env("SSL_CERT_FILE", &ca)
        .args(["build", "-t", "https", ctx.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        s.unpack("https").read("/dl/file.txt"),
        "downloaded over https\n"
    );
    // Without the server's CA the certificate is refused, naming the URL.
    let out = s
        .cmd()
        .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        .args(["build", "--no-cache", ctx.path().to_str().unwrap()])
        .output()
        .unwrap();
    let l = last_err(&out);
    assert!(
        !out.status.success()
            && l.contains("https://127.0.0.1")
            && l.to_lowercase().contains("certificate"),
        "{}",
        text(&out)
    );
}
