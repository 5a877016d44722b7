//! The per-container monitor (conmon's role): detached from its caller,
//! subreaper of the container, holder of its stdio; it calls `runtime
//! create` and `runtime start`, writes the log, serves attach/stop/kill/wait
//! on a unix socket, reaps, records the exit status (and OOM kills), runs
//! `runtime delete`, applies the restart policy, and with --rm removes the
//! container. One thread, one poll loop over a few fds: no async runtime.

mod clients;
mod exit;
mod resident;
pub mod spawn;
mod stdio;

pub use clients::connect;
pub use exit::cgroup_path;
pub use stdio::read as read_fd;

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::logs::{Driver, LogWriter, Rotation, Stream};
use crate::proto::{self, Kind};
use crate::records::{Record, Root, Status};
use crate::runtime::{one_line, Runtime};
use clients::{Client, Role, QUEUE_LIMIT};

/// How long output is still read after the container's init has exited
/// (its pid namespace is gone, so its pipes close at once in practice).
const DRAIN: Duration = Duration::from_secs(2);
/// An open line is written as a partial record after this long quiet.
const PARTIAL_AFTER: Duration = Duration::from_millis(100);
/// Quiet this long, the monitor lets go of the code it ran (resident.rs).
const TRIM_AFTER: Duration = Duration::from_secs(1);
/// One read of container output (eight per wakeup at most).
const READ_BUF: usize = 256 * 1024;

pub struct Args {
    pub root: PathBuf,
    pub id: String,
    pub runtime: PathBuf,
    /// fd 4 is the first attached client (`run` without -d).
    pub attach: bool,
    /// The caller's terminal size, set on the pty before the process starts.
    pub winsize: Option<(u16, u16)>,
}

/// The container's process and its stdio while it runs.
struct Process {
    pid: i32,
    out: Option<OwnedFd>,
    err: Option<OwnedFd>,
    /// The pty master (-t): output and input both.
    master: Option<OwnedFd>,
    stdin: Option<OwnedFd>,
    started: Instant,
    status: Option<i32>,
    exited_at: Option<Instant>,
}

struct Monitor {
    root: Root,
    id: String,
    dir: PathBuf,
    record: Record,
    runtime: Runtime,
    log: LogWriter,
    listener: UnixListener,
    clients: Vec<Client>,
    signals: SignalFd,
    report: Option<File>,
    proc: Option<Process>,
    stdin_buf: Vec<u8>,
    stdin_close: bool,
    winsize: Option<(u16, u16)>,
    stop_deadline: Option<Instant>,
    stop_requested: bool,
    /// Whether the code pages have been let go since the last event.
    trimmed: bool,
    /// Container output is read into this (its pages let go when idle).
    read_buf: Vec<u8>,
}

/// `shim monitor`: never returns to a caller (its exit code is unseen).
pub fn main(args: Args) -> i32 {
    let dir = args.root.join("containers").join(&args.id);
    let logf = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("monitor.log"))
        .ok();
    let report = Some(unsafe_file(spawn::SYNC_FD));
    let attach = args
        .attach
        // SAFETY: spawn put the client's socket at ATTACH_FD for us.
        .then(|| unsafe { UnixStream::from_raw_fd(spawn::ATTACH_FD) });
    match Monitor::new(&args, report, attach) {
        Ok(mut m) => {
            m.run();
            0
        }
        Err((mut report, e)) => {
            note(logf.as_ref(), &e);
            if let Some(r) = report.as_mut() {
                let _ = writeln!(r, "error {e}");
            }
            1
        }
    }
}

fn unsafe_file(fd: RawFd) -> File {
    // SAFETY: spawn leaves the report pipe at SYNC_FD; we own it from here.
    unsafe { File::from_raw_fd(fd) }
}

fn note(log: Option<&File>, msg: &str) {
    if let Some(mut f) = log {
        let _ = writeln!(f, "{} {msg}", berth_builder::clock::now_rfc3339());
    }
}

type Setup<T> = Result<T, (Option<File>, String)>;

