//! `linux.netDevices` (runtime-spec 1.3): host network interfaces moved into
//! the container's network namespace, as runc 1.4 does it.
//!
//! [`check`] runs before anything exists: names valid, a network namespace to
//! move into, every host device present. In create, after the init is cloned
//! and before the first `go` (so before the container's process can run),
//! [`move_all`] takes each device: its new name is checked to be free inside,
//! its permanent global addresses are read, it is set down, then moved and
//! renamed in one RTM_NEWLINK (IFLA_NET_NS_FD + IFLA_IFNAME: the kernel
//! renames it in the container's namespace, so the new name never meets a
//! clash on the host), and inside its addresses are added back and it is set up.
//! MTU and MAC address travel with the device. The addresses are read before
//! the device goes down, because setting it down drops its IPv6 addresses
//! (unless `keep_addr_on_down`); the kernel drops the rest on the move.
//!
//! Nothing is undone at delete, and a create that fails after a move needs
//! nothing more than the init's death either: when a new network namespace
//! dies, the kernel moves physical devices back to the initial namespace
//! (down, without addresses) and destroys virtual ones (a veth with its
//! peer). A device moved into a namespace joined by path stays there when the
//! container is gone, or when create fails after the move: runc leaves it
//! there too.
//!
//! The netlink messages are written by hand in netlink.rs; every request
//! asks for an ack and every ack is checked.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;

use nix::errno::Errno;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::Context;
use crate::namespaces::Plan;
use crate::netlink::{Addr, Netlink, NlError};
use crate::{Error, Result};

/// IFNAMSIZ - 1: the longest interface name the kernel takes.
const MAX_NAME: usize = 15;

/// One device to move: its name on the host and the name it gets inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub host: String,
    pub name: String,
}

impl Device {
    fn field(&self) -> String {
        field(&self.host)
    }
}

fn field(host: &str) -> String {
    format!("linux.netDevices[{}]", host.escape_debug())
}

/// The kernel's rule for interface names (dev_valid_name), as runc checks it.
pub fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= MAX_NAME
        && n != "."
        && n != ".."
        && !n
            .chars()
            .any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
}

/// Validates `linux.netDevices` before anything exists and returns the
/// devices, sorted by host name (the order they are moved in).
pub fn check(spec: &Spec, plan: &Plan) -> Result<Vec<Device>> {
    let Some(map) = spec.linux().as_ref().and_then(|l| l.net_devices().as_ref()) else {
        return Ok(Vec::new());
    };
    if map.is_empty() {
        return Ok(Vec::new());
    }
    let needs = "moving network devices needs a network namespace";
    let joined = plan
        .join
        .iter()
        .find(|(t, _, _)| *t == LinuxNamespaceType::Network);
    if !plan.has_new(LinuxNamespaceType::Network) && joined.is_none() {
        return Err(Error::field("linux.netDevices", needs));
    }
    if let Some((_, path, f)) = joined {
        if same_file(f, "/proc/self/ns/net") {
            return Err(Error::field(
                "linux.netDevices",
                format!("{needs} ({} is the runtime's own)", path.display()),
            ));
        }
    }
    let devices = devices(map)?;
    let mut nl = Netlink::open().ctx(|| "linux.netDevices: netlink socket".into())?;
    for d in &devices {
        match nl.link(&d.host) {
            Ok(_) => {}
            Err(e) if e.errno == Errno::ENODEV => {
                return Err(Error::field(
                    d.field(),
                    "no such network device on the host",
                ))
            }
            Err(e) => return Err(Error::field(d.field(), format!("look up on the host: {e}"))),
        }
    }
    Ok(devices)
}

/// The devices of the map with valid names, no two given the same name.
fn devices(map: &HashMap<String, oci_spec::runtime::LinuxNetDevice>) -> Result<Vec<Device>> {
    let mut out: Vec<Device> = Vec::with_capacity(map.len());
    let mut hosts: Vec<&String> = map.keys().collect();
    hosts.sort();
    for host in hosts {
        let bad = |n: &str| Error::field(field(host), format!("invalid network device name {n:?}"));
        if !valid_name(host) {
            return Err(bad(host));
        }
        // No name, or an empty one, keeps the host's (runc's reading).
        let name = match map[host].name().as_deref() {
            None | Some("") => host.clone(),
            Some(n) if valid_name(n) => n.to_string(),
            Some(n) => return Err(bad(n)),
        };
        if let Some(other) = out.iter().find(|d| d.name == name) {
            return Err(Error::field(
                field(host),
                format!("name {name:?} is already given to {}", other.field()),
            ));
        }
        out.push(Device {
            host: host.clone(),
            name,
        });
    }
    Ok(out)
}

