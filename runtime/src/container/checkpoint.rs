//! `checkpoint`: `criu dump` of the container's init tree, with runc's flags
//! and runc's choices (external bind mounts, joined namespaces, the freezer
//! cgroup). Also the criu plumbing `restore` shares.
//!
//! Nothing happens before `criu check` passes: where criu does not work
//! (missing, or the kernel lacks what it needs) the verb fails with one line
//! saying so, and the container keeps running, its state unchanged.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::rootfs::flags;
use crate::state::{self, State, Status};
use crate::{cgroups, Error, Result};

/// What runc writes next to the images: the init's stdio (readlink of fds
/// 0-2), so that restore can hand pipes back (`--inherit-fd`).
pub const DESCRIPTORS: &str = "descriptors.json";

/// Flags checkpoint and restore share.
#[derive(Default, Clone)]
pub struct CriuFlags {
    /// The criu binary (global --criu; default criu from PATH).
    pub criu: Option<String>,
    /// --image-path (default ./checkpoint, as runc).
    pub image_path: Option<PathBuf>,
    pub work_path: Option<PathBuf>,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub manage_cgroups_mode: Option<String>,
    pub empty_ns: Vec<String>,
    pub auto_dedup: bool,
    pub lazy_pages: bool,
}

impl CriuFlags {
    pub fn criu(&self) -> &str {
        self.criu.as_deref().unwrap_or("criu")
    }

    /// The image directory, absolute (criu changes into its work dir).
    pub fn image_dir(&self) -> Result<PathBuf> {
        absolute(
            self.image_path
                .as_deref()
                .unwrap_or(Path::new("checkpoint")),
        )
    }

    pub fn work_dir(&self) -> Result<Option<PathBuf>> {
        self.work_path.as_deref().map(absolute).transpose()
    }

    /// Checks the flags criu would only refuse later; returns the
    /// --manage-cgroups argument.
    pub fn validate(&self) -> Result<String> {
        for ns in &self.empty_ns {
            if ns != "network" {
                return Err(Error::Other(format!(
                    "--empty-ns {ns:?}: namespace is not supported (only network)"
                )));
            }
        }
        match self.manage_cgroups_mode.as_deref() {
            None | Some("") => Ok("--manage-cgroups".into()),
            Some(m @ ("soft" | "full" | "strict" | "ignore")) => {
                Ok(format!("--manage-cgroups={m}"))
            }
            Some(m) => Err(Error::Other(format!(
                "--manage-cgroups-mode {m:?}: not one of soft, full, strict, ignore"
            ))),
        }
    }

    /// The criu options both dump and restore take, as runc passes them.
    pub fn common_args(&self, cg_mode: String, spec: &Spec) -> Vec<String> {
        let mut a = vec![cg_mode];
        for (on, flag) in [
            (self.tcp_established, "--tcp-established"),
            (self.ext_unix_sk, "--ext-unix-sk"),
            (self.shell_job, "--shell-job"),
            (self.file_locks, "--file-locks"),
            (self.auto_dedup, "--auto-dedup"),
            (self.lazy_pages, "--lazy-pages"),
        ] {
            if on {
                a.push(flag.into());
            }
        }
        // runc leaves network devices to others: criu makes the network
        // namespace but never dumps or restores its interfaces.
        a.extend(["--empty-ns".into(), "net".into()]);
        if let Some(cfg) = config_file(spec) {
            a.extend(["--config".into(), cfg]);
        }
        a
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io(p.display().to_string(), e))
}

/// runc's criu configuration file: the annotation org.criu.config (empty:
/// none), else /etc/criu/runc.conf where it exists.
fn config_file(spec: &Spec) -> Option<String> {
    match spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get("org.criu.config"))
    {
        Some(f) if f.is_empty() => None,
        Some(f) => Some(f.clone()),
        None => Path::new("/etc/criu/runc.conf")
            .is_file()
            .then(|| "/etc/criu/runc.conf".into()),
    }
}