impl Monitor {
    fn new(args: &Args, report: Option<File>, attach: Option<UnixStream>) -> Setup<Monitor> {
        let fail = |report: Option<File>, e: String| Err((report, e));
        let root = match Root::open(&args.root) {
            Ok(r) => r,
            Err(e) => return fail(report, e.to_string()),
        };
        let dir = root.dir(&args.id);
        // Held for life: a free lock tells the verbs this monitor is gone.
        let held = match crate::records::Lock::try_exclusive(&dir.join("monitor.lock")) {
            Ok(Some(l)) => l,
            Ok(None) => return fail(report, "the container already has a monitor".into()),
            Err(e) => return fail(report, format!("{}: {e}", dir.display())),
        };
        std::mem::forget(held);
        let record = match root.record(&args.id) {
            Ok(r) => r,
            Err(e) => return fail(report, e.to_string()),
        };
        let driver = Driver::parse(&record.host.log_config.kind);
        let rotation = Rotation::from_opts(&record.host.log_config.opts);
        let (driver, rotation) = match (driver, rotation) {
            (Ok(d), Ok(r)) => (d, r),
            (Err(e), _) | (_, Err(e)) => return fail(report, e.to_string()),
        };
        let log = match LogWriter::open(&record.log_path(&dir), driver, rotation) {
            Ok(l) => l,
            Err(e) => return fail(report, e.to_string()),
        };
        let listener = match clients::listen(&dir) {
            Ok(l) => l,
            Err(e) => return fail(report, format!("{}/attach: {e}", dir.display())),
        };
        let signals = match setup_signals() {
            Ok(s) => s,
            Err(e) => return fail(report, e),
        };
        let mut clients = Vec::new();
        if let Some(a) = attach {
            let mut c = Client::new(a);
            c.role = Role::Attached {
                stdin: record.config.open_stdin,
            };
            clients.push(c);
        }
        Ok(Monitor {
            root,
            id: args.id.clone(),
            dir,
            record,
            runtime: Runtime::new(&args.runtime),
            log,
            listener,
            clients,
            signals,
            report,
            proc: None,
            stdin_buf: Vec::new(),
            stdin_close: false,
            winsize: args.winsize,
            stop_deadline: None,
            stop_requested: false,
            trimmed: false,
            read_buf: Vec::new(),
        })
    }

    fn run(&mut self) {
        let _ = self.root.update_state(&self.id, |s| {
            s.monitor_pid = std::process::id() as i32;
            s.boot_id = crate::records::state::boot_id();
            s.stopped_by_user = false;
            s.error.clear();
        });
        let mut first = true;
        let mut delay = exit::FIRST_DELAY;
        let mut code;
        loop {
            if let Err(e) = self.start() {
                let _ = self.root.update_state(&self.id, |s| {
                    s.status = if first {
                        Status::Created
                    } else {
                        Status::Exited
                    };
                    s.error = e.clone();
                    s.pid = 0;
                });
                if let Some(mut r) = self.report.take() {
                    let _ = writeln!(r, "error {e}");
                }
                self.broadcast_error(&e);
                code = 125;
                break;
            }
            if let Some(mut r) = self.report.take() {
                let _ = writeln!(r, "ok");
            }
            first = false;
            code = self.supervise();
            let ran = self
                .proc
                .as_ref()
                .map_or(Duration::ZERO, |p| p.started.elapsed());
            self.after_exit(code);
            let state = self.root.state(&self.id).unwrap_or_default();
            if self.stop_requested
                || !exit::should_restart(&self.record.host.restart_policy, &state, code)
            {
                break;
            }
            let (now, next) = exit::delays(delay, ran);
            delay = next;
            let _ = self.root.update_state(&self.id, |s| {
                s.status = Status::Restarting;
                s.restart_count += 1;
            });
            if !self.wait_for(now) {
                let _ = self
                    .root
                    .update_state(&self.id, |s| s.status = Status::Exited);
                break;
            }
        }
        self.finish(code);
    }

