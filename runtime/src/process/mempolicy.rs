//! linux.memoryPolicy: set_mempolicy(2) for the init and every exec'd
//! process, checked before anything exists (runc 1.4's rules).

use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType, Spec};

use super::cpus::{self, Mask};
use crate::{Error, Result};

/// Node masks hold 1024 bits, as runc's; the kernel counts maxnode - 1.
const MAX_NODES: usize = 1023;

/// A checked policy, ready for set_mempolicy.
pub struct Policy {
    mode: libc::c_int,
    name: String,
    nodes: Option<Mask>,
}

fn mode_of(m: MemoryPolicyModeType) -> (libc::c_int, Option<bool>) {
    use MemoryPolicyModeType::*;
    // (mode, Some(true): needs nodes, Some(false): takes none, None: either)
    match m {
        MpolDefault => (libc::MPOL_DEFAULT, Some(false)),
        MpolLocal => (libc::MPOL_LOCAL, Some(false)),
        MpolPreferred => (libc::MPOL_PREFERRED, None),
        MpolBind => (libc::MPOL_BIND, Some(true)),
        MpolInterleave => (libc::MPOL_INTERLEAVE, Some(true)),
        MpolPreferredMany => (5, Some(true)),
        MpolWeightedInterleave => (6, Some(true)),
    }
}

fn flag_of(f: MemoryPolicyFlagType) -> libc::c_int {
    match f {
        MemoryPolicyFlagType::MpolFStaticNodes => libc::MPOL_F_STATIC_NODES,
        MemoryPolicyFlagType::MpolFRelativeNodes => libc::MPOL_F_RELATIVE_NODES,
        MemoryPolicyFlagType::MpolFNumaBalancing => libc::MPOL_F_NUMA_BALANCING,
    }
}

/// Checks linux.memoryPolicy against the host; None when there is none.
pub fn from_spec(spec: &Spec) -> Result<Option<Policy>> {
    let Some(p) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.memory_policy().as_ref())
    else {
        return Ok(None);
    };
    check(p).map(Some)
}

fn check(p: &LinuxMemoryPolicy) -> Result<Policy> {
    let name = p.mode().to_string();
    let (mut mode, wants_nodes) = mode_of(p.mode());
    let flags = p.flags().clone().unwrap_or_default();
    for f in &flags {
        mode |= flag_of(*f);
    }
    let nodes = match p.nodes().as_deref().filter(|n| !n.trim().is_empty()) {
        Some(list) => Some(
            Mask::parse(list, MAX_NODES)
                .map_err(|e| Error::field("linux.memoryPolicy.nodes", e))?,
        ),
        None => None,
    };
    match (wants_nodes, &nodes) {
        (Some(false), Some(_)) => {
            return Err(Error::field(
                "linux.memoryPolicy.nodes",
                format!("{name} takes no nodes"),
            ))
        }
        (Some(true), None) => {
            return Err(Error::field(
                "linux.memoryPolicy.nodes",
                format!("{name} needs at least one node"),
            ))
        }
        _ => {}
    }
    if let Some(n) = &nodes {
        let Some(host) = cpus::online("/sys/devices/system/node/online", MAX_NODES) else {
            return Err(Error::field(
                "linux.memoryPolicy",
                format!("{name} with nodes needs NUMA, and this host has no NUMA support"),
            ));
        };
        // Relative node numbers are positions in the allowed set, not ids.
        let relative = flags.contains(&MemoryPolicyFlagType::MpolFRelativeNodes);
        let missing = n.missing_from(&host);
        if !relative && !missing.is_empty() {
            return Err(Error::field(
                "linux.memoryPolicy.nodes",
                format!("NUMA nodes {missing:?} are not online on this host"),
            ));
        }
    }
    Ok(Policy { mode, name, nodes })
}

impl Policy {
    /// set_mempolicy for this process (inherited across execve).
    pub fn apply(&self) -> Result<()> {
        let (mask, maxnode) = match &self.nodes {
            Some(m) => (m.0.as_slice(), MAX_NODES + 1),
            None => (&[][..], 0),
        };
        crate::syscall::set_mempolicy(self.mode, mask, maxnode).map_err(|e| {
            Error::field(
                "linux.memoryPolicy",
                format!("set_mempolicy({}): {e}", self.name),
            )
        })
    }
}