/// `criu check`: Ok where criu can work; else the one-line refusal.
pub fn criu_works(verb: &'static str, criu: &str) -> Result<()> {
    let unavailable = |why: String| Error::CriuUnavailable { verb, why };
    let out = Command::new(criu)
        .arg("check")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            unavailable(
                if e.kind() == std::io::ErrorKind::NotFound && !criu.contains('/') {
                    format!("{criu}: not found in PATH; install criu or pass --criu PATH")
                } else {
                    format!("{criu}: {e}")
                },
            )
        })?;
    if out.status.success() {
        return Ok(());
    }
    let line = last_line(&out.stderr)
        .or_else(|| last_line(&out.stdout))
        .unwrap_or_else(|| out.status.to_string());
    Err(unavailable(format!("criu check: {line}")))
}

/// The last non-empty line of some output, trimmed.
pub fn last_line(out: &[u8]) -> Option<String> {
    String::from_utf8_lossy(out)
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(str::to_string)
}

/// Why a criu run failed, in one line: the last error in its log file,
/// else the last line it printed, else its exit status; then the log's path.
pub fn criu_failure(
    verb: &'static str,
    action: &'static str,
    log: &Path,
    printed: &[u8],
    status: String,
) -> Error {
    let logged = std::fs::read(log).ok();
    let from_log = logged.as_deref().and_then(|l| {
        String::from_utf8_lossy(l)
            .lines()
            .rfind(|x| x.contains("Error"))
            .map(|x| strip_stamp(x.trim()).to_string())
    });
    let why = from_log.or_else(|| last_line(printed)).unwrap_or(status);
    let msg = if logged.is_some() {
        format!("{why} (log: {})", log.display())
    } else {
        why
    };
    Error::Criu { verb, action, msg }
}

/// "(00.030915) Error ..." -> "Error ...".
fn strip_stamp(line: &str) -> &str {
    match line.strip_prefix('(').and_then(|r| r.split_once(") ")) {
        Some((t, rest)) if t.chars().all(|c| c.is_ascii_digit() || c == '.') => rest,
        _ => line,
    }
}

/// Makes a directory criu writes to (mode 0700, parents as needed).
pub fn make_dir(p: &Path, what: &str) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(p)
        .map_err(|e| Error::io(format!("{what} {}", p.display()), e))
}

/// A container with a terminal: its pty master lives outside, and only
/// criu's RPC (not its command line) can hand a new one back.
pub fn refuse_terminal(verb: &str, spec: &Spec) -> Result<()> {
    if spec.process().as_ref().and_then(|p| p.terminal()) == Some(true) {
        return Err(Error::field(
            "process.terminal",
            format!("{verb}: a container with a terminal cannot be checkpointed or restored by this runtime (criu's command line cannot pass the pty master back)"),
        ));
    }
    Ok(())
}

/// criu's name for a namespace type.
pub fn ns_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

/// runc's key for a joined network or pid namespace: extRootNetNS, extRootPidNS.
pub fn ext_ns_key(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Pid => "extRootPidNS",
        _ => "extRootNetNS",
    }
}

/// The namespaces config.json lists: (type, path if joined).
fn namespaces(spec: &Spec) -> Vec<(LinuxNamespaceType, Option<PathBuf>)> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default()
        .into_iter()
        .map(|n| (n.typ(), n.path().clone()))
        .collect()
}

fn has_ns(spec: &Spec, t: LinuxNamespaceType) -> bool {
    namespaces(spec).iter().any(|(x, _)| *x == t)
}

/// Where an external mount's host side comes from on restore.
pub enum ExtSource {
    /// This host path.
    Path(PathBuf),
    /// The container's cgroup directory in the hierarchy mounted at this host path.
    Cgroup(PathBuf),
}

