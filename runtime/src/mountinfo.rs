//! /proc/self/mountinfo, read in one go.
//!
//! The kernel reports its size as 0, so `read_to_string` probes with 32 bytes
//! and doubles: eight read(2)s, each of which restarts the seq_file walk. A
//! buffer sized for a host's table takes it in one read (and one for EOF).
//! The runtime's own mount table does not change while it runs (the exeseal
//! overlay is detached, and a container without a mount namespace of its own
//! is read through [`read`]), so the cgroup code reads it once a process.

use std::io::Read;
use std::sync::OnceLock;

/// Enough for a few hundred mounts; a bigger table just takes more reads.
const INITIAL: usize = 32 * 1024;

/// The current mount namespace's table, read now.
pub fn read() -> Option<String> {
    let mut f = std::fs::File::open("/proc/self/mountinfo").ok()?;
    let mut s = String::with_capacity(INITIAL);
    f.read_to_string(&mut s).ok()?;
    Some(s)
}

/// The table of the namespace the runtime started in, read on first use.
/// Only for what doesn't change under it (where the cgroup hierarchies are,
/// also in the init's copy of the namespace, which inherits it read); what
/// the init mounts itself is only in [`read`].
pub fn runtime_ns() -> Option<&'static str> {
    static INFO: OnceLock<Option<String>> = OnceLock::new();
    INFO.get_or_init(read).as_deref()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_whole_table() {
        let s = super::read().unwrap();
        assert!(s.ends_with('\n'), "{s}");
        assert!(s.lines().any(|l| l.split(' ').nth(4) == Some("/")), "{s}");
        assert_eq!(super::runtime_ns(), Some(s.as_str()));
    }
}
