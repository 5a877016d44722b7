//! `restore`: `criu restore` of a checkpoint into a new container ID from a
//! bundle. The restored init is our child (criu --restore-sibling); its
//! cgroup is made and limited before criu starts, and criu runs inside it.
//! state.json is written as create writes it; unless --detach we then wait
//! for the container and delete it, as `run` does, exiting with its status.
//!
//! Like checkpoint, nothing is made before `criu check` passes; a failure
//! later undoes everything (no state dir, cgroup or process is left).

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::ForkResult;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::checkpoint::{self, CriuFlags, ExtSource, DESCRIPTORS};
use crate::namespaces::Plan;
use crate::rootfs::SafeRoot;
use crate::spec::Bundle;
use crate::state::{self, ContainerDir, State, STATE_FILE};
use crate::{cgroups, Error, Result};

const VERB: &str = "restore";

pub struct RestoreOpts {
    pub root: PathBuf,
    pub id: String,
    pub criu: CriuFlags,
    pub bundle: PathBuf,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
    pub systemd_cgroup: bool,
}

/// Returns the exit code for the runtime process: 0 with --detach, else the
/// container's exit status.
pub fn restore(o: &RestoreOpts) -> Result<i32> {
    state::validate_id(&o.id)?;
    if o.root.join(&o.id).join(STATE_FILE).exists() {
        return Err(Error::Exists(o.id.clone()));
    }
    let bundle = Bundle::load(&o.bundle)?;
    let spec = &bundle.spec;
    checkpoint::refuse_terminal(VERB, spec)?;
    let image_dir = o.criu.image_dir()?;
    if let Err(e) = std::fs::metadata(image_dir.join("inventory.img")) {
        return Err(Error::Other(format!(
            "restore: --image-path {}: no checkpoint there (inventory.img: {e})",
            image_dir.display()
        )));
    }
    let work_dir = o.criu.work_dir()?;
    let cg_mode = o.criu.validate()?;
    for (flag, v) in [
        ("--lsm-profile", &o.lsm_profile),
        ("--lsm-mount-context", &o.lsm_mount_context),
    ] {
        if v.as_deref() == Some("") {
            return Err(Error::Other(format!("{flag}: must not be empty")));
        }
    }
    // Opens the namespaces to join now: a missing one is named before anything exists.
    let plan = Plan::from_spec(spec)?;
    if plan.joins(LinuxNamespaceType::Cgroup) {
        return Err(Error::field(
            "linux.namespaces",
            "restore: criu cannot join a cgroup namespace given by path",
        ));
    }
    let cgroup_path = cgroups::path_for(spec, &o.id, o.systemd_cgroup)?;
    if let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
        cgroups::check_layout(r, &cgroup_path)?;
    }

    checkpoint::criu_works(VERB, o.criu.criu())?;

    let dir = ContainerDir::create(&o.root, &o.id)?;
    let mut st = super::create::initial_state(&o.id, &bundle, &plan, cgroup_path);
    let job = Job {
        o,
        bundle: &bundle,
        plan: &plan,
        image_dir,
        work_dir,
        cg_mode,
    };
    if let Err(e) = job.run(&dir, &mut st) {
        undo(dir, &st);
        return Err(e);
    }
    if o.detach {
        return Ok(0);
    }
    let pid = st.pid;
    drop(dir);
    let code = super::run::wait(pid, None)?;
    super::delete::delete(&o.root, &o.id, true)?;
    Ok(code)
}

/// Undoes a failed restore: kills what criu restored, removes the cgroup
/// and the state dir.
fn undo(dir: ContainerDir, st: &State) {
    super::create::undo_process(st);
    // Never walk into a rootfs still bound there.
    if !dir.path.join(CRIU_ROOT).exists() {
        let _ = dir.remove();
    }
}

const CRIU_ROOT: &str = "criu-root";

struct Job<'a> {
    o: &'a RestoreOpts,
    bundle: &'a Bundle,
    plan: &'a Plan,
    image_dir: PathBuf,
    work_dir: Option<PathBuf>,
    cg_mode: String,
}

