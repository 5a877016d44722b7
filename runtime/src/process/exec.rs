//! Finding the program to run (the container's PATH, as runc does) and
//! replacing the init with it.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The program, argv and envp, checked before the init waits for `start`.
pub struct Program {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
}

fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::field(what, format!("{s:?} contains a NUL byte")))
}

impl Program {
    pub fn new(args: &[String], env: &[String]) -> Result<Program> {
        let argv = args
            .iter()
            .map(|a| cstring(a, "process.args"))
            .collect::<Result<Vec<_>>>()?;
        let envp = env
            .iter()
            .map(|e| cstring(e, "process.env"))
            .collect::<Result<Vec<_>>>()?;
        let path_var = env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        let found = lookup(&args[0], path_var)?;
        Ok(Program {
            path: CString::new(found.as_os_str().as_bytes())
                .map_err(|_| Error::field("process.args[0]", "contains a NUL byte"))?,
            argv,
            envp,
        })
    }

    /// The environment as strings, for the hooks that run with it.
    pub fn env_strings(&self) -> Vec<String> {
        self.envp
            .iter()
            .map(|e| e.to_string_lossy().into_owned())
            .collect()
    }

    /// execve; returns only on failure.
    pub fn exec(&self) -> Error {
        let mut argv: Vec<*const libc::c_char> = self.argv.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = self.envp.iter().map(|a| a.as_ptr()).collect();
        envp.push(std::ptr::null());
        reset_signals();
        // SAFETY: path, argv and envp are NUL-terminated arrays of valid C strings
        // that outlive the call.
        unsafe { libc::execve(self.path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        Error::io(
            format!("exec {:?}", self.path),
            std::io::Error::last_os_error(),
        )
    }
}

/// The container's process starts as runc's does: no signal blocked, and
/// SIGPIPE at its default (Rust's runtime ignores it, and an ignored signal
/// survives exec: `yes | head` would never end).
pub(crate) fn reset_signals() {
    // SAFETY: plain syscalls on an initialised empty set; this process is
    // single-threaded and about to exec.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn executable(p: &Path) -> std::io::Result<()> {
    let m = std::fs::metadata(p)?;
    if m.is_dir() {
        return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
    }
    if m.permissions().mode() & 0o111 == 0 {
        return Err(std::io::Error::from_raw_os_error(libc::EACCES));
    }
    nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).map_err(std::io::Error::from)
}

/// runc's LookPath: a name with a slash is taken as is, others are searched in PATH.
pub fn lookup(name: &str, path_var: &str) -> Result<PathBuf> {
    let bad = |msg: String| Error::field("process.args[0]", msg);
    if name.contains('/') {
        let p = PathBuf::from(name);
        return executable(&p)
            .map(|_| p)
            .map_err(|e| bad(format!("exec: {name:?}: {e}")));
    }
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let p = Path::new(dir).join(OsStr::new(name));
        if executable(&p).is_ok() {
            return Ok(p);
        }
    }
    Err(bad(format!(
        "exec: {name:?}: executable file not found in $PATH"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_in_path_and_reports_missing() {
        assert_eq!(
            lookup("sh", "/nonexistent:/bin").unwrap(),
            PathBuf::from("/bin/sh")
        );
        let e = lookup("no-such-prog", "/bin").unwrap_err().to_string();
        assert!(
            e.contains("process.args[0]") && e.contains("not found"),
            "{e}"
        );
        let plain = std::env::temp_dir().join(format!("berth-noexec-{}", std::process::id()));
        std::fs::write(&plain, "x").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = lookup(plain.to_str().unwrap(), "").unwrap_err().to_string();
        std::fs::remove_file(&plain).unwrap();
        assert!(e.contains("denied"), "{e}");
    }
}
