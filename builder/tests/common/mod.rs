//! Shared by the builder's tests: a store of the test's own, busybox
//! contexts, the built `builder` binary and the runtime it drives.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Store {
    pub dir: tempfile::TempDir,
}

pub fn builder_bin() -> &'static str {
    env!("CARGO_BIN_EXE_builder")
}

/// The runtime RUN steps use: $BERTH_RUNTIME (make exports the static one),
/// else the workspace's release build.
pub fn runtime() -> PathBuf {
    if let Some(p) = std::env::var_os("BERTH_RUNTIME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let exe = Path::new(builder_bin());
    exe.with_file_name("runtime")
}

impl Store {
    pub fn new() -> Store {
        Store {
            dir: tempfile::Builder::new()
                .prefix("berth-store-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(builder_bin());
        c.arg("--root").arg(self.root());
        c.env("BERTH_RUNTIME", runtime());
        c.env_remove("SOURCE_DATE_EPOCH");
        c.stdin(Stdio::null());
        c
    }

    /// `builder ARGS`, its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run builder")
    }

    /// `builder ARGS` that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "builder {args:?} failed:\n{}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Builds `ctx` with extra args; must succeed; returns its output.
    pub fn build(&self, ctx: &Path, extra: &[&str]) -> Built {
        let mut args = vec!["build"];
        args.extend_from_slice(extra);
        let c = ctx.to_str().expect("utf-8 path");
        args.push(c);
        let out = self.run(&args);
        assert!(
            out.status.success(),
            "build {extra:?} failed:\n{}",
            text(&out)
        );
        Built::from(&out)
    }

    /// A busybox base image `busybox:latest` made FROM scratch.
    pub fn base(&self) {
        let ctx = Context::new();
        ctx.busybox_rootfs("rootfs");
        ctx.write("Dockerfile", "FROM scratch\nCOPY rootfs/ /\nCMD [\"sh\"]\n");
        self.build(ctx.path(), &["-t", "busybox"]);
    }

    /// The image's config as JSON.
    pub fn inspect(&self, image: &str) -> serde_json::Value {
        let out = self.ok(&["inspect", image]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("inspect json");
        v[0].clone()
    }

    /// Unpacks the image and runs it through the runtime with `args`
    /// (None: the image's command); its stdout, stderr and exit code.
    pub fn run_image(&self, image: &str, args: Option<&[&str]>) -> (String, String, i32) {
        let dir = tempfile::tempdir().expect("tempdir");
        let bundle = dir.path().join("b");
        self.ok(&["unpack", image, bundle.to_str().unwrap()]);
        if let Some(a) = args {
            let cfg = bundle.join("config.json");
            let mut v: serde_json::Value =
                serde_json::from_slice(&fs::read(&cfg).unwrap()).unwrap();
            v["process"]["args"] = serde_json::json!(a);
            fs::write(&cfg, serde_json::to_vec(&v).unwrap()).unwrap();
        }
        let id = format!("bt-{}-{}", std::process::id(), unique());
        let out = Command::new(runtime())
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(&id)
            .stdin(Stdio::null())
            .output()
            .expect("runtime run");
        let _ = Command::new(runtime())
            .args(["delete", "--force", &id])
            .output();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code().unwrap_or(-1),
        )
    }

    /// Entries of the store's temp dir (empty between builds).
    pub fn tmp_entries(&self) -> Vec<String> {
        fs::read_dir(self.root().join("tmp"))
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every blob file of the store.
    pub fn blobs(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.root().join("blobs/sha256"))
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Mount points of the host's table under the store.
    pub fn mounts(&self) -> Vec<String> {
        let root = self.root().to_string_lossy().into_owned();
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&root))
            .map(str::to_string)
            .collect()
    }
}

pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    t * 1000 + N.fetch_add(1, Ordering::Relaxed)
}

/// stdout and stderr of an output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// What `build` said.
pub struct Built {
    pub id: String,
    pub runs: usize,
    pub cached: usize,
    pub log: String,
}

