//! The attached side of a container, shared by `run` (without -d),
//! `start -a` and `attach`: output frames to stdout/stderr, stdin to the
//! container (raw mode with -t, detach keys), window size changes, and the
//! caller's signals passed on; the container's exit code at the end.

use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};

use super::{Ctx, Outcome};
use crate::proto::{self, Kind};

#[derive(Args)]
pub struct AttachArgs {
    /// Do not attach stdin.
    #[arg(long)]
    no_stdin: bool,
    /// Keys that detach: ctrl-<x>, letters, comma-separated.
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    detach_keys: String,
    /// Pass the signals this command gets to the container.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    sig_proxy: bool,
    container: String,
}

pub struct Options {
    pub stdin: bool,
    pub tty: bool,
    pub detach_keys: Vec<u8>,
    pub sig_proxy: bool,
}

/// docker's --detach-keys: `ctrl-p,ctrl-q`, `a`, `ctrl-@`, `ctrl-[`.
pub fn parse_keys(s: &str) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    for k in s.split(',') {
        let b = k.as_bytes();
        match b {
            [c] => out.push(*c),
            _ if k.starts_with("ctrl-") && k.len() == 6 => {
                let c = k.as_bytes()[5].to_ascii_lowercase();
                match c {
                    b'a'..=b'z' => out.push(c - b'a' + 1),
                    b'@' => out.push(0),
                    b'[' => out.push(27),
                    b'\\' => out.push(28),
                    b']' => out.push(29),
                    b'^' => out.push(30),
                    b'_' => out.push(31),
                    _ => bail!("invalid detach keys {s:?}: unknown key {k:?}"),
                }
            }
            _ => bail!("invalid detach keys {s:?}: unknown key {k:?}"),
        }
    }
    Ok(out)
}

pub fn attach(ctx: &Ctx, a: AttachArgs) -> Outcome {
    let id = ctx.root.resolve(&a.container)?;
    let r = ctx.root.record(&id)?;
    let s = crate::records::state::observe(&ctx.root, &id, ctx.root.state(&id)?);
    if s.status != crate::records::Status::Running {
        bail!("You cannot attach to a stopped container, start it first");
    }
    let dir = ctx.root.dir(&id);
    let sock = crate::monitor::connect(&dir).map_err(|e| {
        anyhow!(
            "cannot attach to {}: its monitor is gone ({e})",
            a.container
        )
    })?;
    let opts = Options {
        stdin: r.config.open_stdin && !a.no_stdin,
        tty: r.config.tty,
        detach_keys: parse_keys(&a.detach_keys)?,
        sig_proxy: a.sig_proxy && !r.config.tty,
    };
    hello(&sock, &opts)?;
    stream(sock, &opts)
}

/// Says "attach" (with stdin or not) and the window size.
pub fn hello(sock: &UnixStream, o: &Options) -> anyhow::Result<()> {
    let mut s = sock;
    proto::write_frame(&mut s, Kind::Attach, if o.stdin { b"i" } else { b"" })?;
    if o.tty {
        if let Some((rows, cols)) = window_size() {
            proto::write_frame(&mut s, Kind::Resize, &resize_payload(rows, cols))?;
        }
    }
    Ok(())
}

pub fn resize_payload(rows: u16, cols: u16) -> [u8; 4] {
    let (r, c) = (rows.to_le_bytes(), cols.to_le_bytes());
    [r[0], r[1], c[0], c[1]]
}

/// The caller's terminal size, when stdin is a terminal.
pub fn window_size() -> Option<(u16, u16)> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills a winsize we own.
    let r = unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_row > 0).then_some((ws.ws_row, ws.ws_col))
}

/// Puts the terminal in raw mode; restores it on drop.
struct Raw {
    saved: Option<Termios>,
}

impl Raw {
    fn enter(tty: bool) -> Raw {
        // SAFETY: fd 0 outlives this value.
        let fd = unsafe { BorrowedFd::borrow_raw(0) };
        let saved = if tty {
            termios::tcgetattr(fd).ok()
        } else {
            None
        };
        if let Some(t) = &saved {
            let mut raw = t.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(fd, SetArg::TCSANOW, &raw);
        }
        Raw { saved }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            // SAFETY: fd 0 is still open.
            let fd = unsafe { BorrowedFd::borrow_raw(0) };
            let _ = termios::tcsetattr(fd, SetArg::TCSANOW, t);
        }
    }
}