impl Job<'_> {
    fn run(&self, dir: &ContainerDir, st: &mut State) -> Result<()> {
        dir.save(st)?;
        let spec = &self.bundle.spec;
        if let Some(w) = &self.work_dir {
            checkpoint::make_dir(w, "--work-path")?;
        }
        make_mountpoints(spec, &self.bundle.dir, &self.bundle.rootfs)?;
        let state_dir = std::path::absolute(&dir.path)
            .map_err(|e| Error::io(dir.path.display().to_string(), e))?;
        // criu wants its root to be a mount point whose parent is not
        // overmounted: bind the rootfs under the state dir, as runc does.
        let root = BoundRoot::new(&self.bundle.rootfs, &state_dir.join(CRIU_ROOT))?;
        let pidfile = state_dir.join("criu.pid");
        let cgroup = st.cgroup_path.clone().unwrap_or_default();

        let mut args: Vec<String> = vec![
            "restore".into(),
            "--images-dir".into(),
            self.image_dir.display().to_string(),
            "--log-file".into(),
            "restore.log".into(),
            "-v4".into(),
            "--root".into(),
            root.path.display().to_string(),
            "--restore-detached".into(),
            "--restore-sibling".into(),
            "--pidfile".into(),
            pidfile.display().to_string(),
            "--evasive-devices".into(),
            "--cgroup-root".into(),
            cgroup.display().to_string(),
        ];
        if let Some(w) = &self.work_dir {
            args.extend(["--work-dir".into(), w.display().to_string()]);
        }
        args.extend(self.o.criu.common_args(self.cg_mode.clone(), spec));
        if let Some(p) = &self.o.lsm_profile {
            args.extend(["--lsm-profile".into(), p.clone()]);
        }
        if let Some(c) = &self.o.lsm_mount_context {
            args.extend(["--lsm-mount-context".into(), c.clone()]);
        }
        // Joined namespaces: net and pid were dumped as external and are
        // handed over as fds; criu joins the others by path.
        let mut keep_fds = Vec::new();
        for (t, path, file) in &self.plan.join {
            match t {
                LinuxNamespaceType::Network | LinuxNamespaceType::Pid => {
                    let fd = file.as_raw_fd();
                    keep_fds.push(fd);
                    args.extend([
                        "--inherit-fd".into(),
                        format!("fd[{fd}]:{}", checkpoint::ext_ns_key(*t)),
                    ]);
                }
                _ => args.extend([
                    "--join-ns".into(),
                    format!("{}:{}", checkpoint::ns_name(*t), path.display()),
                ]),
            }
        }
        for (key, src) in checkpoint::external_mounts(spec, &self.bundle.dir) {
            let src = match src {
                ExtSource::Path(p) => p,
                // The new container's own directory, made before criu runs.
                ExtSource::Cgroup(host_mp) => {
                    host_mp.join(cgroup.strip_prefix("/").unwrap_or(&cgroup))
                }
            };
            args.extend([
                "--ext-mount-map".into(),
                format!("{}:{}", key.display(), src.display()),
            ]);
        }
        let masked = spec.linux().as_ref().and_then(|l| l.masked_paths().clone());
        if masked.is_some_and(|m| !m.is_empty()) {
            args.extend(["--ext-mount-map".into(), "/dev/null:/dev/null".into()]);
        }
        // The init's pipes (as checkpoint recorded them) become our stdio.
        for (fd, what) in descriptors(&self.image_dir).iter().enumerate() {
            if what.contains("pipe:") {
                args.extend(["--inherit-fd".into(), format!("fd[{fd}]:{what}")]);
            }
        }

        crate::logging::debug(&format!("{} {}", self.o.criu.criu(), args.join(" ")));
        let status = self.run_criu(&args, &keep_fds, &cgroup, spec)?;
        drop(root);
        let log = self
            .work_dir
            .as_deref()
            .unwrap_or(&self.image_dir)
            .join("restore.log");
        let pid = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        if let Some(pid) = pid {
            st.pid = pid;
        }
        let failed = match status {
            WaitStatus::Exited(_, 0) if pid.is_some() => None,
            WaitStatus::Exited(_, 0) => Some("criu wrote no pid file".to_string()),
            WaitStatus::Exited(_, 127) => Some(format!("could not run {}", self.o.criu.criu())),
            WaitStatus::Exited(_, c) => Some(format!("exit status {c}")),
            WaitStatus::Signaled(_, sig, _) => Some(format!("killed by {sig}")),
            other => Some(format!("{other:?}")),
        };
        if let Some(why) = failed {
            return Err(checkpoint::criu_failure(VERB, "restore", &log, &[], why));
        }
        let _ = std::fs::remove_file(&pidfile);
        st.pid_start = state::proc_stat(st.pid).map_or(0, |(_, s)| s);
        st.creating = false;
        dir.save(st)?;
        if let Some(pf) = &self.o.pid_file {
            super::create::write_pid_file(pf, st.pid)?;
        }
        Ok(())
    }

    /// Forks criu; before it execs, its process joins the container's
    /// cgroup and the limits are applied, so that what it restores starts
    /// limited.
    fn run_criu(
        &self,
        args: &[String],
        keep_fds: &[i32],
        cgroup: &Path,
        spec: &Spec,
    ) -> Result<WaitStatus> {
        let criu = self.o.criu.criu();
        let cstr = |s: &str| {
            CString::new(s).map_err(|_| Error::Other(format!("criu argument {s:?} holds a NUL")))
        };
        let mut argv = vec![cstr(criu)?];
        for a in args {
            argv.push(cstr(a)?);
        }
        let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let (go_r, go_w) = nix::unistd::pipe().map_err(|e| Error::sys("pipe", e))?;
        // SAFETY: we are single-threaded; the child only uses raw syscalls
        // on memory prepared before the fork, then execs or exits.
        match unsafe { nix::unistd::fork() }.map_err(|e| Error::sys("fork criu", e))? {
            ForkResult::Child => unsafe {
                libc::close(go_w.as_raw_fd());
                let mut b = 0u8;
                loop {
                    let n = libc::read(go_r.as_raw_fd(), (&mut b as *mut u8).cast(), 1);
                    if n == 1 {
                        break;
                    }
                    if n < 0 && *libc::__errno_location() == libc::EINTR {
                        continue;
                    }
                    libc::_exit(126);
                }
                for fd in keep_fds {
                    let fl = libc::fcntl(*fd, libc::F_GETFD);
                    libc::fcntl(*fd, libc::F_SETFD, fl & !libc::FD_CLOEXEC);
                }
                libc::execvp(ptrs[0], ptrs.as_ptr());
                libc::_exit(127);
            },
            ForkResult::Parent { child } => {
                drop(go_r);
                let setup = (|| -> Result<()> {
                    drop(cgroups::prepare_v2(cgroup)?);
                    cgroups::join(cgroup, child.as_raw())?;
                    cgroups::apply(cgroup, spec)
                })();
                if setup.is_ok() {
                    let _ = nix::unistd::write(&go_w, b"1");
                }
                drop(go_w);
                let status = loop {
                    match waitpid(child, None) {
                        Err(nix::errno::Errno::EINTR) => continue,
                        r => break r.map_err(|e| Error::sys("wait for criu", e))?,
                    }
                };
                setup?;
                Ok(status)
            }
        }
    }
}