    /// `runtime create` + `runtime start` with fresh stdio.
    fn start(&mut self) -> Result<(), String> {
        let tty = self.record.config.tty;
        let runtime_log = self.dir.join("runtime.log");
        let _ = fs::write(&runtime_log, b"");
        let mut cmd = self.runtime.command();
        cmd.arg("--log")
            .arg(&runtime_log)
            .arg("--log-format")
            .arg("json")
            .arg("create")
            .arg("--bundle")
            .arg(&self.record.bundle)
            .arg("--pid-file")
            .arg(self.dir.join("pid"));
        let io = |e: std::io::Error| format!("setting up the container's stdio: {e}");
        let mut console = None;
        let (mut out_r, mut err_r, mut in_w) = (None, None, None);
        if tty {
            let (l, path) = stdio::console_listener(&self.dir, &self.id).map_err(io)?;
            cmd.arg("--console-socket").arg(&path);
            console = Some((l, path));
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        } else {
            let (r, w) = stdio::pipe().map_err(io)?;
            let (er, ew) = stdio::pipe().map_err(io)?;
            stdio::grow_pipe(r.as_raw_fd());
            stdio::grow_pipe(er.as_raw_fd());
            cmd.stdout(Stdio::from(w)).stderr(Stdio::from(ew));
            if self.record.config.open_stdin {
                let (ir, iw) = stdio::pipe().map_err(io)?;
                cmd.stdin(Stdio::from(ir));
                in_w = Some(iw);
            } else {
                cmd.stdin(Stdio::null());
            }
            out_r = Some(r);
            err_r = Some(er);
        }
        cmd.arg(&self.id);
        let status = cmd.status();
        // The write ends now live only in the container.
        drop(cmd);
        let ok = matches!(&status, Ok(s) if s.success());
        if !ok {
            let text = fs::read_to_string(&runtime_log).unwrap_or_default();
            let msg = match status {
                Err(e) => format!("{}: {e}", self.runtime.path.display()),
                Ok(_) => one_line(&text),
            };
            let _ = self.runtime.delete(&self.id, true);
            if let Some((_, p)) = &console {
                let _ = fs::remove_file(p);
            }
            return Err(msg);
        }
        let pid = fs::read_to_string(self.dir.join("pid"))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
            .unwrap_or(0);
        let mut master = None;
        if let Some((l, p)) = console {
            let m = stdio::receive_master(&l);
            let _ = fs::remove_file(&p);
            match m {
                Ok(m) => {
                    if let Some((rows, cols)) = self.winsize {
                        stdio::set_winsize(m.as_raw_fd(), rows, cols);
                    }
                    master = Some(m);
                }
                Err(e) => {
                    let _ = self.runtime.delete(&self.id, true);
                    return Err(format!("receiving the container's terminal: {e}"));
                }
            }
        }
        for fd in [&out_r, &err_r, &master, &in_w].into_iter().flatten() {
            stdio::set_nonblocking(fd.as_raw_fd());
        }
        if let Err(e) = self.runtime.start(&self.id) {
            let _ = self.runtime.delete(&self.id, true);
            return Err(e.0);
        }
        self.proc = Some(Process {
            pid,
            out: out_r,
            err: err_r,
            master,
            stdin: in_w,
            started: Instant::now(),
            status: None,
            exited_at: None,
        });
        self.stdin_close = false;
        self.stop_deadline = None;
        let pid_start = crate::records::state::pid_start_time(pid);
        let _ = self.root.update_state(&self.id, |s| {
            s.status = Status::Running;
            s.pid = pid;
            s.pid_start = pid_start;
            s.started_at = berth_builder::clock::now_rfc3339();
            s.exit_code = 0;
            s.oom_killed = false;
        });
        Ok(())
    }

    /// Serves until the container has exited and its output is read.
    fn supervise(&mut self) -> i32 {
        loop {
            let timeout = self.timeout();
            self.poll_once(timeout);
            if let Some(deadline) = self.stop_deadline {
                if Instant::now() >= deadline {
                    self.signal(libc::SIGKILL);
                    self.stop_deadline = None;
                }
            }
            let p = self.proc.as_ref().expect("a process");
            if let (Some(code), Some(at)) = (p.status, p.exited_at) {
                let open = p.out.is_some() || p.err.is_some() || p.master.is_some();
                if !open || at.elapsed() >= DRAIN {
                    return code;
                }
            }
        }
    }

