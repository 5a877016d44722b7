//! runc-shaped logging: `--log FILE` and `--log-format text|json`.
//!
//! containerd and conmon read the JSON lines (`{"level","msg","time"}`) from
//! the log file to report why a call failed, so errors always go there too.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::OnceLock;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warning",
            Level::Error => "error",
        }
    }
}

struct Logger {
    file: Option<File>,
    json: bool,
    min: Level,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Sets up logging once at start. A log file that can't be opened is reported
/// and logging falls back to stderr.
pub fn init(path: Option<&str>, json: bool, debug: bool) {
    let file = path.and_then(|p| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|e| eprintln!("runtime: cannot open log file {p}: {e}"))
            .ok()
    });
    // The log file is ours only; no child may inherit it (std opens O_CLOEXEC).
    let min = if debug { Level::Debug } else { Level::Warn };
    let _ = LOGGER.set(Logger { file, json, min });
    step("start");
}

/// One line in runc's logrus shape: `time="..." level=error msg="..."`, or
/// its JSON form `{"level","msg","time"}`.
fn format(level: Level, msg: &str, json: bool) -> String {
    if json {
        let v = serde_json::json!({
            "level": level.as_str(),
            "msg": msg,
            "time": crate::time::now_rfc3339(),
        });
        format!("{v}\n")
    } else {
        format!(
            "time=\"{}\" level={} msg=\"{}\"\n",
            crate::time::now_rfc3339(),
            level.as_str(),
            msg.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        )
    }
}

pub fn log(level: Level, msg: &str) {
    let Some(l) = LOGGER.get() else {
        let _ = std::io::stderr().write_all(format(level, msg, false).as_bytes());
        return;
    };
    if level < l.min {
        return;
    }
    let line = format(level, msg, l.json);
    let _ = match &l.file {
        Some(f) => (&*f).write_all(line.as_bytes()),
        None => std::io::stderr().write_all(line.as_bytes()),
    };
}

pub fn debug(msg: &str) {
    log(Level::Debug, msg)
}

pub fn warn(msg: &str) {
    log(Level::Warn, msg)
}

/// Errors reach the log (stderr when there is no --log file) in runc's
/// shape, which scripts grep for `level=error`; with a log file, stderr
/// also gets the bare message, as runc prints it.
pub fn error(msg: &str) {
    log(Level::Error, msg);
    if LOGGER.get().is_some_and(|l| l.file.is_some()) {
        eprintln!("{msg}");
    }
}

/// A debug line with the time since the process started: where create's
/// milliseconds go (`--debug`).
pub fn step(what: &str) {
    if LOGGER.get().is_some_and(|l| l.min == Level::Debug) {
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        let t = START.get_or_init(std::time::Instant::now).elapsed();
        debug(&format!("{what} (+{:.3} ms)", t.as_secs_f64() * 1e3));
    }
}
