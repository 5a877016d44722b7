//! Runtime spec: process.terminal with runc's `--console-socket` protocol: the runtime sends
//! the pty master over a unix socket with SCM_RIGHTS.

use serde_json::json;
use spec_tests::*;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixListener;
use std::time::Duration;

/// Accept one connection and receive one fd via SCM_RIGHTS.
fn receive_fd(listener: &UnixListener) -> OwnedFd {
    let (stream, _) = listener
        .accept()
        .expect("runtime never connected to the console socket");
    let mut data = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // room for one fd
    let mut cmsg = [0u64; 8];
    // SAFETY: msghdr is plain data; every pointer refers to live local buffers.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cmsg) as _;
        let n = libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
        assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
        let c = libc::CMSG_FIRSTHDR(&msg);
        assert!(!c.is_null(), "no control message on the console socket");
        assert_eq!((*c).cmsg_level, libc::SOL_SOCKET);
        assert_eq!((*c).cmsg_type, libc::SCM_RIGHTS);
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const i32);
        OwnedFd::from_raw_fd(fd)
    }
}

#[test]
fn terminal_true_gives_the_process_a_tty() {
    let mut c = Container::new("tty");
    c.config["process"]["terminal"] = json!(true);
    c.checker_args(&["stat", "/dev/console", "read", "/proc/self/stat"]);
    let sock = c.host_dir().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || receive_fd(&listener));
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
