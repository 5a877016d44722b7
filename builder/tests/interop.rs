//! Interop with the real tools: our store and archives read by podman,
//! skopeo, buildah, umoci and docker, and theirs loaded by us. Every tool
//! runs on storage of its own under a tempdir (the host's is untouched);
//! a test whose tool is missing prints a notice and passes.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{text, Store};

/// The tool's path, or None with a notice (the test then skips).
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!("SKIP: {name} is not installed (apt-get install it to run this test)");
    }
    found
}

/// `bin` in a mount namespace of its own with fresh tmpfs over /run,
/// /var/lib and /etc/docker: what the tools write there by default (blob
/// info caches, lock dirs, docker's key.json) stays off the host, and their
/// mounts go with the namespace.
fn isolated(bin: &Path) -> Command {
    const SCRIPT: &str = "for d in /run /var/lib /etc/docker; do \
         [ -d $d ] && { mount -t tmpfs berth-test $d || exit 125; }; done; exec \"$0\" \"$@\"";
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c", SCRIPT])
        .arg(bin);
    c
}

fn sh(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("spawn")
}

fn must(cmd: &mut Command) -> String {
    let out = sh(cmd);
    assert!(out.status.success(), "{cmd:?} failed:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A tempdir that, on drop (a failed test too), unmounts whatever a tool
/// left mounted under it before removing it.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new(prefix: &str) -> Scratch {
        Scratch(
            tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .expect("tempdir"),
        )
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
    fn join(&self, p: &str) -> PathBuf {
        self.0.path().join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let root = self.path().to_string_lossy().into_owned();
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut mounts: Vec<&str> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&root))
            .collect();
        // Deepest first.
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
    }
}

/// busybox saved by us as `format` into `dir`.
fn saved(s: &Store, dir: &Path, format: &str) -> PathBuf {
    let f = dir.join(format!("ours-{format}.tar"));
    s.ok(&[
        "save",
        "--format",
        format,
        "-o",
        f.to_str().unwrap(),
        "busybox",
    ]);
    f
}

/// Loads `archive` into a fresh store of ours and runs a command there.
fn loads_and_runs(archive: &Path, name: &str) {
    let fresh = Store::new();
    fresh.ok(&["load", "-i", archive.to_str().unwrap()]);
    let (o, e, code) = fresh.run_image(name, Some(&["sh", "-c", "echo back; cat /etc/group"]));
    assert_eq!(code, 0, "{o}{e}");
    assert!(o.starts_with("back\nroot:x:0:"), "{o}{e}");
    assert!(fresh.tmp_entries().is_empty());
}

/// podman on storage of its own.
struct Podman {
    bin: PathBuf,
    dir: Scratch,
}

impl Podman {
    fn new() -> Option<Podman> {
        Some(Podman {
            bin: tool("podman")?,
            dir: Scratch::new("berth-podman-"),
        })
    }
    fn cmd(&self) -> Command {
        let mut c = isolated(&self.bin);
        c.arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "none"]);
        c.env("XDG_RUNTIME_DIR", self.dir.join("xdg"));
        c
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = sh(self.cmd().args(["rm", "-af"]));
    }
}

#[test]
fn podman_loads_our_oci_and_docker_archives() {
    let Some(p) = Podman::new() else { return };
    let s = Store::new();
    s.base();
    let work = Scratch::new("berth-interop-");
    for format in ["oci", "docker"] {
        let f = saved(&s, work.path(), format);
        let out = must(p.cmd().arg("load").arg("-i").arg(&f));
        assert!(out.contains("busybox"), "{out}");
    }
    let images = must(
        p.cmd()
            .args(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]),
    );
    assert!(images.contains("busybox:latest"), "{images}");
    let id = s.id_of("busybox");
    assert!(
        images.contains(&id.trim_start_matches("sha256:")[..12]),
        "{images}"
    );
    // Running needs a container runtime podman can use here; when it has
    // none, what it listed is the proof.
    let run = sh(p.cmd().args([
        "run",
        "--rm",
        "--network",
        "none",
        "--ulimit",
        "host",
        "busybox",
        "cat",
        "/etc/group",
    ]));
    if run.status.success() {
        assert!(String::from_utf8_lossy(&run.stdout).starts_with("root:x:0:"));
    } else {
        eprintln!("NOTICE: podman run does not work here:\n{}", text(&run));
    }
}

#[test]
fn we_load_what_podman_saves() {
    let Some(p) = Podman::new() else { return };
    let s = Store::new();
    s.base();
    let work = Scratch::new("berth-interop-");
    let ours = saved(&s, work.path(), "oci");
    must(p.cmd().arg("load").arg("-i").arg(&ours));
    let name = must(
        p.cmd()
            .args(["images", "--format", "{{.Repository}}:{{.Tag}}"]),
    );
    let name = name.lines().next().unwrap().to_string();
    for format in ["oci-archive", "docker-archive"] {
        let f = work.join(&format!("podman-{format}.tar"));
        must(
            p.cmd()
                .args(["save", "--format", format, "-o"])
                .arg(&f)
                .arg(&name),
        );
        let fresh = Store::new();
        let out = fresh.ok(&["load", "-i", f.to_str().unwrap()]);
        assert!(out.starts_with("Loaded image"), "{out}");
        let listed = fresh.ok(&["images", "-q"]);
        assert_eq!(listed.lines().count(), 1, "{out}\n{listed}");
        let id = listed.trim().to_string();
        let (o, e, code) = fresh.run_image(&id, Some(&["cat", "/etc/group"]));
        assert!(code == 0 && o.starts_with("root:x:0:"), "{format}: {o}{e}");
    }
}

