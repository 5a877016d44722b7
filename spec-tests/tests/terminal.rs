//! Runtime spec: process.terminal with runc's `--console-socket` protocol: the runtime sends
//! the pty master over a unix socket with SCM_RIGHTS.

use serde_json::json;
use spec_tests::*;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixListener;
use std::time::Duration;

#[test]
fn terminal_true_gives_the_process_a_tty() {
    let mut c = Container::new("tty");
    c.config["process"]["terminal"] = json!(true);
    c.checker_args(&["stat", "/dev/console", "read", "/proc/self/stat"]);
    let sock = c.host_dir().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || accept_fd(&listener).1);
    c.create_with(
        &["--console-socket", sock.to_str().unwrap()],
        Spawn::default(),
    )
    .assert_ok();
    let master = receiver.join().expect("receiver thread");
    // the received fd is a pty master
    let target = std::fs::read_link(format!("/proc/self/fd/{}", master.as_raw_fd())).unwrap();
    // (/dev/ptmx, or the container's devpts instance's /dev/pts/ptmx)
    assert!(
        target.to_str().unwrap().ends_with("ptmx"),
        "not a pty master: {target:?}"
    );
    c.start().assert_ok();
    let out = read_to_end_fd(&master, Duration::from_secs(15));
    let text = String::from_utf8_lossy(&out);
    let r = parse_last_json(&text).unwrap_or_else(|| panic!("no report on the tty: {text:?}"));
    assert_eq!(
        r["tty"],
        json!({"stdin": true, "stdout": true, "stderr": true}),
        "{}",
        brief(&r)
    );
    for fd in &r["fds"].as_array().unwrap()[..3] {
        assert!(
            fd["target"].as_str().unwrap().starts_with("/dev/pts/"),
            "{fd}"
        );
    }
    // /dev/console is the container's pty (a devpts char device, major 136)
    let con = probe(&r, 0);
    assert_eq!(con["type"], "char", "{con}");
    assert_eq!(con["major"], 136, "{con}");
    // the tty is the controlling terminal: field 7 (tty_nr) of /proc/self/stat is non-zero
    let stat = probe(&r, 1)["content"].as_str().unwrap().to_string();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let tty_nr: i64 = after.split(' ').nth(4).unwrap().parse().unwrap();
    assert_ne!(tty_nr, 0, "no controlling terminal: {stat}");
    c.wait_status("stopped", 10);
}

#[test]
fn terminal_false_has_no_tty() {
    let mut c = Container::new("notty");
    let r = c.check(&[]);
    assert_eq!(
        r["tty"],
        json!({"stdin": false, "stdout": false, "stderr": false})
    );
}

#[test]
fn terminal_without_console_socket_on_create_fails() {
    // runc: "cannot allocate tty if runc will detach without setting console socket"
    let mut c = Container::new("tty-nosock");
    c.config["process"]["terminal"] = json!(true);
    let o = c.create();
    o.assert_fail();
    assert!(!c.has_state_dir(), "{o}");
}
