//! `run`: create + start, then (unless --detach) wait for the container,
//! forwarding signals and, for a terminal without --console-socket,
//! proxying the pty; the container's exit status becomes ours.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::create::{create_loaded, CreateOpts};
use crate::error::Context;
use crate::hooks::Kind;
use crate::spec::Bundle;
use crate::state::Status;
use crate::{console, Error, Result};

pub struct RunOpts {
    pub create: CreateOpts,
    pub detach: bool,
    pub keep: bool,
}

/// Returns the exit code for the runtime process.
pub fn run(mut opts: RunOpts) -> Result<i32> {
    let (root, id) = (opts.create.root.clone(), opts.create.id.clone());
    crate::state::validate_id(&id)?;
    let bundle = Bundle::load(&opts.create.bundle)?;
    let terminal = bundle.spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    // run -t without a socket: we are the receiving end of our own pair.
    let mut own_console: Option<OwnedFd> = None;
    let no_socket = opts.create.console.is_none() && opts.create.console_socket.is_none();
    if no_socket && !opts.detach && terminal {
        let (ours, theirs) =
            std::os::unix::net::UnixStream::pair().ctx(|| "console socketpair".into())?;
        own_console = Some(ours.into());
        opts.create.console = Some(theirs.into());
    }
    let mut created = create_loaded(opts.create, bundle)?;
    let master = match &own_console {
        Some(sock) => Some(console::recv_fd(sock.as_raw_fd())?),
        None => None,
    };
    match created.start.take() {
        Some(pipe) => {
            let poststart = Kind::Poststart.of(created.bundle.spec.hooks());
            super::start::start_through(pipe, &created.state, &poststart)?
        }
        None => super::start::start_loaded(&created.dir, &created.state, Status::Created)?,
    }
    if opts.detach {
        return Ok(0);
    }
    crate::logging::step("started");
    let pid = created.state.pid;
    drop(created);
    let code = wait(pid, master)?;
    crate::logging::step("exited");
    if !opts.keep {
        super::delete::delete(&root, &id, true)?;
        crate::logging::step("deleted");
    }
    Ok(code)
}

const FORWARDED: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
    Signal::SIGTSTP,
];

/// How long a container runs before the waiting `run` drops its code pages.
const RELEASE_AFTER_MS: libc::c_int = 100;

/// Waits for our child `pid`, forwarding signals and proxying a pty master.
pub fn wait(pid: i32, master: Option<OwnedFd>) -> Result<i32> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    for s in FORWARDED {
        mask.add(*s);
    }
    mask.thread_block().ctx(|| "block signals".into())?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).ctx(|| "signalfd".into())?;
    let _raw = master.as_ref().map(RawTerminal::enter);
    let mut released = false;
    loop {
        if let Some(code) = reap(pid)? {
            return Ok(code);
        }
        let mut fds = vec![libc::pollfd {
            fd: sfd.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if let Some(m) = &master {
            for fd in [0, m.as_raw_fd()] {
                fds.push(libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
        }
        let timeout = if released { -1 } else { RELEASE_AFTER_MS };
        // SAFETY: poll on a valid array of pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n == 0 && !released {
            // Still running: wait holding only what waiting needs. Not at
            // once: the code dropped would fault back in for the delete of a
            // container that ends within moments (most RUN steps, probes).
            crate::resident::release_code();
            // SAFETY: malloc_trim only returns free heap memory to the kernel.
            unsafe { libc::malloc_trim(0) };
            released = true;
        }
        if n <= 0 {
            continue;
        }
        if fds[0].revents & libc::POLLIN != 0 {
            if let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig != libc::SIGCHLD {
                    // SAFETY: kill with a plain pid and signal number.
                    unsafe { libc::kill(pid, sig) };
                }
            }
        }
        if let Some(m) = &master {
            if fds[1].revents & libc::POLLIN != 0 {
                copy(0, m.as_raw_fd());
            }
            if fds[2].revents & (libc::POLLIN | libc::POLLHUP) != 0 && !copy(m.as_raw_fd(), 1) {
                // The pty closed: the container is exiting; wait for it.
                let code = waitpid(Pid::from_raw(pid), None).ctx(|| "wait".into())?;
                return Ok(exit_code(code));
            }
        }
    }
}

fn reap(pid: i32) -> Result<Option<i32>> {
    match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) => Ok(None),
        Ok(s) => Ok(Some(exit_code(s))),
        Err(e) => Err(Error::sys("wait for the container", e)),
    }
}

fn exit_code(s: WaitStatus) -> i32 {
    match s {
        WaitStatus::Exited(_, c) => c,
        WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
        _ => 255,
    }
}

/// Copies what is readable now; false on EOF or error.
fn copy(from: i32, to: i32) -> bool {
    let mut buf = [0u8; 8192];
    // SAFETY: read/write on valid fds with a valid buffer.
    let n = unsafe { libc::read(from, buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return false;
    }
    let mut off = 0;
    while off < n as usize {
        // SAFETY: as above.
        let w = unsafe { libc::write(to, buf[off..].as_ptr().cast(), n as usize - off) };
        if w <= 0 {
            return false;
        }
        off += w as usize;
    }
    true
}

/// Our terminal in raw mode while proxying; restored on drop.
struct RawTerminal(Option<nix::sys::termios::Termios>);

impl RawTerminal {
    fn enter(master: &OwnedFd) -> RawTerminal {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let stdin = std::io::stdin();
        let Ok(orig) = tcgetattr(stdin.as_fd()) else {
            return RawTerminal(None);
        };
        // Give the pty our window size.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ/TIOCSWINSZ with a valid winsize.
        unsafe {
            if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0 {
                libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
            }
        }
        let mut raw = orig.clone();
        cfmakeraw(&mut raw);
        let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        RawTerminal(Some(orig))
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin().as_fd(),
                nix::sys::termios::SetArg::TCSANOW,
                t,
            );
        }
    }
}