#[test]
fn skopeo_reads_our_store_and_archive() {
    let Some(skopeo) = tool("skopeo") else { return };
    let s = Store::new();
    s.base();
    let digest = s.inspect("busybox")["Descriptor"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let store = format!("oci:{}:busybox:latest", s.root().display());
    let out = must(isolated(&skopeo).args(["inspect", &store]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["Digest"], digest.as_str(), "{out}");
    assert_eq!(v["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(v["Os"], "linux");

    let work = Scratch::new("berth-interop-");
    let f = saved(&s, work.path(), "oci");
    let out = must(isolated(&skopeo).args(["inspect", &format!("oci-archive:{}", f.display())]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["Digest"], digest.as_str(), "{out}");
    let cfg = must(isolated(&skopeo).args(["inspect", "--config", &store]));
    let c: serde_json::Value = serde_json::from_str(&cfg).unwrap();
    assert_eq!(c["config"]["Cmd"], serde_json::json!(["sh"]));
}

#[test]
fn we_load_what_skopeo_copies() {
    let Some(skopeo) = tool("skopeo") else { return };
    let s = Store::new();
    s.base();
    let work = Scratch::new("berth-interop-");
    let src = format!("oci:{}:busybox:latest", s.root().display());
    let dock = work.join("skopeo-docker.tar");
    let dst = format!("docker-archive:{}:copied/box:v1", dock.display());
    must(isolated(&skopeo).args(["copy", &src, &dst]));
    loads_and_runs(&dock, "copied/box:v1");
    let oci = work.join("skopeo-oci.tar");
    let dst = format!("oci-archive:{}:copied/box:v2", oci.display());
    must(isolated(&skopeo).args(["copy", &src, &dst]));
    loads_and_runs(&oci, "copied/box:v2");
}

#[test]
fn buildah_reads_our_oci_archive() {
    let Some(buildah) = tool("buildah") else {
        return;
    };
    let s = Store::new();
    s.base();
    let work = Scratch::new("berth-buildah-");
    let f = saved(&s, work.path(), "oci");
    let cmd = || {
        let mut c = isolated(&buildah);
        c.arg("--root")
            .arg(work.join("root"))
            .arg("--runroot")
            .arg(work.join("run"))
            .args(["--storage-driver", "vfs"]);
        c
    };
    let ctr = must(
        cmd()
            .arg("from")
            .arg(format!("oci-archive:{}", f.display())),
    );
    let ctr = ctr.trim().lines().last().unwrap().to_string();
    let mnt = must(cmd().args(["mount", &ctr]));
    let mnt = PathBuf::from(mnt.trim());
    let group = fs::read_to_string(mnt.join("etc/group"));
    let _ = sh(cmd().args(["umount", &ctr]));
    let _ = sh(cmd().args(["rm", &ctr]));
    assert!(group.unwrap().starts_with("root:x:0:"));
}

#[test]
fn umoci_unpacks_our_store() {
    let Some(umoci) = tool("umoci") else { return };
    let s = Store::new();
    s.base();
    let work = Scratch::new("berth-umoci-");
    let bundle = work.join("bundle");
    let image = format!("{}:busybox:latest", s.root().display());
    must(
        Command::new(&umoci)
            .args(["unpack", "--image", &image])
            .arg(&bundle),
    );
    assert!(bundle.join("rootfs/bin/busybox").is_file());
    assert!(bundle.join("config.json").is_file());
}

/// A dockerd of its own: data root, exec root, pidfile and socket under a
/// tempdir; killed (and its mounts undone) on drop.
struct Dockerd {
    child: Child,
    sock: String,
    docker: PathBuf,
    dir: Scratch,
}

impl Dockerd {
    fn start() -> Option<Dockerd> {
        let dockerd = tool("dockerd")?;
        let docker = tool("docker")?;
        let dir = Scratch::new("berth-dockerd-");
        let sock = format!("unix://{}", dir.join("d.sock").display());
        let log = fs::File::create(dir.join("dockerd.log")).unwrap();
        let conf = dir.join("daemon.json");
        fs::write(&conf, "{}").unwrap();
        let child = isolated(&dockerd)
            .arg("--config-file")
            .arg(&conf)
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("d.pid"))
            .args(["-H", &sock, "--bridge=none", "--iptables=false"])
            .args(["--ip6tables=false", "--storage-driver", "vfs"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn dockerd");
        let d = Dockerd {
            child,
            sock,
            docker,
            dir,
        };
        d.wait_ready();
        Some(d)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if sh(self.cmd().arg("version")).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let log = fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        panic!("dockerd did not come up in 60s:\n{log}");
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.docker);
        c.args(["-H", &self.sock]);
        c.env("DOCKER_CONFIG", self.dir.join("cli"));
        c
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SIGTERM first: dockerd stops its containerd on the way out.
        // SAFETY: a signal to the child we spawned and have not reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn docker_loads_ours_and_we_load_what_docker_saves() {
    let Some(d) = Dockerd::start() else { return };
    let s = Store::new();
    s.base();
    let work = Scratch::new("berth-interop-");
    let f = saved(&s, work.path(), "docker");
    let out = must(d.cmd().arg("load").arg("-i").arg(&f));
    assert!(out.contains("Loaded image: busybox:latest"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&must(d.cmd().args(["image", "inspect", "busybox"]))).unwrap();
    assert_eq!(v[0]["Id"], s.id_of("busybox").as_str());
    assert_eq!(v[0]["Config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(
        v[0]["RootFS"]["Layers"],
        s.inspect("busybox")["RootFS"]["Layers"]
    );
    must(d.cmd().args(["tag", "busybox", "fromdocker:v1"]));
    let back = work.join("docker-saved.tar");
    must(
        d.cmd()
            .arg("save")
            .arg("-o")
            .arg(&back)
            .arg("fromdocker:v1"),
    );
    loads_and_runs(&back, "fromdocker:v1");
}
