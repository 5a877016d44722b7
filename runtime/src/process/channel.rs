//! The create handshake between the runtime (parent) and the container's init
//! (child), over a SOCK_SEQPACKET socketpair. The message enum is the
//! protocol; an error in the child crosses it as text and is printed as one line.
//!
//! ```text
//! parent                              child (init)
//!   clone ------------------------------> wait_go
//!   write id maps, join cgroup
//!   go(host pid) ----------------------->
//!   apply linux.resources                namespaces, mounts (in parallel)
//!   wait <------------------------------ idmap(i, fd)   } per idmapped
//!   MOUNT_ATTR_IDMAP on the init's fd                    } mount, in order
//!   go --------------------------------->               } (rootfs::idmap)
//!   go --------------------------------->
//!                                        device nodes
//!   wait <------------------------------ create_runtime_hooks
//!   prestart + createRuntime hooks
//!   go --------------------------------->
//!                                        createContainer hooks, pivot_root,
//!                                        console, user, caps ...
//!   wait <------------------------------ ready (blocks on exec.fifo)
//!   wait for EOF <---------------------- (with the trampoline: execs it,
//!                                         which blocks on exec.fifo)
//! ```

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

use crate::{Error, Result};

#[derive(Debug, PartialEq, Eq)]
pub enum Msg {
    /// Parent to child: carry on (the payload is the init's host pid the first time).
    Go(String),
    /// Child to parent: mounts[index]'s detached copy is our fd `fd`; set
    /// MOUNT_ATTR_IDMAP on it, then Go (rootfs::idmap).
    Idmap(usize, i32),
    /// Child to parent: mounts are done, run prestart and createRuntime hooks.
    CreateRuntimeHooks,
    /// Child to parent: set up, waiting on the exec FIFO.
    Ready,
    /// Either way: what failed, as one line.
    Error(String),
    /// The exec trampoline to the runtime that runs `exec`: execve of the
    /// program failed with this errno (written by runtime/trampoline).
    ExecFailed(i32),
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Msg {
    fn encode(&self) -> Vec<u8> {
        let idmap;
        let (tag, body) = match self {
            Msg::Go(s) => (b'g', s.as_str()),
            Msg::Idmap(i, fd) => {
                idmap = format!("{i} {fd}");
                (b'i', idmap.as_str())
            }
            Msg::CreateRuntimeHooks => (b'h', ""),
            Msg::Ready => (b'r', ""),
            Msg::Error(s) => (b'e', cut(s, MAX_MSG - 1)),
            Msg::ExecFailed(e) => return [&[b'x'][..], &e.to_ne_bytes()].concat(),
        };
        let mut v = Vec::with_capacity(1 + body.len());
        v.push(tag);
        v.extend_from_slice(body.as_bytes());
        v
    }

    fn decode(buf: &[u8]) -> Option<Msg> {
        let (tag, body) = buf.split_first()?;
        let body = String::from_utf8_lossy(body).into_owned();
        Some(match tag {
            b'g' => Msg::Go(body),
            b'i' => {
                let (i, fd) = body.split_once(' ')?;
                Msg::Idmap(i.parse().ok()?, fd.parse().ok()?)
            }
            b'h' => Msg::CreateRuntimeHooks,
            b'r' => Msg::Ready,
            b'e' => Msg::Error(body),
            b'x' => Msg::ExecFailed(i32::from_ne_bytes(buf.get(1..5)?.try_into().ok()?)),
            _ => return None,
        })
    }
}

pub struct Channel {
    fd: OwnedFd,
}

/// The longest message: errors are one line (cut to fit, see `encode`), the
/// rest a few bytes. Small enough to come from the heap's free chunks: a
/// 64 KB buffer grew and shrank the heap (brk) at every message.
const MAX_MSG: usize = 8192;

/// A connected pair: (parent's end, child's end). Both close on exec.
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::sys("sync socketpair", e))?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    pub fn send(&self, msg: &Msg) -> Result<()> {
        let data = msg.encode();
        // SAFETY: write from a valid buffer to an fd we own.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
        if n < 0 {
            return Err(Error::io("sync channel", std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Receives one message; the peer exiting reads as an error.
    pub fn recv(&self) -> Result<Msg> {
        // Not zeroed: the kernel writes what it delivers, and zeroing costs
        // page faults in a heap that fork made copy-on-write.
        let mut buf: Vec<u8> = Vec::with_capacity(MAX_MSG);
        loop {
            // SAFETY: read into the buffer's allocated capacity.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), MAX_MSG) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                // ECONNRESET: the peer exited leaving our message unread; the
                // error is reported once, and what it sent before is still queued.
                if e.kind() == std::io::ErrorKind::Interrupted
                    || e.raw_os_error() == Some(libc::ECONNRESET)
                {
                    continue;
                }
                return Err(Error::io("sync channel", e));
            }
            if n == 0 {
                return Err(Error::Init(
                    "container init exited during setup".to_string(),
                ));
            }
            // SAFETY: read initialised the first n bytes (n <= MAX_MSG).
            unsafe { buf.set_len(n as usize) };
            return Msg::decode(&buf)
                .ok_or_else(|| Error::Init("bad message on the sync channel".into()));
        }
    }

    /// Waits for `want`; an Error message from the peer becomes our error.
    pub fn expect(&self, want: fn(&Msg) -> bool) -> Result<Msg> {
        match self.recv()? {
            Msg::Error(e) => Err(Error::Init(e)),
            m if want(&m) => Ok(m),
            m => Err(Error::Init(format!("unexpected message {m:?} from peer"))),
        }
    }

    /// Child side: waits for the parent's go-ahead and returns its payload.
    pub fn wait_go(&self) -> Result<String> {
        match self.recv()? {
            Msg::Go(s) => Ok(s),
            Msg::Error(e) => Err(Error::Init(e)),
            m => Err(Error::Init(format!("unexpected message {m:?} from peer"))),
        }
    }

    /// Waits for the peer to exec (its end closes on exec) or to report why
    /// it could not.
    pub fn wait_exec(&self) -> Result<()> {
        match self.recv() {
            Ok(Msg::Error(e)) => Err(Error::Init(e)),
            Ok(m) => Err(Error::Init(format!("unexpected message {m:?} from peer"))),
            Err(Error::Init(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Tells the peer to carry on. If it has already given up, its error
    /// (still queued for us) is the one worth reporting.
    pub fn go(&self, payload: &str) -> Result<()> {
        self.send(&Msg::Go(payload.to_string()))
            .map_err(|e| match self.recv() {
                Ok(Msg::Error(msg)) => Error::Init(msg),
                _ => e,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        for m in [
            Msg::Go("123".into()),
            Msg::Idmap(3, 17),
            Msg::CreateRuntimeHooks,
            Msg::Ready,
            Msg::Error("mounts[2].destination: no".into()),
            Msg::ExecFailed(libc::ENOEXEC),
        ] {
            assert_eq!(Msg::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn a_long_error_is_cut_to_what_recv_reads_whole() {
        let (p, c) = pair().unwrap();
        let long = "é".repeat(MAX_MSG);
        c.send(&Msg::Error(long.clone())).unwrap();
        match p.recv().unwrap() {
            Msg::Error(got) => {
                assert!(got.len() < MAX_MSG && got.len() > MAX_MSG - 4);
                assert!(long.starts_with(&got));
            }
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn pair_carries_messages_and_eof() {
        let (p, c) = pair().unwrap();
        c.send(&Msg::Ready).unwrap();
        assert_eq!(p.recv().unwrap(), Msg::Ready);
        drop(c);
        assert!(p.recv().is_err());
    }
}
