//! Starting a monitor from a client (`run`, `start`, `restart`): the monitor
//! is detached (setsid, then a second fork, so it belongs to no caller's
//! session or process tree) and reports on a pipe whether the container
//! started; that report is the client's answer.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// The fds a monitor finds its report pipe and its first client on.
pub const SYNC_FD: RawFd = 3;
pub const ATTACH_FD: RawFd = 4;

fn dup_high(fd: RawFd) -> std::io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new fd we then own.
    let n = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: n is a fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(n) })
}

fn pipe() -> std::io::Result<(File, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds are fresh and ours.
    unsafe { Ok((File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

/// Starts the monitor of container `id` and waits for its report: Ok once
/// the container runs, Err with the runtime's one-line error otherwise.
/// `attach` becomes the monitor's first attached client.
pub fn spawn(
    root: &Path,
    id: &str,
    runtime: &Path,
    attach: Option<OwnedFd>,
    winsize: Option<(u16, u16)>,
) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("finding the shim binary: {e}"))?;
    let (mut report, low) = pipe().map_err(|e| format!("pipe: {e}"))?;
    let w = dup_high(low.as_raw_fd()).map_err(|e| format!("dup: {e}"))?;
    // Our copies of the write end must all close for the report to end.
    drop(low);
    let a = match &attach {
        Some(a) => Some(dup_high(a.as_raw_fd()).map_err(|e| format!("dup: {e}"))?),
        None => None,
    };
    let (wfd, afd) = (w.as_raw_fd(), a.as_ref().map(|a| a.as_raw_fd()));
    let mut cmd = Command::new(exe);
    cmd.arg("monitor")
        .arg("--root")
        .arg(root)
        .arg("--runtime")
        .arg(runtime);
    if afd.is_some() {
        cmd.arg("--attach");
    }
    if let Some((rows, cols)) = winsize {
        cmd.arg("--winsize").arg(format!("{rows},{cols}"));
    }
    cmd.arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::dup2(wfd, SYNC_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(a) = afd {
                if libc::dup2(a, ATTACH_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            // The second fork: the monitor is nobody's child but init's
            // (or the nearest subreaper's) once this one exits.
            match libc::fork() {
                -1 => Err(std::io::Error::last_os_error()),
                0 => Ok(()),
                _ => libc::_exit(0),
            }
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting the monitor: {e}"))?;
    let _ = child.wait();
    drop(cmd);
    drop((w, a, attach));
    let mut text = String::new();
    let _ = report.read_to_string(&mut text);
    match text
        .trim_end()
        .split_once(' ')
        .unwrap_or((text.trim_end(), ""))
    {
        ("ok", _) => Ok(()),
        ("error", msg) if !msg.is_empty() => Err(msg.to_string()),
        _ => Err(format!(
            "the container's monitor ended before the container started (see {})",
            root.join("containers")
                .join(id)
                .join("monitor.log")
                .display()
        )),
    }
}
