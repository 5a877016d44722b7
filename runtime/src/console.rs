//! process.terminal: the init makes a pty inside the container and hands the
//! master to the caller over --console-socket with SCM_RIGHTS, as runc does.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::MsFlags;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use nix::sys::stat::Mode;

use crate::error::Context;
use crate::{Error, Result};

/// Connects to the caller's console socket (before any namespace changes).
pub fn connect(path: &Path) -> Result<OwnedFd> {
    let s = UnixStream::connect(path)
        .map_err(|e| Error::io(format!("--console-socket {}", path.display()), e))?;
    Ok(s.into())
}

pub fn send_fd(sock: RawFd, name: &str, fd: RawFd) -> Result<()> {
    let fds = [fd];
    let iov = [IoSlice::new(name.as_bytes())];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(sock, &iov, &cmsg, MsgFlags::empty(), None)
        .map(drop)
        .ctx(|| "send pty master over the console socket".into())
}

pub fn recv_fd(sock: RawFd) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .ctx(|| "receive pty master".into())?;
    for c in msg.cmsgs().ctx(|| "console socket message".into())? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                // SAFETY: the kernel just installed this fd for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(Error::Other("console socket: no fd received".into()))
}

/// In the init, after pivot_root: creates the pty, sends its master to the
/// socket, makes the slave /dev/console and the controlling terminal on 0-2.
pub fn setup(socket: OwnedFd, size: Option<(u16, u16)>, is_console: bool) -> Result<()> {
    let master = open(
        "/dev/ptmx",
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /dev/ptmx (is /dev/pts mounted?)".into())?;
    // SAFETY: open returned a fresh fd we now own.
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    // SAFETY: unlockpt and TIOCGPTPEER on a pty master we own.
    let slave = unsafe {
        let mut unlock: libc::c_int = 0;
        Errno::result(libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCSPTLCK,
            &mut unlock,
        ))
        .ctx(|| "unlock pty".into())?;
        Errno::result(libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY,
        ))
        .ctx(|| "open pty peer".into())?
    };
    // SAFETY: TIOCGPTPEER returned a fresh fd.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    let name = nix::unistd::ttyname(&slave).ctx(|| "pty name".into())?;
    if let Some((rows, cols)) = size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a valid winsize.
        Errno::result(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) })
            .ctx(|| "process.consoleSize".into())?;
    }
    send_fd(
        socket.as_raw_fd(),
        &name.to_string_lossy(),
        master.as_raw_fd(),
    )?;
    drop(master);
    drop(socket);
    if is_console {
        bind_console(&name)?;
    }
    for target in 0..=2 {
        nix::unistd::dup2(slave.as_raw_fd(), target).ctx(|| format!("dup pty onto fd {target}"))?;
    }
    // SAFETY: TIOCSCTTY on our stdin, which is now the pty slave.
    Errno::result(unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) })
        .ctx(|| "make the pty the controlling terminal".into())?;
    Ok(())
}

fn bind_console(pts: &Path) -> Result<()> {
    let console = Path::new("/dev/console");
    if !console.exists() {
        std::fs::File::create(console).ctx(|| "create /dev/console".into())?;
    }
    crate::rootfs::mount(Some(pts), console, None, MsFlags::MS_BIND, None)
}
