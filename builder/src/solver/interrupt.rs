//! SIGINT/SIGTERM/SIGHUP during a build: a thread waits for them (they are
//! blocked everywhere else), marks the build interrupted and kills the step
//! containers running, so each step returns, cleans up and the build stops
//! with the store as it was. (After SIGKILL, the next open reclaims.)

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static ACTIVE: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Blocks the signals in this (the only) thread and starts the waiter.
/// Children get an empty mask back from std's spawn.
pub fn install() {
    let set = signals();
    // SAFETY: a valid, initialised sigset; the old mask is not wanted.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    std::thread::spawn(move || loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: sigwait reads the set and writes the signal number.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            continue;
        }
        INTERRUPTED.store(true, Ordering::Relaxed);
        // A container still being created refuses the kill, and one may be
        // about to start: keep killing what runs until the build is gone.
        loop {
            kill_active();
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    });
}

fn signals() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the zeroed set; sigaddset with valid signals.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

fn kill_active() {
    let active = ACTIVE.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for (runtime, id) in active {
        let _ = Command::new(&runtime)
            .args(["kill", &id, "KILL"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Registers a running step container; the guard unregisters it.
pub struct Active(String);

impl Active {
    pub fn new(runtime: &std::path::Path, id: &str) -> Active {
        ACTIVE
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((runtime.to_path_buf(), id.to_string()));
        if interrupted() {
            kill_active();
        }
        Active(id.to_string())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(_, id)| *id != self.0);
    }
}