/// The mounts criu must treat as external, as runc declares them:
/// (mount point inside the container, what is bound there on restore).
/// Bind mounts, the host cgroup directories bound at /sys/fs/cgroup without
/// a cgroup namespace, sysfs and mqueue bound from the host without their
/// namespaces, and device nodes bound from the host in a user namespace.
pub fn external_mounts(spec: &Spec, bundle: &Path) -> Vec<(PathBuf, ExtSource)> {
    let mut out = Vec::new();
    for m in spec.mounts().iter().flatten() {
        let dest = m.destination().clone();
        let typ = m.typ().as_deref().unwrap_or("");
        // A mount with options create refuses never existed.
        let Ok(parsed) = flags::parse(&m.options().clone().unwrap_or_default()) else {
            continue;
        };
        if typ == "cgroup" || typ == "cgroup2" {
            if has_ns(spec, LinuxNamespaceType::Cgroup) {
                continue; // real cgroup mounts, dumped by criu
            }
            for h in crate::rootfs::cgroupfs::host_cgroups() {
                let name = h.mountpoint.trim_start_matches("/sys/fs/cgroup");
                let name = name.trim_start_matches('/');
                if name.contains('/') {
                    continue;
                }
                let key = if name.is_empty() {
                    dest.clone()
                } else {
                    dest.join(name)
                };
                out.push((key, ExtSource::Cgroup(PathBuf::from(&h.mountpoint))));
            }
        } else if typ == "bind" || parsed.flags.contains(nix::mount::MsFlags::MS_BIND) {
            let src = m.source().clone().unwrap_or_default();
            let src = if src.is_absolute() {
                src
            } else {
                bundle.join(src)
            };
            out.push((dest, ExtSource::Path(src)));
        } else if typ == "sysfs" && !has_ns(spec, LinuxNamespaceType::Network) {
            out.push((dest, ExtSource::Path("/sys".into())));
        } else if typ == "mqueue" && !has_ns(spec, LinuxNamespaceType::Ipc) {
            out.push((dest, ExtSource::Path("/dev/mqueue".into())));
        }
    }
    let linux = spec.linux().as_ref();
    for d in linux.and_then(|l| l.devices().clone()).unwrap_or_default() {
        out.push((d.path().clone(), ExtSource::Path(d.path().clone())));
    }
    if has_ns(spec, LinuxNamespaceType::User) {
        for d in [
            "/dev/null",
            "/dev/zero",
            "/dev/full",
            "/dev/random",
            "/dev/urandom",
            "/dev/tty",
        ] {
            if !out.iter().any(|(k, _)| k == Path::new(d)) {
                out.push((d.into(), ExtSource::Path(d.into())));
            }
        }
    }
    out
}

pub struct CheckpointOpts {
    pub root: PathBuf,
    pub id: String,
    pub criu: CriuFlags,
    pub parent_path: Option<PathBuf>,
    pub leave_running: bool,
    pub status_fd: i32,
    pub page_server: Option<String>,
    pub pre_dump: bool,
}

