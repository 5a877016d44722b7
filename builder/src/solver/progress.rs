//! Build output. Plain (BuildKit's plain form, and what a pipe or a log
//! gets): `#N [stage i/n] INSTRUCTION`, the step's output lines `#N <t>
//! <line>` (streamed, never clipped), then `#N DONE 0.12s` or `#N CACHED`;
//! lines of parallel stages interleave whole. Tty: a live view, one
//! spinner line per running step with its clock, the output printed above
//! the spinners, each step's line left as `✔`/`CACHED`/`✘` when it ends.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Plain,
    Tty,
    Quiet,
}

pub struct Progress {
    next: AtomicUsize,
    out: Mutex<()>,
    mode: Mode,
    multi: Option<MultiProgress>,
}

/// One step's handle for its lines.
pub struct StepLog<'a> {
    progress: &'a Progress,
    pub number: usize,
    started: Instant,
    bar: Option<ProgressBar>,
    title: String,
}

impl Progress {
    pub fn new(mode: Mode) -> Self {
        let multi = (mode == Mode::Tty)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress {
            next: AtomicUsize::new(1),
            out: Mutex::new(()),
            mode,
            multi,
        }
    }

    pub fn line(&self, text: &str) {
        match (&self.multi, self.mode) {
            (_, Mode::Quiet) => {}
            (Some(m), _) => {
                let _ = m.println(text);
            }
            (None, _) => {
                let _g = self.out.lock().unwrap_or_else(|p| p.into_inner());
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
        }
    }

    pub fn step(&self, title: &str) -> StepLog<'_> {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let bar = self.multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new_spinner());
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed_precise:.dim}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.set_message(format!("#{number} {title}"));
            b.enable_steady_tick(Duration::from_millis(100));
            b
        });
        if bar.is_none() {
            self.line(&format!("#{number} {title}"));
        }
        StepLog {
            progress: self,
            number,
            started: Instant::now(),
            bar,
            title: title.to_string(),
        }
    }
}

impl StepLog<'_> {
    pub fn output(&self, line: &str) {
        let t = self.started.elapsed().as_secs_f64();
        self.progress
            .line(&format!("#{} {t:.3} {line}", self.number));
    }

    fn finish(&self, plain: String, tty: String) {
        match (&self.bar, &self.progress.multi) {
            // A finished step leaves the live area as a plain line above it,
            // so the area holds only the steps running now.
            (Some(b), Some(m)) => {
                b.finish_and_clear();
                m.remove(b);
                self.progress.line(&tty);
            }
            _ => self.progress.line(&plain),
        }
    }

    pub fn cached(&self) {
        self.finish(
            format!("#{} CACHED", self.number),
            format!("  #{} {} CACHED", self.number, self.title),
        );
    }

    pub fn done(&self) {
        let t = self.started.elapsed().as_secs_f64();
        self.finish(
            format!("#{} DONE {t:.2}s", self.number),
            format!("✔ #{} {} {t:.2}s", self.number, self.title),
        );
    }

    pub fn error(&self, msg: &str) {
        self.finish(
            format!("#{} ERROR: {msg}", self.number),
            format!("✘ #{} {} ERROR: {msg}", self.number, self.title),
        );
    }
}

impl Drop for StepLog<'_> {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            if !b.is_finished() {
                b.finish_and_clear();
            }
        }
    }
}
