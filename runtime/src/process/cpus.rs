//! CPU and NUMA node lists ("0-3,7") as bit masks, and process.execCPUAffinity.
//!
//! The spec makes execCPUAffinity an attribute of exec'd processes ("not
//! applicable to the container's init", and runc agrees): `initial` is the
//! affinity the process is born with, before it joins the container's
//! cgroup, `final` the one it gets after. config.json's value is what `exec`
//! inherits unless --process gives its own.

use oci_spec::runtime::{ExecCPUAffinity, Process};

use crate::{Error, Result};

const WORD: usize = libc::c_ulong::BITS as usize;

/// A set of CPUs or nodes, one bit each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask(pub Vec<libc::c_ulong>);

impl Mask {
    /// Parses a list like "0-3,7" (spaces and empty elements ignored), with
    /// every member below `limit`.
    pub fn parse(list: &str, limit: usize) -> std::result::Result<Mask, String> {
        let mut words = vec![0 as libc::c_ulong; limit.div_ceil(WORD)];
        let mut any = false;
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let num = |s: &str| {
                s.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("{s:?} in {list:?} is not a number"))
            };
            let (a, b) = (num(a)?, num(b)?);
            if a > b {
                return Err(format!("invalid range {part:?} in {list:?}"));
            }
            if b >= limit {
                return Err(format!(
                    "{b} in {list:?} is too large (at most {})",
                    limit - 1
                ));
            }
            for i in a..=b {
                words[i / WORD] |= 1 << (i % WORD);
            }
            any = true;
        }
        if !any {
            return Err(format!("no members in {list:?}"));
        }
        Ok(Mask(words))
    }

    pub fn contains(&self, i: usize) -> bool {
        self.0
            .get(i / WORD)
            .is_some_and(|w| w & (1 << (i % WORD)) != 0)
    }

    /// The members not in `other`.
    pub fn missing_from(&self, other: &Mask) -> Vec<usize> {
        (0..self.0.len() * WORD)
            .filter(|i| self.contains(*i) && !other.contains(*i))
            .collect()
    }

    /// The highest member + 1 (the `maxnode` a node mask needs).
    pub fn bits(&self) -> usize {
        (0..self.0.len() * WORD)
            .rev()
            .find(|i| self.contains(*i))
            .map_or(0, |i| i + 1)
    }
}

/// CPUs an affinity mask may name (the kernel's limit is NR_CPUS; 8192 covers
/// every x86_64 configuration).
const MAX_CPUS: usize = 8192;

/// The host's online CPUs (or nodes): a sysfs list file.
pub fn online(file: &str, limit: usize) -> Option<Mask> {
    let s = std::fs::read_to_string(file).ok()?;
    Mask::parse(s.trim(), limit).ok()
}

/// The parsed initial and final masks of a process.
#[derive(Default)]
pub struct Affinity {
    pub initial: Option<Mask>,
    pub final_: Option<Mask>,
}

fn parse_one(field: &str, list: &Option<String>) -> Result<Option<Mask>> {
    let Some(list) = list.as_deref().filter(|l| !l.trim().is_empty()) else {
        return Ok(None);
    };
    let mask = Mask::parse(list, MAX_CPUS).map_err(|e| Error::field(field, e))?;
    if let Some(host) = online("/sys/devices/system/cpu/online", MAX_CPUS) {
        let missing = mask.missing_from(&host);
        if !missing.is_empty() {
            return Err(Error::field(
                field,
                format!("CPUs {missing:?} are not online on this host"),
            ));
        }
    }
    Ok(Some(mask))
}

/// Checks and parses process.execCPUAffinity; an error names the field.
pub fn affinity(p: &Process) -> Result<Affinity> {
    let Some(a): Option<&ExecCPUAffinity> = p.exec_cpu_affinity().as_ref() else {
        return Ok(Affinity::default());
    };
    Ok(Affinity {
        initial: parse_one("process.execCPUAffinity.initial", a.initial())?,
        final_: parse_one("process.execCPUAffinity.final", a.cpu_affinity_final())?,
    })
}

pub fn set(field: &str, mask: &Mask) -> Result<()> {
    crate::syscall::set_affinity(&mask.0)
        .map_err(|e| Error::field(field, format!("sched_setaffinity: {e}")))
}

/// After the init joined its cgroup: every CPU the cgroup allows, so a
/// runtime started under `taskset` does not pin the container (runc 1.2.7+
/// does the same). The kernel trims the full mask to the cpuset.
pub fn reset_to_cgroup() {
    let all = Mask(vec![libc::c_ulong::MAX; MAX_CPUS / WORD]);
    let _ = crate::syscall::set_affinity(&all.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        let m = Mask::parse("0-2, 7,,", 64).unwrap();
        assert!((0..3).all(|i| m.contains(i)) && m.contains(7) && !m.contains(3));
        assert_eq!(m.bits(), 8);
        assert!(Mask::parse("3-1", 64)
            .unwrap_err()
            .contains("invalid range"));
        assert!(Mask::parse("x", 64).unwrap_err().contains("not a number"));
        assert!(Mask::parse(",", 64).unwrap_err().contains("no members"));
        assert!(Mask::parse("64", 64).unwrap_err().contains("too large"));
        let host = Mask::parse("0-1", 64).unwrap();
        assert_eq!(
            Mask::parse("1-3", 64).unwrap().missing_from(&host),
            vec![2, 3]
        );
    }
}