pub fn checkpoint(o: &CheckpointOpts) -> Result<()> {
    const VERB: &str = "checkpoint";
    let (dir, st, status) = super::load(&o.root, &o.id)?;
    if !matches!(status, Status::Running | Status::Paused) {
        return Err(Error::BadState {
            id: o.id.clone(),
            status: status.to_string(),
            msg: "only a running or paused container can be checkpointed".into(),
        });
    }
    let file = st.bundle.join("config.json");
    let data = std::fs::read(&file).map_err(|e| Error::io(file.display().to_string(), e))?;
    let spec = crate::spec::parse(&file, &data)?;
    refuse_terminal(VERB, &spec)?;
    let cg_mode = o.criu.validate()?;
    let image_dir = o.criu.image_dir()?;
    let work_dir = o.criu.work_dir()?;
    let page_server = o.page_server.as_deref().map(page_server).transpose()?;
    if let Some(p) = &o.parent_path {
        check_parent(&image_dir, p)?;
    }
    if o.criu.lazy_pages && o.status_fd != -1 {
        check_status_fd(o.status_fd)?;
    }
    let mut external = Vec::new();
    for (t, path) in namespaces(&spec) {
        let Some(path) = path else { continue };
        if matches!(t, LinuxNamespaceType::Network | LinuxNamespaceType::Pid) {
            let ino = std::fs::metadata(&path)
                .map_err(|e| {
                    Error::field(
                        format!("linux.namespaces[{t:?}].path"),
                        format!("{}: {e}", path.display()),
                    )
                })
                .map(|m| std::os::unix::fs::MetadataExt::ino(&m))?;
            external.push(format!("{}[{ino}]:{}", ns_name(t), ext_ns_key(t)));
        }
    }

    criu_works(VERB, o.criu.criu())?;

    make_dir(&image_dir, "--image-path")?;
    if let Some(w) = &work_dir {
        make_dir(w, "--work-path")?;
    }
    let action = if o.pre_dump { "pre-dump" } else { "dump" };
    let mut args: Vec<String> = vec![
        action.into(),
        "--tree".into(),
        st.pid.to_string(),
        "--images-dir".into(),
        image_dir.display().to_string(),
        "--log-file".into(),
        "dump.log".into(),
        "-v4".into(),
        "--root".into(),
        st.rootfs.display().to_string(),
    ];
    if let Some(w) = &work_dir {
        args.extend(["--work-dir".into(), w.display().to_string()]);
    }
    args.extend(o.criu.common_args(cg_mode, &spec));
    if o.leave_running && !o.pre_dump {
        args.push("--leave-running".into());
    }
    if o.criu.lazy_pages && o.status_fd != -1 {
        args.extend(["--status-fd".into(), o.status_fd.to_string()]);
    }
    if let Some((addr, port)) = page_server {
        args.extend([
            "--page-server".into(),
            "--address".into(),
            addr,
            "--port".into(),
            port.to_string(),
        ]);
    }
    if let Some(p) = &o.parent_path {
        args.extend([
            "--prev-images-dir".into(),
            p.display().to_string(),
            "--track-mem".into(),
        ]);
    }
    if let Some(fcg) = st
        .cgroup_path
        .as_deref()
        .and_then(|p| cgroups::controller_dir(p, "freezer"))
    {
        args.extend(["--freeze-cgroup".into(), fcg.display().to_string()]);
    }
    for e in external {
        args.extend(["--external".into(), e]);
    }
    if !o.pre_dump {
        for (key, _) in external_mounts(&spec, &st.bundle) {
            let k = key.display().to_string();
            args.extend(["--ext-mount-map".into(), format!("{k}:{k}")]);
        }
        for p in masked_files(&spec, st.pid) {
            args.extend(["--ext-mount-map".into(), format!("{p}:/dev/null")]);
        }
        write_descriptors(&image_dir, &st)?;
    }

    let log = work_dir.as_deref().unwrap_or(&image_dir).join("dump.log");
    crate::logging::debug(&format!("{} {}", o.criu.criu(), args.join(" ")));
    let out = Command::new(o.criu.criu())
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("run {}", o.criu.criu()), e))?;
    if !out.status.success() {
        let mut printed = out.stdout;
        printed.extend_from_slice(&out.stderr);
        return Err(criu_failure(
            VERB,
            action,
            &log,
            &printed,
            out.status.to_string(),
        ));
    }
    if o.leave_running || o.pre_dump {
        return Ok(());
    }
    // criu killed the tree: the container is gone, as after runc's Destroy.
    let status = state::status(&dir, &st);
    super::delete::destroy(dir, &st, status)
}

/// Masked paths that are files: /dev/null is bound over them, which criu
/// takes as an external mount (runc's addMaskPaths).
fn masked_files(spec: &Spec, pid: i32) -> Vec<String> {
    let masked = spec
        .linux()
        .as_ref()
        .and_then(|l| l.masked_paths().clone())
        .unwrap_or_default();
    masked
        .into_iter()
        .filter(|p| {
            std::fs::metadata(format!("/proc/{pid}/root/{}", p.trim_start_matches('/')))
                .is_ok_and(|m| !m.is_dir())
        })
        .collect()
}

