//! How a new init enters its cgroup without waiting for an RCU grace period.
//!
//! Writing a pid to cgroup.procs takes the global threadgroup rwsem for
//! writing, which waits for a grace period: 5 to 18 ms measured here on the
//! first of a container's ten v1 hierarchies, more than the rest of a `run`.
//! Two ways around it, both taken before the clone:
//! - the unified hierarchy (pure v2, and hybrid's /sys/fs/cgroup/unified):
//!   the init is born in it (clone3 CLONE_INTO_CGROUP), no migration at all;
//! - each v1 hierarchy: its `tasks` file is opened here and the init, one
//!   thread, writes "0" to it itself. A thread moving itself is the case the
//!   kernel migrates without that rwsem (Linux 6.0, "cgroup: Optimize single
//!   thread migration"); older kernels take it, which is what a cgroup.procs
//!   write costs anyway.
//!
//! What neither covered (an old kernel without CLONE_INTO_CGROUP, an init
//! cloned by a helper) is joined by the runtime with the child's pid.

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The container's cgroup, made and opened before the init is cloned.
pub struct Prepared {
    path: PathBuf,
    /// Pure v2: the cgroup; hybrid: its dir in the unified hierarchy.
    born: Option<OwnedFd>,
    pure_v2: bool,
    /// Hybrid: the container's dir in the unified hierarchy.
    unified: Option<PathBuf>,
    /// v1: each hierarchy's dir and its `tasks` file, for the init to write.
    tasks: Vec<(PathBuf, File)>,
}

/// Makes the cgroup's dirs and opens what the init is born into or writes
/// itself; with `self_join` false (an init cloned by a helper) the v1 dirs
/// are made and the runtime joins them after the clone ([`Prepared::finish`]).
pub fn prepare(path: &Path, self_join: bool) -> Result<Prepared> {
    open(path, self_join, true)
}

/// The existing cgroup of a container, opened for a process `exec` clones.
pub fn existing(path: &Path) -> Result<Prepared> {
    open(path, true, false)
}

fn open(path: &Path, self_join: bool, create: bool) -> Result<Prepared> {
    if super::pure_v2() {
        let born = if create {
            super::prepare_v2(path)?
        } else {
            super::open_v2(path)
        };
        return Ok(Prepared {
            path: path.to_path_buf(),
            born,
            pure_v2: true,
            unified: None,
            tasks: Vec::new(),
        });
    }
    let mut tasks = Vec::new();
    for d in super::v1_dirs(path).unwrap_or_default() {
        if create {
            super::make_v1_dir(&d)?;
        }
        if self_join {
            tasks.push((d.clone(), open_write(&d.join("tasks"))?));
        }
    }
    // Into the freezer last: in a paused container (exec --ignore-paused) the
    // process stops there, and by then it is in every other hierarchy.
    tasks.sort_by_key(|(d, _)| super::in_hierarchy(d, "freezer"));
    let unified = super::hybrid_unified_dir(path);
    let born = match &unified {
        Some(u) => {
            if create {
                std::fs::create_dir_all(u).map_err(|e| cg_err("create", u, e))?;
            }
            Some(open_dir(u)?)
        }
        None => None,
    };
    Ok(Prepared {
        path: path.to_path_buf(),
        born,
        pure_v2: false,
        unified,
        tasks,
    })
}

impl Prepared {
    /// What to clone the init into (CLONE_INTO_CGROUP).
    pub fn born_in(&self) -> Option<&OwnedFd> {
        self.born.as_ref()
    }

    /// In the init, first thing: moves itself into each v1 hierarchy, and
    /// closes the fds (none reaches the container).
    pub fn join_self(self) -> Result<()> {
        for (dir, mut file) in self.tasks {
            file.write_all(b"0").map_err(|e| cg_err("join", &dir, e))?;
        }
        Ok(())
    }

    /// In the runtime after the clone: joins `pid` where neither its birth
    /// nor its own writes put it. Closes every fd.
    pub fn finish(self, pid: i32, born: bool) -> Result<()> {
        if self.pure_v2 {
            return if born {
                Ok(())
            } else {
                super::add(&self.path, pid)
            };
        }
        if self.tasks.is_empty() {
            for d in super::v1_dirs(&self.path).unwrap_or_default() {
                super::write_procs(&d, pid)?;
            }
        }
        match (&self.unified, born) {
            (Some(u), false) => super::write_procs(u, pid),
            _ => Ok(()),
        }
    }
}

fn open_write(file: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .map_err(|e| cg_err("open", file, e))
}

fn open_dir(dir: &Path) -> Result<OwnedFd> {
    std::fs::File::open(dir)
        .map(OwnedFd::from)
        .map_err(|e| cg_err("open", dir, e))
}

fn cg_err(what: &str, p: &Path, e: std::io::Error) -> Error {
    Error::Cgroup(format!("{what} {}: {e}", p.display()))
}
