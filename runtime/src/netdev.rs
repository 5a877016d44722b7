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
//! The netlink messages are written by hand: a header, the family header
//! (ifinfomsg or ifaddrmsg), attributes; every request asks for an ack and
//! every ack is checked, with the kernel's extended-ack text where it gives one.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use nix::errno::Errno;
use nix::sys::socket::{
    recvfrom, sendto, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
    SockType,
};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::Context;
use crate::namespaces::Plan;
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

/// A link as RTM_GETLINK reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Link {
    index: i32,
    flags: u32,
}

/// An interface address as RTM_GETADDR reports it; the raw attributes are
/// what RTM_NEWADDR takes back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Addr {
    family: u8,
    prefixlen: u8,
    scope: u8,
    flags: u32,
    index: u32,
    local: Option<Vec<u8>>,
    address: Option<Vec<u8>>,
    broadcast: Option<Vec<u8>>,
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let raw = self.local.as_ref().or(self.address.as_ref());
        match raw.and_then(|b| ip(b)) {
            Some(ip) => write!(f, "{ip}/{}", self.prefixlen),
            None => write!(f, "?/{}", self.prefixlen),
        }
    }
}

fn ip(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => None,
    }
}

/// A failed netlink request: the errno and the kernel's extended-ack text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NlError {
    pub errno: Errno,
    pub msg: Option<String>,
}

impl From<Errno> for NlError {
    fn from(errno: Errno) -> Self {
        NlError { errno, msg: None }
    }
}

impl fmt::Display for NlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.msg {
            Some(m) => write!(f, "{} ({m})", self.errno),
            None => write!(f, "{}", self.errno),
        }
    }
}

const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
/// NLM_F_CAPPED: the error message carries only the request's header.
const NLM_F_CAPPED: u16 = 0x100;
/// NLMSGERR_ATTR_MSG: the extended ack's text.
const NLMSGERR_ATTR_MSG: u16 = 1;
/// NLA_TYPE_MASK: an attribute type without the nested/byte-order bits.
const NLA_TYPE_MASK: u16 = 0x3fff;

