//! docker as the reference for formats: the same image and command under a
//! dockerd of the test's own and under the shim, compared field by field.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{can_run, text, Env};
use serde_json::Value;

/// dockerd on its own data root and socket, in a private mount namespace
/// (tmpfs over /run, /var/lib and /etc/docker); killed on drop.
struct Dockerd {
    child: Child,
    sock: String,
    dir: tempfile::TempDir,
}

impl Dockerd {
    fn start() -> Option<Dockerd> {
        let found = |b: &str| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join(b))
                .find(|p| p.is_file())
        };
        if found("dockerd").is_none() || found("docker").is_none() {
            eprintln!("skipping: docker.io is not installed (make deps installs it)");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("berth-shim-dockerd-")
            .tempdir()
            .unwrap();
        let d = |p: &str| dir.path().join(p).display().to_string();
        std::fs::write(d("daemon.json"), "{}").unwrap();
        let sock = format!("unix://{}", d("d.sock"));
        let log = std::fs::File::create(d("dockerd.log")).unwrap();
        let script = "for d in /run /var/lib /etc/docker; do \
            [ -d $d ] && { mount -t tmpfs berth-test $d || exit 125; }; done; exec dockerd \"$@\"";
        let child = Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "dockerd",
            ])
            .args([
                "--config-file",
                &d("daemon.json"),
                "--data-root",
                &d("data"),
            ])
            .args([
                "--exec-root",
                &d("exec"),
                "--pidfile",
                &d("d.pid"),
                "-H",
                &sock,
            ])
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            .args(["--storage-driver", "vfs"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn dockerd");
        let me = Dockerd { child, sock, dir };
        let until = Instant::now() + Duration::from_secs(60);
        while !me.cmd().arg("version").output().unwrap().status.success() {
            assert!(
                Instant::now() < until,
                "dockerd did not come up: {}",
                me.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(me)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("docker");
        c.args(["-H", &self.sock])
            .env("DOCKER_CONFIG", self.dir.path().join("cli"))
            .stdin(Stdio::null());
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(out.status.success(), "docker {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let _ = self.cmd().args(["rm", "-f", "ref"]).output();
        // SAFETY: a signal to the child we spawned and have not reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The keys of the object at `path` that docker has and we lack.
fn missing(docker: &Value, ours: &Value, path: &[&str]) -> Vec<String> {
    let at = |v: &Value| path.iter().fold(v.clone(), |v, k| v[*k].clone());
    let (d, o) = (at(docker), at(ours));
    let keys = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>());
    let ours = keys(&o).unwrap_or_default();
    keys(&d)
        .expect("docker's field is an object")
        .into_iter()
        .filter(|k| !ours.contains(k))
        .collect()
}

#[test]
fn ps_and_inspect_have_dockers_fields_and_formats() {
    if !can_run() {
        return;
    }
    let Some(docker) = Dockerd::start() else {
        return;
    };
    let env = Env::new();
    let store = berth_builder::store::Store::open(&env.store()).unwrap();
    let img = store.resolve("bb").unwrap();
    let tar = env.dir.path().join("bb-docker.tar");
    berth_builder::archive::save(
        &store,
        &[(img, vec!["bb:latest".into()])],
        berth_builder::archive::Format::Docker,
        &tar,
    )
    .unwrap();
    docker.ok(&["load", "-i", tar.to_str().unwrap()]);
    let args = ["--name", "ref", "bb", "sh", "-c", "exit 3"];
    let mut run = vec!["run", "--network", "none"];
    run.extend(args);
    let theirs = docker.cmd().args(&run).output().unwrap();
    let ours = env.run(&[&["run"][..], &args].concat());
    assert_eq!(theirs.status.code(), Some(3), "{}", text(&theirs));
    assert_eq!(ours.status.code(), Some(3), "{}", text(&ours));

    // ps --format json: the same keys, and the same values where they do not
    // depend on the id or the clock.
    let d: Value = serde_json::from_str(&docker.ok(&["ps", "-a", "--format", "json"])).unwrap();
    let o: Value = serde_json::from_str(&env.ok(&["ps", "-a", "--format", "json"])).unwrap();
    let (dk, ok) = (d.as_object().unwrap(), o.as_object().unwrap());
    assert_eq!(
        dk.keys().collect::<Vec<_>>(),
        ok.keys().collect::<Vec<_>>(),
        "ps --format json keys"
    );
    for k in [
        "Command",
        "Image",
        "Labels",
        "LocalVolumes",
        "Mounts",
        "Names",
        "Networks",
    ] {
        assert_eq!(dk[k], ok[k], "ps field {k}");
    }
    for k in ["Platform", "Ports", "Size", "State"] {
        assert_eq!(dk[k], ok[k], "ps field {k}");
    }
    assert!(
        ok["Status"].as_str().unwrap().starts_with("Exited (3) "),
        "{o}"
    );
    let shape = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii_digit() { '0' } else { c })
            .collect::<String>()
    };
    assert_eq!(
        shape(dk["CreatedAt"].as_str().unwrap()),
        shape(ok["CreatedAt"].as_str().unwrap()),
        "CreatedAt"
    );
    // The table: docker's header, column for column.
    let header = |s: String| {
        s.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        header(docker.ok(&["ps", "-a"])),
        header(env.ok(&["ps", "-a"]))
    );

    // inspect: every field docker shows is there, of the same JSON type.
    let d: Value = serde_json::from_str(&docker.ok(&["inspect", "ref"])).unwrap();
    let o: Value = serde_json::from_str(&env.ok(&["inspect", "ref"])).unwrap();
    let (d, o) = (&d[0], &o[0]);
    for path in [&[][..], &["State"], &["Config"], &["HostConfig"]] {
        assert_eq!(
            missing(d, o, path),
            Vec::<String>::new(),
            "inspect {path:?}"
        );
    }
    for k in [
        "Status",
        "Running",
        "Paused",
        "Restarting",
        "OOMKilled",
        "Dead",
        "ExitCode",
        "Error",
    ] {
        assert_eq!(d["State"][k], o["State"][k], "State.{k}");
    }
    for k in [
        "Cmd",
        "Env",
        "Tty",
        "OpenStdin",
        "AttachStdout",
        "AttachStdin",
        "StdinOnce",
        "User",
    ] {
        assert_eq!(d["Config"][k], o["Config"][k], "Config.{k}");
    }
    assert_eq!(d["Path"], o["Path"]);
    assert_eq!(d["Args"], o["Args"]);
    assert_eq!(d["Name"], o["Name"]);
    assert_eq!(d["Image"], o["Image"], "the image id");
    // -f templates read the same.
    for f in [
        "{{.State.ExitCode}}",
        "{{.Name}}",
        "{{.Config.Cmd}}",
        "{{.State.Status}}",
    ] {
        assert_eq!(
            docker.ok(&["inspect", "-f", f, "ref"]),
            env.ok(&["inspect", "-f", f, "ref"]),
            "{f}"
        );
    }
}