    fn timeout(&self) -> Option<Duration> {
        let mut t: Option<Duration> = None;
        let mut at = |d: Duration| t = Some(t.map_or(d, |x| x.min(d)));
        if let Some(d) = self.stop_deadline {
            at(d.saturating_duration_since(Instant::now()));
        }
        if let Some(p) = &self.proc {
            if let Some(e) = p.exited_at {
                at((e + DRAIN).saturating_duration_since(Instant::now()));
            }
        }
        if self.log_pending() {
            at(PARTIAL_AFTER);
        }
        if !self.trimmed {
            at(TRIM_AFTER);
        }
        t
    }

    /// Nothing is due but the idle trim: it is time for it.
    fn quiet(&self) -> bool {
        self.stop_deadline.is_none()
            && !self.log_pending()
            && self.proc.as_ref().is_none_or(|p| p.exited_at.is_none())
    }

    /// Output gathered but not yet written (an open line, a batch).
    fn log_pending(&self) -> bool {
        self.log.has_pending()
    }

    /// Waits `delay` (restart back-off) serving clients; false when a stop
    /// came meanwhile.
    fn wait_for(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            self.poll_once(Some(left));
            if self.stop_requested {
                return false;
            }
        }
    }

    fn signal(&self, sig: i32) -> bool {
        match &self.proc {
            // Our child until we reap it: the pid cannot have been reused.
            // SAFETY: kill(2) with a pid and a signal number.
            Some(p) if p.status.is_none() && p.pid > 0 => unsafe { libc::kill(p.pid, sig) == 0 },
            _ => false,
        }
    }

    /// One round of poll(2) over every fd and the work it found.
    fn poll_once(&mut self, timeout: Option<Duration>) {
        let backpressure = self.clients.iter().any(|c| c.out.len() > QUEUE_LIMIT);
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(8 + self.clients.len());
        let pfd = |fd: RawFd, events: i16| libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        fds.push(pfd(self.signals.as_raw_fd(), libc::POLLIN));
        fds.push(pfd(self.listener.as_raw_fd(), libc::POLLIN));
        let (mut out_fd, mut err_fd, mut master_fd, mut stdin_fd) = (-1, -1, -1, -1);
        if let Some(p) = &self.proc {
            let watch = |fd: &Option<OwnedFd>| fd.as_ref().map_or(-1, |f| f.as_raw_fd());
            out_fd = watch(&p.out);
            err_fd = watch(&p.err);
            master_fd = watch(&p.master);
            stdin_fd = watch(&p.stdin);
        }
        let output_events = if backpressure { 0 } else { libc::POLLIN };
        fds.push(pfd(out_fd, output_events));
        fds.push(pfd(err_fd, output_events));
        let master_events = output_events
            | if self.stdin_buf.is_empty() {
                0
            } else {
                libc::POLLOUT
            };
        fds.push(pfd(master_fd, master_events));
        let stdin_events = if self.stdin_buf.is_empty() {
            0
        } else {
            libc::POLLOUT
        };
        fds.push(pfd(stdin_fd, stdin_events));
        for c in &self.clients {
            let ev = libc::POLLIN | if c.out.is_empty() { 0 } else { libc::POLLOUT };
            fds.push(pfd(c.fd(), ev));
        }
        let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
        // SAFETY: poll over a vector of pollfds we own.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            return;
        }
        if n == 0 {
            self.log.idle();
            if !self.trimmed && self.quiet() {
                resident::trim();
                resident::release(&mut self.read_buf);
                self.trimmed = true;
            }
        } else {
            self.trimmed = false;
        }
        let ready = |i: usize| fds[i].revents != 0;
        if ready(0) {
            self.reap();
        }
        if ready(1) {
            self.accept();
        }
        if ready(2) {
            self.read_output(Stream::Stdout);
        }
        if ready(3) {
            self.read_output(Stream::Stderr);
        }
        if ready(4) {
            if fds[4].revents & libc::POLLOUT != 0 {
                self.write_stdin();
            }
            if fds[4].revents & !libc::POLLOUT != 0 {
                self.read_output(Stream::Stdout);
            }
        }
        if ready(5) {
            self.write_stdin();
        }
        self.log.flush();
        for (i, c) in self.clients.iter_mut().enumerate() {
            let r = fds.get(6 + i).map_or(0, |f| f.revents);
            if r & libc::POLLOUT != 0 {
                c.flush();
            }
        }
        let readable: Vec<usize> = (0..self.clients.len())
            .filter(|i| {
                fds.get(6 + i)
                    .is_some_and(|f| f.revents & !libc::POLLOUT != 0)
            })
            .collect();
        for i in readable {
            let frames = self.clients[i].receive();
            for (kind, payload) in frames {
                self.handle(i, kind, &payload);
            }
        }
        for c in &mut self.clients {
            if !c.out.is_empty() {
                c.flush();
            }
        }
        self.clients.retain(|c| !c.closed);
    }

    fn reap(&mut self) {
        while let Ok(Some(_)) = self.signals.read_signal() {}
        loop {
            let mut status = 0;
            // SAFETY: waitpid with a status out-pointer; WNOHANG never blocks.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                return;
            }
            if let Some(p) = self.proc.as_mut().filter(|p| p.pid == pid) {
                p.status = Some(exit::code(status));
                p.exited_at = Some(Instant::now());
                p.stdin = None;
            }
        }
    }

    fn accept(&mut self) {
        while let Ok((s, _)) = self.listener.accept() {
            self.clients.push(Client::new(s));
        }
    }

    fn read_output(&mut self, stream: Stream) {
        let mut buf = std::mem::take(&mut self.read_buf);
        if buf.is_empty() {
            buf = vec![0u8; READ_BUF];
        }
        self.read_some(stream, &mut buf);
        self.read_buf = buf;
    }

    fn read_some(&mut self, stream: Stream, buf: &mut [u8]) {
        for _ in 0..8 {
            let Some(p) = self.proc.as_mut() else { return };
            let slot = match (stream, p.master.is_some()) {
                (_, true) => &mut p.master,
                (Stream::Stdout, false) => &mut p.out,
                (Stream::Stderr, false) => &mut p.err,
            };
            let Some(fd) = slot.as_ref().map(|f| f.as_raw_fd()) else {
                return;
            };
            match stdio::read(fd, buf) {
                Ok(0) => {
                    *slot = None;
                    self.log.idle();
                    return;
                }
                Ok(n) => {
                    self.log.write(stream, &buf[..n]);
                    self.broadcast(stream, &buf[..n]);
                    if self.clients.iter().any(|c| c.out.len() > QUEUE_LIMIT) {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    *slot = None;
                    return;
                }
            }
        }
    }

    fn broadcast(&mut self, stream: Stream, data: &[u8]) {
        let kind = match stream {
            Stream::Stdout => Kind::Stdout,
            Stream::Stderr => Kind::Stderr,
        };
        for c in &mut self.clients {
            if matches!(c.role, Role::Attached { .. }) {
                for chunk in data.chunks(proto::MAX_PAYLOAD) {
                    c.send(kind, chunk);
                }
            }
        }
    }

    fn broadcast_error(&mut self, msg: &str) {
        for c in &mut self.clients {
            if c.role != Role::Done {
                c.send(Kind::Error, msg.as_bytes());
                c.role = Role::Done;
            }
        }
    }

    fn write_stdin(&mut self) {
        let Some(p) = self.proc.as_mut() else { return };
        let Some(fd) = p
            .master
            .as_ref()
            .or(p.stdin.as_ref())
            .map(|f| f.as_raw_fd())
        else {
            self.stdin_buf.clear();
            return;
        };
        while !self.stdin_buf.is_empty() {
            match stdio::write(fd, &self.stdin_buf) {
                Ok(n) => {
                    self.stdin_buf.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.stdin_buf.clear();
                    p.stdin = None;
                    return;
                }
            }
        }
        if self.stdin_close && p.master.is_none() {
            p.stdin = None;
        }
    }

    /// One frame from client `i`.
    fn handle(&mut self, i: usize, kind: Kind, payload: &[u8]) {
        let exited = self.proc.as_ref().is_none_or(|p| p.status.is_some());
        match kind {
            Kind::Attach => {
                self.clients[i].role = Role::Attached {
                    stdin: payload.contains(&b'i'),
                };
            }
            Kind::Stdin => {
                if matches!(self.clients[i].role, Role::Attached { stdin: true }) {
                    self.stdin_buf.extend_from_slice(payload);
                    self.write_stdin();
                }
            }
            Kind::StdinEof => {
                self.stdin_close = true;
                self.write_stdin();
            }
            Kind::Resize => {
                let rows = u16::from_le_bytes([payload[0], payload.get(1).copied().unwrap_or(0)]);
                let cols = payload
                    .get(2..4)
                    .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
                self.winsize = Some((rows, cols));
                if let Some(m) = self.proc.as_ref().and_then(|p| p.master.as_ref()) {
                    stdio::set_winsize(m.as_raw_fd(), rows, cols);
                }
            }
            Kind::Stop => {
                let sig = proto::u32_at(payload, 0) as i32;
                let secs = proto::u32_at(payload, 4);
                self.stop_requested = true;
                let _ = self
                    .root
                    .update_state(&self.id, |s| s.stopped_by_user = true);
                self.clients[i].role = Role::Waiting;
                if !exited {
                    self.signal(sig);
                    self.stop_deadline = Some(Instant::now() + Duration::from_secs(secs.into()));
                }
            }
            Kind::Kill => {
                let sig = proto::u32_at(payload, 0) as i32;
                if matches!(self.clients[i].role, Role::Attached { .. }) {
                    // A signal the attached caller got, passed on (sig-proxy).
                    self.signal(sig);
                    return;
                }
                if matches!(sig, libc::SIGKILL | libc::SIGTERM | libc::SIGINT) {
                    self.stop_requested = true;
                    let _ = self
                        .root
                        .update_state(&self.id, |s| s.stopped_by_user = true);
                }
                let sent = !exited && self.signal(sig);
                let c = &mut self.clients[i];
                if sent {
                    c.send(Kind::Ok, b"");
                } else {
                    let id = &self.id;
                    c.send(
                        Kind::Error,
                        format!("Container {id} is not running").as_bytes(),
                    );
                }
                c.role = Role::Done;
            }
            Kind::Wait => self.clients[i].role = Role::Waiting,
            _ => self.clients[i].closed = true,
        }
    }

    /// After each exit: OOM check, `runtime delete`, the exit recorded.
    fn after_exit(&mut self, code: i32) {
        self.log.idle();
        let oom = crate::cgroup::oom_kills(&exit::cgroup_path(&self.id)) > 0;
        let _ = self.runtime.delete(&self.id, true);
        let lost = self.log.total_lost();
        let finished = berth_builder::clock::now_rfc3339();
        let _ = fs::write(self.dir.join("exit"), code.to_string());
        let _ = self.root.update_state(&self.id, |s| {
            s.status = Status::Exited;
            s.exit_code = code;
            s.oom_killed = oom;
            s.finished_at = finished.clone();
            s.pid = 0;
            s.log_lost_bytes = lost;
        });
        let exit = code.to_le_bytes();
        for c in &mut self.clients {
            if c.role == Role::Waiting {
                c.send(Kind::Exit, &exit);
                c.role = Role::Done;
            }
        }
        self.proc = None;
    }

    /// The end: attached clients told, --rm honoured, the queues written.
    fn finish(&mut self, code: i32) {
        if self.record.host.auto_remove {
            let _ = crate::cleanup::remove(&self.root, &self.id);
        }
        let exit = code.to_le_bytes();
        for c in &mut self.clients {
            if c.role != Role::Done {
                c.send(Kind::Exit, &exit);
                c.role = Role::Done;
            }
        }
        let until = Instant::now() + Duration::from_secs(5);
        while !self.clients.is_empty() && Instant::now() < until {
            for c in &mut self.clients {
                c.flush();
                if c.out.is_empty() {
                    c.closed = true;
                }
            }
            self.clients.retain(|c| !c.closed);
            if !self.clients.is_empty() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn setup_signals() -> Result<SignalFd, String> {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) on ourselves.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    // SAFETY: ignoring SIGPIPE: a client gone mid-write is an EPIPE error.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    mask.thread_block()
        .map_err(|e| format!("blocking SIGCHLD: {e}"))?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| format!("signalfd: {e}"))
}