/// The init's stdio as checkpoint recorded it; empty if not recorded.
fn descriptors(image_dir: &Path) -> Vec<String> {
    std::fs::read(image_dir.join(DESCRIPTORS))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_default()
}

/// Creates the mount points the checkpointed container had, as create made
/// them, except under a tmpfs (criu restores its content) and for cgroups.
fn make_mountpoints(spec: &Spec, bundle: &Path, rootfs: &Path) -> Result<()> {
    let mounts = spec.mounts().clone().unwrap_or_default();
    let root = SafeRoot::open(rootfs)?;
    let on_tmpfs = |dest: &Path| {
        mounts.iter().any(|m| {
            m.typ().as_deref() == Some("tmpfs")
                && dest != m.destination()
                && dest.starts_with(m.destination())
        })
    };
    for (i, m) in mounts.iter().enumerate() {
        let typ = m.typ().as_deref().unwrap_or("");
        let dest = m.destination();
        if typ == "cgroup" || typ == "cgroup2" || on_tmpfs(dest) {
            continue;
        }
        let bind = typ == "bind"
            || crate::rootfs::flags::parse(&m.options().clone().unwrap_or_default())
                .is_ok_and(|p| p.flags.contains(MsFlags::MS_BIND));
        let file_source = bind
            && m.source().as_ref().is_some_and(|s| {
                let s = if s.is_absolute() {
                    s.clone()
                } else {
                    bundle.join(s)
                };
                std::fs::metadata(s).is_ok_and(|md| !md.is_dir())
            });
        let r = if file_source {
            root.touch(dest)
        } else {
            root.mkdir_all(dest)
        };
        r.map_err(|e| {
            Error::field(
                format!("mounts[{i}] ({})", dest.display()),
                format!("restore: mount point: {e}"),
            )
        })?;
    }
    Ok(())
}

/// The rootfs bound at `<state dir>/criu-root` while criu runs.
struct BoundRoot {
    path: PathBuf,
}

impl BoundRoot {
    fn new(rootfs: &Path, at: &Path) -> Result<BoundRoot> {
        std::fs::create_dir(at).map_err(|e| Error::io(format!("mkdir {}", at.display()), e))?;
        let bound = BoundRoot {
            path: at.to_path_buf(),
        };
        crate::rootfs::mount(
            Some(rootfs),
            at,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )?;
        // Our mounts must not spread into other namespaces' copies of this one.
        let _ = crate::rootfs::mount(None, at, None, MsFlags::MS_PRIVATE | MsFlags::MS_REC, None);
        Ok(bound)
    }
}

impl Drop for BoundRoot {
    fn drop(&mut self) {
        if let Ok(c) = CString::new(self.path.as_os_str().as_bytes()) {
            // SAFETY: umount2 on a NUL-terminated path.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        if let Err(e) = std::fs::remove_dir(&self.path) {
            crate::logging::warn(&format!("remove {}: {e}", self.path.display()));
        }
    }
}
