//! Capabilities in runc's order: drop the bounding set while still root,
//! switch user keeping permitted caps, then set E/P/I in one capset, then ambient.

use std::collections::HashSet;

use nix::errno::Errno;
use oci_spec::runtime::{Capability, LinuxCapabilities};

use crate::error::Context;
use crate::{Error, Result};

/// A capability set as the kernel's 64-bit mask.
fn mask(set: &Option<HashSet<Capability>>) -> Result<u64> {
    let mut m = 0u64;
    for c in set.iter().flatten() {
        let name = format!("CAP_{c}");
        let cap: caps::Capability = name
            .parse()
            .map_err(|_| Error::field("process.capabilities", format!("unknown {name}")))?;
        m |= 1u64 << cap.index();
    }
    Ok(m)
}

fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Step 1, as root: drop every capability not in the bounding set.
pub fn drop_bounding(c: &LinuxCapabilities) -> Result<()> {
    let keep = mask(c.bounding())?;
    for i in 0..=last_cap() {
        if keep & (1 << i) == 0 {
            // SAFETY: prctl with integer arguments only.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, i as libc::c_ulong, 0, 0, 0) };
            // EINVAL: the kernel doesn't know this capability.
            if r < 0 && Errno::last() != Errno::EINVAL {
                return Err(Error::sys(
                    format!("process.capabilities.bounding: drop capability {i}"),
                    Errno::last(),
                ));
            }
        }
    }
    Ok(())
}

/// Step 3, after the uid switch: effective, permitted and inheritable at once.
pub fn set_eip(c: &LinuxCapabilities) -> Result<()> {
    let e = mask(c.effective())?;
    let p = mask(c.permitted())?;
    let i = mask(c.inheritable())?;
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut hdr = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let data = [
        Data {
            effective: e as u32,
            permitted: p as u32,
            inheritable: i as u32,
        },
        Data {
            effective: (e >> 32) as u32,
            permitted: (p >> 32) as u32,
            inheritable: (i >> 32) as u32,
        },
    ];
    // SAFETY: header and two data structs in the layout capset(2) expects for v3.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut Header, data.as_ptr()) };
    Errno::result(r).map(drop).ctx(|| {
        "process.capabilities: capset (a capability outside the host's bounding set?)".into()
    })
}

/// Step 4: raise the ambient set (needs each cap in permitted and inheritable).
pub fn raise_ambient(c: &LinuxCapabilities) -> Result<()> {
    let a = mask(c.ambient())?;
    for i in 0..64u64 {
        if a & (1 << i) != 0 {
            // SAFETY: prctl with integer arguments only.
            let r = unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                    i as libc::c_ulong,
                    0,
                    0,
                )
            };
            if r < 0 {
                // runc goes on too: ambient needs the cap inheritable as well,
                // and runc's own default spec asks for ambient without it.
                crate::logging::debug(&format!(
                    "process.capabilities.ambient: cannot raise capability {i}: {}",
                    Errno::last()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_follow_kernel_numbers() {
        let set: HashSet<Capability> = [Capability::Chown, Capability::Kill].into();
        assert_eq!(mask(&Some(set)).unwrap(), (1 << 0) | (1 << 5));
        assert_eq!(mask(&None).unwrap(), 0);
    }
}
