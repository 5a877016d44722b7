//! -t and attach through a real terminal (util-linux `script` gives the
//! shim a pty): the container's tty and window size, its exit code,
//! attach and the detach keys.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{can_run, Env};

fn shell_line(env: &Env, args: &str) -> String {
    format!(
        "{} --root {} --store {} --runtime {} {args}",
        common::shim_bin(),
        env.root().display(),
        env.store().display(),
        common::runtime().display()
    )
}

fn script(cmd: &str) -> Command {
    let mut c = Command::new("script");
    c.args(["-qefc", cmd, "/dev/null"]);
    c
}

#[test]
fn run_it_gives_a_terminal_and_the_exit_code() {
    if !can_run() || Command::new("script").arg("--version").output().is_err() {
        return;
    }
    let env = Env::new();
    let cmd = shell_line(
        &env,
        "run -it --name term bb sh -c 'tty; stty size; exit 5'",
    );
    let out = script(&format!("stty rows 33 cols 101; {cmd}"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/dev/pts/0"), "{text}");
    assert!(text.contains("33 101"), "the caller's window size: {text}");
    assert_eq!(out.status.code(), Some(5), "{text}");
    assert_eq!(env.inspect("term", "{{.State.ExitCode}}"), "5");
}

#[test]
fn attach_then_detach_keys_leave_it_running() {
    if !can_run() || Command::new("script").arg("--version").output().is_err() {
        return;
    }
    let env = Env::new();
    env.run_d(&["-it", "--name", "box", "bb", "sh"]);
    let mut child = script(&shell_line(&env, "attach box"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let end = Instant::now() + Duration::from_secs(20);
    stdin.write_all(b"echo hi$((40+2))\r").unwrap();
    while !String::from_utf8_lossy(&seen).contains("hi42") {
        assert!(
            Instant::now() < end,
            "no echo: {}",
            String::from_utf8_lossy(&seen)
        );
        if let Ok(b) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.extend(b);
        }
    }
    stdin.write_all(b"\x10\x11").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert_eq!(env.status("box"), "running");
    env.ok(&["rm", "-f", "box"]);
}