/// Records the init's stdio next to the images (runc's descriptors.json).
fn write_descriptors(image_dir: &Path, st: &State) -> Result<()> {
    let fds: Vec<String> = (0..3)
        .map(|fd| {
            std::fs::read_link(format!("/proc/{}/fd/{fd}", st.pid))
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        })
        .collect();
    let data = serde_json::to_vec(&fds).map_err(|e| Error::Other(e.to_string()))?;
    state::write_atomic(&image_dir.join(DESCRIPTORS), &data)
}

/// --page-server ADDRESS:PORT.
fn page_server(s: &str) -> Result<(String, u16)> {
    let bad = || Error::Other(format!("--page-server {s:?}: want ADDRESS:PORT"));
    let (addr, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    if addr.is_empty() {
        return Err(bad());
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| Error::Other(format!("--page-server {s:?}: invalid port number")))?;
    Ok((addr.to_string(), port))
}

/// --parent-path: relative to the image directory, and a directory there.
fn check_parent(image_dir: &Path, parent: &Path) -> Result<()> {
    if parent.is_absolute() {
        return Err(Error::Other(format!(
            "--parent-path {}: must be relative (to --image-path)",
            parent.display()
        )));
    }
    let real = image_dir.join(parent);
    match std::fs::metadata(&real) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::Other(format!(
            "--parent-path: {}: not a directory",
            real.display()
        ))),
        Err(e) => Err(Error::Other(format!(
            "--parent-path: {}: {e}",
            real.display()
        ))),
    }
}

/// --status-fd must be open for writing.
fn check_status_fd(fd: i32) -> Result<()> {
    // SAFETY: F_GETFL on an fd number only reads its flags.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fl < 0 {
        return Err(Error::Other(format!(
            "--status-fd {fd}: {}",
            std::io::Error::last_os_error()
        )));
    }
    if fl & libc::O_ACCMODE == libc::O_RDONLY {
        return Err(Error::Other(format!("--status-fd {fd}: not writable")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_server_parses() {
        assert_eq!(page_server("10.0.0.1:27").unwrap(), ("10.0.0.1".into(), 27));
        assert_eq!(page_server("[::1]:27").unwrap(), ("::1".into(), 27));
        assert!(page_server("10.0.0.1").is_err());
        assert!(page_server(":27").is_err());
        assert!(page_server("h:x").is_err());
    }

    #[test]
    fn flags_validate() {
        let mut f = CriuFlags::default();
        assert_eq!(f.validate().unwrap(), "--manage-cgroups");
        f.manage_cgroups_mode = Some("full".into());
        assert_eq!(f.validate().unwrap(), "--manage-cgroups=full");
        f.manage_cgroups_mode = Some("bogus".into());
        assert!(f.validate().unwrap_err().to_string().contains("bogus"));
        f.manage_cgroups_mode = None;
        f.empty_ns = vec!["network".into(), "ipc".into()];
        assert!(f.validate().unwrap_err().to_string().contains("ipc"));
    }

    #[test]
    fn missing_criu_is_one_line() {
        let e = criu_works("checkpoint", "/nonexistent/criu")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("checkpoint: criu does not work on this host (") && !e.contains('\n'),
            "{e}"
        );
    }

    #[test]
    fn log_stamps_are_dropped() {
        assert_eq!(
            strip_stamp("(00.030915) Error (a.c:1): x"),
            "Error (a.c:1): x"
        );
        assert_eq!(strip_stamp("(pid) Error"), "(pid) Error");
    }

    #[test]
    fn last_line_skips_blanks() {
        assert_eq!(last_line(b"a\nb  \n\n").as_deref(), Some("b"));
        assert_eq!(last_line(b"\n \n"), None);
    }
}
