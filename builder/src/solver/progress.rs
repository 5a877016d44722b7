//! Build output as BuildKit's plain progress: `#N [stage i/n] INSTRUCTION`,
//! the step's output lines `#N <line>` (streamed, never clipped), then
//! `#N DONE 0.12s` or `#N CACHED`. Lines of parallel stages interleave
//! whole, under one lock.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub struct Progress {
    next: AtomicUsize,
    out: Mutex<()>,
    quiet: bool,
}

/// One step's handle for its lines.
pub struct StepLog<'a> {
    progress: &'a Progress,
    pub number: usize,
    started: Instant,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress {
            next: AtomicUsize::new(1),
            out: Mutex::new(()),
            quiet,
        }
    }

    pub fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        let _g = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "{text}");
    }

    pub fn step(&self, title: &str) -> StepLog<'_> {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        self.line(&format!("#{number} {title}"));
        StepLog {
            progress: self,
            number,
            started: Instant::now(),
        }
    }
}

impl StepLog<'_> {
    pub fn output(&self, line: &str) {
        let t = self.started.elapsed().as_secs_f64();
        self.progress
            .line(&format!("#{} {t:.3} {line}", self.number));
    }
    pub fn cached(&self) {
        self.progress.line(&format!("#{} CACHED", self.number));
    }
    pub fn done(&self) {
        let t = self.started.elapsed().as_secs_f64();
        self.progress
            .line(&format!("#{} DONE {t:.2}s", self.number));
    }
    pub fn error(&self, msg: &str) {
        self.progress
            .line(&format!("#{} ERROR: {msg}", self.number));
    }
}
