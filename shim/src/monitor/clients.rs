//! The monitor's unix socket and the clients on it: attached ones (output
//! streamed to them, stdin and resizes from them) and ones that asked to be
//! told when the container exits (stop, wait).

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use crate::proto::{self, Kind};

/// Output queued for one client before the container's output stops being
/// read (backpressure instead of loss).
pub const QUEUE_LIMIT: usize = 4 << 20;

#[derive(Debug, PartialEq)]
pub enum Role {
    /// Nothing said yet.
    New,
    Attached {
        stdin: bool,
    },
    /// Told when the container exits.
    Waiting,
    /// Answered; closed once its queue is written.
    Done,
}

pub struct Client {
    pub stream: UnixStream,
    pub role: Role,
    inbuf: Vec<u8>,
    pub out: Vec<u8>,
    pub closed: bool,
}

impl Client {
    pub fn new(stream: UnixStream) -> Client {
        let _ = stream.set_nonblocking(true);
        Client {
            stream,
            role: Role::New,
            inbuf: Vec::new(),
            out: Vec::new(),
            closed: false,
        }
    }

    pub fn fd(&self) -> i32 {
        self.stream.as_raw_fd()
    }

    pub fn send(&mut self, kind: Kind, payload: &[u8]) {
        proto::encode(kind, payload, &mut self.out);
    }

    /// Reads what arrived; the complete frames in it.
    pub fn receive(&mut self) -> Vec<(Kind, Vec<u8>)> {
        let mut buf = [0u8; 64 * 1024];
        loop {
            match super::stdio::read(self.fd(), &mut buf) {
                Ok(0) => {
                    self.closed = true;
                    break;
                }
                Ok(n) => self.inbuf.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.closed = true;
                    break;
                }
            }
            if self.inbuf.len() > 2 * proto::MAX_PAYLOAD {
                break;
            }
        }
        match proto::take_frames(&mut self.inbuf) {
            Ok(f) => f,
            Err(_) => {
                self.closed = true;
                Vec::new()
            }
        }
    }

    /// Writes what is queued, as far as the socket takes it.
    pub fn flush(&mut self) {
        while !self.out.is_empty() {
            match super::stdio::write(self.fd(), &self.out) {
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.closed = true;
                    self.out.clear();
                    return;
                }
            }
        }
        if self.role == Role::Done {
            self.closed = true;
        }
    }
}

/// The path clients connect to; long dirs go through /proc/self/fd so that
/// sun_path's 108 bytes never limit where --root may be.
pub struct SocketPath {
    pub path: PathBuf,
    _dir: Option<std::fs::File>,
}

pub fn socket_path(dir: &Path, name: &str) -> io::Result<SocketPath> {
    let direct = dir.join(name);
    if direct.as_os_str().len() <= 100 {
        return Ok(SocketPath {
            path: direct,
            _dir: None,
        });
    }
    let d = std::fs::File::open(dir)?;
    Ok(SocketPath {
        path: PathBuf::from(format!("/proc/self/fd/{}/{name}", d.as_raw_fd())),
        _dir: Some(d),
    })
}

pub fn listen(dir: &Path) -> io::Result<UnixListener> {
    let _ = std::fs::remove_file(dir.join("attach"));
    let p = socket_path(dir, "attach")?;
    let l = UnixListener::bind(&p.path)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// A client's connection to the monitor of the container in `dir`.
pub fn connect(dir: &Path) -> io::Result<UnixStream> {
    let p = socket_path(dir, "attach")?;
    UnixStream::connect(&p.path)
}