impl From<&Output> for Built {
    fn from(o: &Output) -> Built {
        let log = text(o);
        let line = log
            .lines()
            .rfind(|l| l.starts_with("Successfully built "))
            .unwrap_or("")
            .to_string();
        let id = line
            .split_whitespace()
            .nth(2)
            .unwrap_or("")
            .trim_end_matches(',')
            .to_string();
        let nums: Vec<usize> = line
            .rsplit_once('(')
            .map(|(_, t)| {
                t.split(|c: char| !c.is_ascii_digit())
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        Built {
            id,
            runs: nums.first().copied().unwrap_or(0),
            cached: nums.get(1).copied().unwrap_or(0),
            log,
        }
    }
}

/// A build context dir.
pub struct Context {
    pub dir: tempfile::TempDir,
}

impl Context {
    pub fn new() -> Context {
        Context {
            dir: tempfile::Builder::new()
                .prefix("berth-ctx-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        p
    }

    /// A busybox rootfs at `rel`: /bin/busybox, an applet link per command,
    /// /etc/passwd and /etc/group with root, a user and nobody.
    pub fn busybox_rootfs(&self, rel: &str) {
        let root = self.path().join(rel);
        for d in ["bin", "etc", "tmp", "root"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
        fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox-static at /bin/busybox");
        let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" {
                let _ = symlink("busybox", root.join("bin").join(applet));
            }
        }
        fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            root.join("etc/group"),
            "root:x:0:\nuser:x:1000:\nextra:x:2000:user\nnogroup:x:65534:\n",
        )
        .unwrap();
    }
}

impl Store {
    /// As `base`, built with SOURCE_DATE_EPOCH, so two stores get one digest.
    pub fn base_with_epoch(&self) {
        let ctx = Context::new();
        ctx.busybox_rootfs("rootfs");
        ctx.write("Dockerfile", "FROM scratch\nCOPY rootfs/ /\nCMD [\"sh\"]\n");
        let out = self
            .cmd()
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args(["build", "-t", "busybox", ctx.path().to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
}
// ---- helpers for the image-verb and interop tests ----

impl Store {
    /// `builder ARGS` that must fail; its stderr.
    pub fn fail(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "builder {args:?} should have failed:\n{}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `builder ARGS` with `input` on stdin; its output.
    pub fn run_stdin(&self, args: &[&str], input: &Path) -> Output {
        let f = fs::File::open(input).expect("open stdin file");
        self.cmd()
            .args(args)
            .stdin(Stdio::from(f))
            .output()
            .expect("run builder")
    }

    /// The entries of the store's index.json.
    pub fn index_entries(&self) -> Vec<serde_json::Value> {
        let bytes = fs::read(self.root().join("index.json")).expect("index.json");
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("index json");
        v["manifests"].as_array().cloned().unwrap_or_default()
    }

    /// The image id of `image`.
    pub fn id_of(&self, image: &str) -> String {
        self.inspect(image)["Id"].as_str().unwrap().to_string()
    }
}

/// A tar of `entries` (name, content) written byte by byte, so that a test
/// can name what no tar library writes (`../evil`). A name ending in `/` is
/// a dir; content `->TARGET` makes a symlink to TARGET.
pub fn raw_tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in entries {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let dir = name.ends_with('/');
        let link = data.strip_prefix(b"->");
        let data: &[u8] = if link.is_some() { b"" } else { data };
        if let Some(t) = link {
            h[157..157 + t.len()].copy_from_slice(t);
        }
        let octal = |h: &mut [u8], at: usize, len: usize, v: u64| {
            let s = format!("{v:0w$o}\0", w = len - 1);
            h[at..at + len].copy_from_slice(s.as_bytes());
        };
        octal(&mut h, 100, 8, if dir { 0o755 } else { 0o644 });
        octal(&mut h, 108, 8, 0);
        octal(&mut h, 116, 8, 0);
        octal(&mut h, 124, 12, data.len() as u64);
        octal(&mut h, 136, 12, 0);
        h[156] = match (dir, link) {
            (true, _) => b'5',
            (_, Some(_)) => b'2',
            _ => b'0',
        };
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|&b| b as u64).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// The entries of a tar file, read with the system tar: (name, bytes).
pub fn untar(archive: &Path) -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let st = Command::new("tar")
        .arg("-xf")
        .arg(archive)
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("tar");
    assert!(st.success(), "tar -xf {}", archive.display());
    let mut out = Vec::new();
    walk(dir.path(), dir.path(), &mut out);
    out.sort();
    out
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            walk(base, &p, out);
        } else {
            out.push((rel, fs::read(&p).unwrap()));
        }
    }
}

/// A flat rootfs tar of busybox made by the system tar (gzip'd when asked).
pub fn busybox_tarball(dir: &Path, gzip: bool) -> PathBuf {
    let ctx = Context::new();
    ctx.busybox_rootfs("rootfs");
    let out = dir.join(if gzip { "rootfs.tar.gz" } else { "rootfs.tar" });
    let flag = if gzip { "-czf" } else { "-cf" };
    let st = Command::new("tar")
        .arg(flag)
        .arg(&out)
        .arg("-C")
        .arg(ctx.path().join("rootfs"))
        .arg(".")
        .status()
        .expect("tar");
    assert!(st.success(), "tar {flag}");
    out
}

/// gzip -c of a file, beside it.
pub fn gzip_copy(path: &Path) -> PathBuf {
    let out = PathBuf::from(format!("{}.gz", path.display()));
    let f = fs::File::create(&out).unwrap();
    let st = Command::new("gzip")
        .arg("-c")
        .arg(path)
        .stdout(f)
        .status()
        .expect("gzip");
    assert!(st.success());
    out
}

/// Flips one byte in the middle of a file.
pub fn flip_byte(path: &Path) {
    let mut b = fs::read(path).unwrap();
    let i = b.len() / 2;
    b[i] ^= 0xff;
    fs::write(path, b).unwrap();
}
/// An unpacked image: its bundle dir (kept alive) and the rootfs in it.
pub struct Unpacked {
    pub dir: tempfile::TempDir,
    pub rootfs: PathBuf,
}

impl Unpacked {
    /// `rel` inside the rootfs (a leading `/` is fine).
    pub fn path(&self, rel: &str) -> PathBuf {
        self.rootfs.join(rel.trim_start_matches('/'))
    }

    /// The text of the file `rel`; panics naming it when missing.
    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.path(rel)).is_ok()
    }

    pub fn meta(&self, rel: &str) -> fs::Metadata {
        fs::symlink_metadata(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

impl Store {
    /// `builder unpack IMAGE`: the image's files, to look at from the host.
    pub fn unpack(&self, image: &str) -> Unpacked {
        let dir = tempfile::tempdir().expect("tempdir");
        let bundle = dir.path().join("b");
        self.ok(&["unpack", image, bundle.to_str().unwrap()]);
        Unpacked {
            rootfs: bundle.join("rootfs"),
            dir,
        }
    }

    /// Builds `ctx`, which must fail; its output.
    pub fn build_fails(&self, ctx: &Path, extra: &[&str]) -> Output {
        let mut args = vec!["build"];
        args.extend_from_slice(extra);
        args.push(ctx.to_str().expect("utf-8 path"));
        let out = self.run(&args);
        assert!(
            !out.status.success(),
            "build {extra:?} should have failed:\n{}",
            text(&out)
        );
        out
    }
}