/// Streams until the container exits (its code) or the caller detaches (0).
pub fn stream(sock: UnixStream, o: &Options) -> Outcome {
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGWINCH,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        mask.add(s);
    }
    mask.thread_block().context("blocking signals")?;
    let sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .context("signalfd")?;
    let term_in = o.tty && unsafe { libc::isatty(0) } == 1;
    let _raw = Raw::enter(term_in);
    let mut stdin_open = o.stdin;
    let mut inbuf = Vec::new();
    let mut matched = 0usize;
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr();
    let mut w = &sock;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: sock.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sigfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: poll over three pollfds we own.
        if unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) } < 0 {
            continue;
        }
        if fds[0].revents != 0 {
            let mut buf = [0u8; 256 * 1024];
            let n = crate::monitor::read_fd(sock.as_raw_fd(), &mut buf)?;
            if n == 0 {
                bail!("the container's monitor went away");
            }
            inbuf.extend_from_slice(&buf[..n]);
            for (kind, payload) in proto::take_frames(&mut inbuf)? {
                match kind {
                    Kind::Stdout => {
                        out.write_all(&payload)?;
                        out.flush()?;
                    }
                    Kind::Stderr => err.write_all(&payload)?,
                    Kind::Exit => return Ok(proto::u32_at(&payload, 0) as i32),
                    Kind::Error => bail!("{}", String::from_utf8_lossy(&payload)),
                    _ => {}
                }
            }
        }
        if fds[1].revents != 0 {
            while let Ok(Some(info)) = sigfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGWINCH {
                    if let Some((r, c)) = window_size() {
                        proto::write_frame(&mut w, Kind::Resize, &resize_payload(r, c))?;
                    }
                } else if o.sig_proxy {
                    proto::write_frame(&mut w, Kind::Kill, &(sig as u32).to_le_bytes())?;
                }
            }
        }
        if fds[2].revents != 0 {
            let mut buf = [0u8; 64 * 1024];
            let n = crate::monitor::read_fd(0, &mut buf).unwrap_or(0);
            if n == 0 {
                stdin_open = false;
                proto::write_frame(&mut w, Kind::StdinEof, b"")?;
                continue;
            }
            let (send, detach) = scan_detach(&buf[..n], &o.detach_keys, &mut matched);
            if !send.is_empty() {
                proto::write_frame(&mut w, Kind::Stdin, &send)?;
            }
            if detach {
                drop(_raw);
                eprintln!("read escape sequence");
                return Ok(0);
            }
        }
    }
}

/// Passes stdin through, holding back what may be the start of the detach
/// sequence; true once the whole sequence was typed.
pub fn scan_detach(data: &[u8], keys: &[u8], matched: &mut usize) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(data.len());
    if keys.is_empty() {
        out.extend_from_slice(data);
        return (out, false);
    }
    for &b in data {
        if b == keys[*matched] {
            *matched += 1;
            if *matched == keys.len() {
                *matched = 0;
                return (out, true);
            }
            continue;
        }
        // Not the sequence after all: what was held goes through.
        out.extend_from_slice(&keys[..*matched]);
        *matched = 0;
        if b == keys[0] {
            *matched = 1;
        } else {
            out.push(b);
        }
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_and_match() {
        assert_eq!(parse_keys("ctrl-p,ctrl-q").unwrap(), [16, 17]);
        assert_eq!(parse_keys("a,ctrl-[").unwrap(), [b'a', 27]);
        assert!(parse_keys("ctrl-").is_err());
        let keys = [16u8, 17];
        let mut m = 0;
        assert_eq!(
            scan_detach(b"ab\x10", &keys, &mut m),
            (b"ab".to_vec(), false)
        );
        assert_eq!(scan_detach(b"c", &keys, &mut m), (b"\x10c".to_vec(), false));
        assert_eq!(
            scan_detach(b"x\x10\x11y", &keys, &mut m),
            (b"x".to_vec(), true)
        );
    }
}