fn align(n: usize) -> usize {
    (n + 3) & !3
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// struct ifinfomsg: family, pad, type, index, flags, change.
fn ifinfomsg(index: i32, flags: u32, change: u32) -> [u8; IFINFOMSG_LEN] {
    let mut b = [0u8; IFINFOMSG_LEN];
    b[0] = libc::AF_UNSPEC as u8;
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// struct ifaddrmsg: family, prefixlen, flags, scope, index.
fn ifaddrmsg(family: u8, prefixlen: u8, scope: u8, index: u32) -> [u8; IFADDRMSG_LEN] {
    let mut b = [0u8; IFADDRMSG_LEN];
    b[0] = family;
    b[1] = prefixlen;
    b[3] = scope;
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// One request: struct nlmsghdr, the family header, rtattrs.
struct Request {
    buf: Vec<u8>,
    dump: bool,
}

impl Request {
    fn new(ty: u16, flags: libc::c_int, family_hdr: &[u8]) -> Request {
        let flags = (libc::NLM_F_REQUEST | flags) as u16;
        let mut buf = vec![0u8; NLMSG_HDRLEN];
        buf[4..6].copy_from_slice(&ty.to_ne_bytes());
        buf[6..8].copy_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(family_hdr);
        buf.resize(align(buf.len()), 0);
        let dump = flags & libc::NLM_F_DUMP as u16 == libc::NLM_F_DUMP as u16;
        Request { buf, dump }
    }

    fn attr(mut self, ty: u16, data: &[u8]) -> Request {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align(self.buf.len()), 0);
        self
    }

    /// The bytes to send, with length and sequence number filled in.
    fn finish(&mut self, seq: u32) -> &[u8] {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        &self.buf
    }
}

/// The rtattrs of `data`: (type, payload).
fn attrs(data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 4 <= data.len() {
        let len = u16_at(data, off) as usize;
        if len < 4 || off + len > data.len() {
            break;
        }
        out.push((
            u16_at(data, off + 2) & NLA_TYPE_MASK,
            &data[off + 4..off + len],
        ));
        off += align(len);
    }
    out
}

/// The payload of an NLMSG_ERROR: Ok for an ack, else the errno and the
/// extended ack's text if any.
fn parse_error(payload: &[u8], flags: u16) -> Result<(), NlError> {
    if payload.len() < 4 {
        return Err(Errno::EBADMSG.into());
    }
    let err = i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
    if err == 0 {
        return Ok(());
    }
    let errno = Errno::from_raw(-err);
    let mut msg = None;
    if flags & libc::NLM_F_ACK_TLVS as u16 != 0 && payload.len() >= 4 + NLMSG_HDRLEN {
        let orig = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            u32_at(payload, 4) as usize
        };
        let start = 4 + align(orig);
        if start <= payload.len() {
            msg = attrs(&payload[start..])
                .into_iter()
                .find(|(t, _)| *t == NLMSGERR_ATTR_MSG)
                .map(|(_, v)| {
                    let v = v.split(|b| *b == 0).next().unwrap_or(v);
                    String::from_utf8_lossy(v).into_owned()
                })
                .filter(|m| !m.is_empty());
        }
    }
    Err(NlError { errno, msg })
}

fn parse_link(payload: &[u8]) -> Option<Link> {
    (payload.len() >= IFINFOMSG_LEN).then(|| Link {
        index: u32_at(payload, 4) as i32,
        flags: u32_at(payload, 8),
    })
}

fn parse_addr(payload: &[u8]) -> Option<Addr> {
    if payload.len() < IFADDRMSG_LEN {
        return None;
    }
    let mut a = Addr {
        family: payload[0],
        prefixlen: payload[1],
        flags: u32::from(payload[2]),
        scope: payload[3],
        index: u32_at(payload, 4),
        local: None,
        address: None,
        broadcast: None,
    };
    for (t, v) in attrs(&payload[IFADDRMSG_LEN..]) {
        match t {
            libc::IFA_FLAGS if v.len() >= 4 => a.flags = u32_at(v, 0),
            libc::IFA_LOCAL => a.local = Some(v.to_vec()),
            libc::IFA_ADDRESS => a.address = Some(v.to_vec()),
            libc::IFA_BROADCAST => a.broadcast = Some(v.to_vec()),
            _ => {}
        }
    }
    Some(a)
}

/// A NETLINK_ROUTE socket; it acts in the network namespace it was made in.
struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

impl Netlink {
    fn open() -> std::result::Result<Netlink, Errno> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        let on: libc::c_int = 1;
        // SAFETY: setsockopt reads an int through a pointer valid for the
        // size given. Failure (a kernel without extended acks) is harmless.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_NETLINK,
                libc::NETLINK_EXT_ACK,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        Ok(Netlink { fd, seq: 0 })
    }

    /// A socket in the namespace `ns`: setns there, make it, setns back.
    fn open_in(ns: BorrowedFd<'_>) -> Result<Netlink> {
        let own = File::open("/proc/self/ns/net")
            .ctx(|| "linux.netDevices: open /proc/self/ns/net".into())?;
        crate::syscall::setns(ns, libc::CLONE_NEWNET)
            .ctx(|| "linux.netDevices: enter the container's network namespace".into())?;
        let sock = Netlink::open();
        crate::syscall::setns(own.as_fd(), libc::CLONE_NEWNET)
            .ctx(|| "linux.netDevices: return to the runtime's network namespace".into())?;
        sock.ctx(|| "linux.netDevices: netlink socket in the container's network namespace".into())
    }

    /// Sends `req` and returns the replies, (type, payload), up to its ack
    /// or, for a dump, its NLMSG_DONE. Only the kernel's messages count.
    fn request(&mut self, mut req: Request) -> std::result::Result<Vec<(u16, Vec<u8>)>, NlError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let dump = req.dump;
        let bytes = req.finish(seq);
        let kernel = NetlinkAddr::new(0, 0);
        let sent = sendto(self.fd.as_raw_fd(), bytes, &kernel, MsgFlags::empty())?;
        if sent != bytes.len() {
            return Err(Errno::EMSGSIZE.into());
        }
        let mut buf = vec![0u8; 64 * 1024];
        let mut out = Vec::new();
        let mut interrupted = false;
        loop {
            let (n, from) = match recvfrom::<NetlinkAddr>(self.fd.as_raw_fd(), &mut buf) {
                Err(Errno::EINTR) => continue,
                r => r?,
            };
            if from.is_none_or(|a| a.pid() != 0) {
                continue;
            }
            let mut off = 0;
            while off + NLMSG_HDRLEN <= n {
                let len = u32_at(&buf, off) as usize;
                if len < NLMSG_HDRLEN || off + len > n {
                    return Err(Errno::EBADMSG.into());
                }
                let ty = u16_at(&buf, off + 4);
                let flags = u16_at(&buf, off + 6);
                let mseq = u32_at(&buf, off + 8);
                let payload = &buf[off + NLMSG_HDRLEN..off + len];
                off += align(len);
                if mseq != seq {
                    continue;
                }
                if flags & libc::NLM_F_DUMP_INTR as u16 != 0 {
                    interrupted = true;
                }
                match libc::c_int::from(ty) {
                    libc::NLMSG_NOOP => {}
                    libc::NLMSG_ERROR => return parse_error(payload, flags).map(|()| out),
                    libc::NLMSG_DONE if dump => {
                        // The dump's own error, if it failed midway.
                        if payload.len() >= 4 {
                            let e = i32::from_ne_bytes([
                                payload[0], payload[1], payload[2], payload[3],
                            ]);
                            if e < 0 {
                                return Err(Errno::from_raw(-e).into());
                            }
                        }
                        if interrupted {
                            return Err(Errno::EINTR.into());
                        }
                        return Ok(out);
                    }
                    _ => out.push((ty, payload.to_vec())),
                }
            }
        }
    }

    fn link(&mut self, name: &str) -> std::result::Result<Link, NlError> {
        let req = Request::new(libc::RTM_GETLINK, libc::NLM_F_ACK, &ifinfomsg(0, 0, 0))
            .attr(libc::IFLA_IFNAME, &cstr(name));
        self.request(req)?
            .iter()
            .filter(|(t, _)| *t == libc::RTM_NEWLINK)
            .find_map(|(_, p)| parse_link(p))
            .ok_or_else(|| Errno::ENODEV.into())
    }

    /// The addresses on the link `index`, every family. A dump the kernel
    /// marks interrupted (addresses changed meanwhile) is read again.
    fn addresses(&mut self, index: i32) -> std::result::Result<Vec<Addr>, NlError> {
        let mut tries = 0;
        loop {
            let hdr = ifaddrmsg(libc::AF_UNSPEC as u8, 0, 0, 0);
            let req = Request::new(libc::RTM_GETADDR, libc::NLM_F_DUMP, &hdr);
            match self.request(req) {
                Ok(replies) => {
                    return Ok(replies
                        .iter()
                        .filter(|(t, _)| *t == libc::RTM_NEWADDR)
                        .filter_map(|(_, p)| parse_addr(p))
                        .filter(|a| a.index == index as u32)
                        .collect())
                }
                Err(e) if e.errno == Errno::EINTR && tries < 5 => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }

    fn set_up(&mut self, index: i32, up: bool) -> std::result::Result<(), NlError> {
        let flag = libc::IFF_UP as u32;
        let hdr = ifinfomsg(index, if up { flag } else { 0 }, flag);
        self.request(Request::new(libc::RTM_NEWLINK, libc::NLM_F_ACK, &hdr))
            .map(drop)
    }

    /// Moves the link `index` into the namespace `ns`, named `name` there.
    fn move_to(
        &mut self,
        index: i32,
        name: &str,
        ns: BorrowedFd<'_>,
    ) -> std::result::Result<(), NlError> {
        let fd = ns.as_raw_fd() as u32;
        let req = Request::new(libc::RTM_NEWLINK, libc::NLM_F_ACK, &ifinfomsg(index, 0, 0))
            .attr(libc::IFLA_IFNAME, &cstr(name))
            .attr(libc::IFLA_NET_NS_FD, &fd.to_ne_bytes());
        self.request(req).map(drop)
    }

    /// Adds `a` to the link `index`: its addresses and the flags a user
    /// sets (no DAD, no prefix route); the label stays behind with the old name.
    fn add_address(&mut self, index: i32, a: &Addr) -> std::result::Result<(), NlError> {
        let hdr = ifaddrmsg(a.family, a.prefixlen, a.scope, index as u32);
        let flags = libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL;
        let mut req = Request::new(libc::RTM_NEWADDR, flags, &hdr);
        for (t, v) in [
            (libc::IFA_LOCAL, &a.local),
            (libc::IFA_ADDRESS, &a.address),
            (libc::IFA_BROADCAST, &a.broadcast),
        ] {
            if let Some(v) = v {
                req = req.attr(t, v);
            }
        }
        let keep = a.flags & (libc::IFA_F_NODAD | libc::IFA_F_NOPREFIXROUTE);
        if keep != 0 {
            req = req.attr(libc::IFA_FLAGS, &keep.to_ne_bytes());
        }
        self.request(req).map(drop)
    }
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

    #[test]
    fn request_layout() {
        let mut r = Request::new(libc::RTM_NEWLINK, libc::NLM_F_ACK, &ifinfomsg(7, 0, 0))
            .attr(libc::IFLA_IFNAME, &cstr("eth1"))
            .attr(libc::IFLA_NET_NS_FD, &9u32.to_ne_bytes());
        assert!(!r.dump);
        let b = r.finish(42).to_vec();
        // header 16 + ifinfomsg 16 + name attr 4+5 (padded to 12) + fd attr 8
        assert_eq!(b.len(), 52);
        assert_eq!(u32_at(&b, 0), 52);
        assert_eq!(u16_at(&b, 4), libc::RTM_NEWLINK);
        assert_eq!(
            u16_at(&b, 6),
            (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16
        );
        assert_eq!(u32_at(&b, 8), 42);
        assert_eq!(u32_at(&b, 20), 7);
        let a = attrs(&b[32..]);
        assert_eq!(a[0], (libc::IFLA_IFNAME, &b"eth1\0"[..]));
        assert_eq!(a[1].0, libc::IFLA_NET_NS_FD);
        assert_eq!(u32_at(a[1].1, 0), 9);
        let d = Request::new(libc::RTM_GETADDR, libc::NLM_F_DUMP, &ifaddrmsg(0, 0, 0, 0));
        assert!(d.dump);
    }

    #[test]
    fn errors_and_extended_acks() {
        assert_eq!(parse_error(&0i32.to_ne_bytes(), 0), Ok(()));
        // -EINVAL, the capped request header, then NLMSGERR_ATTR_MSG.
        let mut p = (-libc::EINVAL).to_ne_bytes().to_vec();
        let mut hdr = [0u8; NLMSG_HDRLEN];
        hdr[0..4].copy_from_slice(&52u32.to_ne_bytes());
        p.extend_from_slice(&hdr);
        let text = b"The device cannot change namespace\0";
        p.extend_from_slice(&((4 + text.len()) as u16).to_ne_bytes());
        p.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        p.extend_from_slice(text);
        let flags = NLM_F_CAPPED | libc::NLM_F_ACK_TLVS as u16;
        let e = parse_error(&p, flags).unwrap_err();
        assert_eq!(e.errno, Errno::EINVAL);
        assert_eq!(
            e.to_string(),
            "EINVAL: Invalid argument (The device cannot change namespace)"
        );
        let e = parse_error(&(-libc::EEXIST).to_ne_bytes(), 0).unwrap_err();
        assert_eq!(e.msg, None);
    }

    #[test]
    fn addresses_parse() {
        let mut p = vec![libc::AF_INET as u8, 24, 0x80, 0, 3, 0, 0, 0];
        p[4..8].copy_from_slice(&3u32.to_ne_bytes());
        for (t, v) in [
            (libc::IFA_ADDRESS, [10, 200, 1, 1]),
            (libc::IFA_LOCAL, [10, 200, 1, 1]),
            (libc::IFA_BROADCAST, [10, 200, 1, 255]),
        ] {
            p.extend_from_slice(&8u16.to_ne_bytes());
            p.extend_from_slice(&t.to_ne_bytes());
            p.extend_from_slice(&v);
        }
        let a = parse_addr(&p).unwrap();
        assert_eq!(a.index, 3);
        assert_eq!(a.flags & libc::IFA_F_PERMANENT, libc::IFA_F_PERMANENT);
        assert_eq!(a.broadcast.as_deref(), Some(&[10, 200, 1, 255][..]));
        assert_eq!(a.to_string(), "10.200.1.1/24");
    }
}