fn same_file(f: &File, path: &str) -> bool {
    match (f.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Moves every device into the container's network namespace: the one
/// joined by path (the init enters it only after `go`), else the init's own
/// new one. Runs in the parent before the first `go`.
pub fn move_all(devices: &[Device], plan: &Plan, pid: libc::pid_t) -> Result<()> {
    if devices.is_empty() {
        return Ok(());
    }
    let proc_ns;
    let target: BorrowedFd<'_> = match plan
        .join
        .iter()
        .find(|(t, _, _)| *t == LinuxNamespaceType::Network)
    {
        Some((_, _, f)) => f.as_fd(),
        None => {
            let p = format!("/proc/{pid}/ns/net");
            proc_ns = File::open(&p).ctx(|| format!("linux.netDevices: open {p}"))?;
            proc_ns.as_fd()
        }
    };
    let mut host = Netlink::open().ctx(|| "linux.netDevices: netlink socket".into())?;
    let mut ctr = Netlink::open_in(target)?;
    for d in devices {
        move_one(&mut host, &mut ctr, target, d)?;
    }
    Ok(())
}

fn move_one(
    host: &mut Netlink,
    ctr: &mut Netlink,
    target: BorrowedFd<'_>,
    d: &Device,
) -> Result<()> {
    let fail = |what: &str, e: NlError| Error::field(d.field(), format!("{what}: {e}"));
    let link = host.link(&d.host).map_err(|e| {
        if e.errno == Errno::ENODEV {
            Error::field(d.field(), "no such network device on the host")
        } else {
            fail("look up on the host", e)
        }
    })?;
    // The kernel renames after the move, so a name taken inside would fail
    // with the device already gone from the host: refuse it first.
    match ctr.link(&d.name) {
        Ok(_) => {
            return Err(Error::field(
                d.field(),
                format!(
                    "{:?} already exists in the container's network namespace",
                    d.name
                ),
            ))
        }
        Err(e) if e.errno == Errno::ENODEV => {}
        Err(e) => {
            return Err(fail(
                "look up its name in the container's network namespace",
                e,
            ))
        }
    }
    // Addresses first: setting the device down drops its IPv6 ones.
    let addrs: Vec<Addr> = host
        .addresses(link.index)
        .map_err(|e| fail("read its addresses", e))?
        .into_iter()
        // Only what a user configured for good (runc's rule): dynamic
        // addresses and those of host or link scope mean nothing elsewhere.
        .filter(|a| a.flags & libc::IFA_F_PERMANENT != 0 && a.scope == libc::RT_SCOPE_UNIVERSE)
        .collect();
    let was_up = link.flags & libc::IFF_UP as u32 != 0;
    if was_up {
        host.set_up(link.index, false)
            .map_err(|e| fail("set down on the host", e))?;
    }
    if let Err(e) = host.move_to(link.index, &d.name, target) {
        // Refused before the move (a device bound to its namespace, like
        // lo or a bridge): up again as it was, its IPv6 addresses gone.
        if was_up {
            let _ = host.set_up(link.index, true);
        }
        return Err(fail("move to the container's network namespace", e));
    }
    let inside = ctr.link(&d.name).map_err(|e| {
        fail(
            &format!("find {:?} in the container's network namespace", d.name),
            e,
        )
    })?;
    for a in &addrs {
        ctr.add_address(inside.index, a)
            .map_err(|e| fail(&format!("add address {a} in the container"), e))?;
    }
    ctr.set_up(inside.index, true)
        .map_err(|e| fail("set up in the container", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["eth0", "a", "ctr_dummy0", "x.y-z", "123456789012345"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a:b",
            "a b",
            "a\tb",
            "a\0",
            "1234567890123456",
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    fn map(pairs: &[(&str, Option<&str>)]) -> HashMap<String, oci_spec::runtime::LinuxNetDevice> {
        pairs
            .iter()
            .map(|(h, n)| {
                let mut d = oci_spec::runtime::LinuxNetDevice::default();
                d.set_name(n.map(String::from));
                (h.to_string(), d)
            })
            .collect()
    }

    #[test]
    fn devices_sorted_renamed_and_checked() {
        let d = devices(&map(&[("eth2", None), ("eth1", Some("ctr0"))])).unwrap();
        assert_eq!(
            d,
            vec![
                Device {
                    host: "eth1".into(),
                    name: "ctr0".into()
                },
                Device {
                    host: "eth2".into(),
                    name: "eth2".into()
                },
            ]
        );
        let e = devices(&map(&[("a/b", None)])).unwrap_err().to_string();
        assert_eq!(
            e,
            r#"linux.netDevices[a/b]: invalid network device name "a/b""#
        );
        let e = devices(&map(&[("eth1", Some("a b"))]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            r#"linux.netDevices[eth1]: invalid network device name "a b""#
        );
        let e = devices(&map(&[("eth1", None), ("eth2", Some("eth1"))]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("linux.netDevices[eth2]: name \"eth1\""),
            "{e}"
        );
        let e = devices(&map(&[("a\nb", None)])).unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
    }
}
