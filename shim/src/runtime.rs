//! Calls into the OCI runtime (ours by default, runc's command line): the
//! shim drives containers only through it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RuntimeError(pub String);

type Result<T> = std::result::Result<T, RuntimeError>;

/// The runtime the shim uses when none is given: $BERTH_RUNTIME, else
/// `runtime` beside this binary, else `runtime` on PATH.
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("BERTH_RUNTIME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Ok(exe) = std::env::current_exe() {
        let beside = exe.with_file_name("runtime");
        if beside.is_file() {
            return beside;
        }
    }
    PathBuf::from("runtime")
}

#[derive(Clone, Debug)]
pub struct Runtime {
    pub path: PathBuf,
}

impl Runtime {
    pub fn new(path: &Path) -> Runtime {
        Runtime { path: path.into() }
    }

    pub fn command(&self) -> Command {
        Command::new(&self.path)
    }

    /// Runs `runtime ARGS`, stdio closed; the runtime's error as one line.
    pub fn call(&self, args: &[&str]) -> Result<String> {
        let out = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| RuntimeError(format!("{}: {e}", self.path.display())))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        Err(RuntimeError(one_line(&String::from_utf8_lossy(
            &out.stderr,
        ))))
    }

    pub fn start(&self, id: &str) -> Result<()> {
        self.call(&["start", id]).map(drop)
    }

    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let mut args = vec!["delete"];
        if force {
            args.push("--force");
        }
        args.push(id);
        self.call(&args).map(drop)
    }

    pub fn kill(&self, id: &str, signal: i32) -> Result<()> {
        self.call(&["kill", id, &signal.to_string()]).map(drop)
    }

    /// The pids of every process in the container (`ps --format json`).
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        let out = self.call(&["ps", "--format", "json", id])?;
        serde_json::from_str(out.trim()).map_err(|e| RuntimeError(format!("runtime ps: {e}")))
    }

    pub fn version(&self) -> String {
        self.call(&["--version"])
            .ok()
            .and_then(|v| v.lines().next().map(String::from))
            .unwrap_or_else(|| "unknown".into())
    }
}

/// A runtime's stderr or log as one line: the last error message in it.
pub fn one_line(text: &str) -> String {
    let mut best = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let msg = log_message(line).unwrap_or_else(|| line.to_string());
        if line.contains("error") || best.is_none() {
            best = Some(msg);
        }
    }
    best.unwrap_or_else(|| "the runtime failed without a message".into())
}

/// The msg of a runc-shaped log line: JSON `{"msg":..}` or logrus text
/// `level=error msg="..."`.
fn log_message(line: &str) -> Option<String> {
    if line.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        return v["msg"].as_str().map(String::from);
    }
    let at = line.find("msg=\"")? + 5;
    let rest = &line[at..];
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '"' => break,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_errors_become_one_line() {
        let json = "{\"level\":\"info\",\"msg\":\"x\"}\n{\"level\":\"error\",\"msg\":\"exec: \\\"nope\\\": not found\"}\n";
        assert_eq!(one_line(json), "exec: \"nope\": not found");
        let text = "time=\"t\" level=error msg=\"container \\\"a\\\" exists\"\n";
        assert_eq!(one_line(text), "container \"a\" exists");
        assert_eq!(one_line("plain failure\n"), "plain failure");
        assert!(one_line("").contains("without a message"));
    }
}
