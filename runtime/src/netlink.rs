//! rtnetlink by hand, for netdev.rs: a header, the family header (ifinfomsg
//! or ifaddrmsg), attributes; every request asks for an ack and every ack is
//! checked, with the kernel's extended-ack text where it gives one.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use std::fs::File;

use nix::errno::Errno;
use nix::sys::socket::{
    recvfrom, sendto, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
    SockType,
};

use crate::error::Context;
use crate::Result;

/// A link as RTM_GETLINK reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) index: i32,
    pub(crate) flags: u32,
}

/// An interface address as RTM_GETADDR reports it; the raw attributes are
/// what RTM_NEWADDR takes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Addr {
    pub(crate) family: u8,
    pub(crate) prefixlen: u8,
    pub(crate) scope: u8,
    pub(crate) flags: u32,
    pub(crate) index: u32,
    pub(crate) local: Option<Vec<u8>>,
    pub(crate) address: Option<Vec<u8>>,
    pub(crate) broadcast: Option<Vec<u8>>,
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

pub(crate) fn ip(b: &[u8]) -> Option<IpAddr> {
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
pub(crate) struct NlError {
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

pub(crate) const NLMSG_HDRLEN: usize = 16;
pub(crate) const IFINFOMSG_LEN: usize = 16;
pub(crate) const IFADDRMSG_LEN: usize = 8;
/// NLM_F_CAPPED: the error message carries only the request's header.
pub(crate) const NLM_F_CAPPED: u16 = 0x100;
/// NLMSGERR_ATTR_MSG: the extended ack's text.
pub(crate) const NLMSGERR_ATTR_MSG: u16 = 1;
/// NLA_TYPE_MASK: an attribute type without the nested/byte-order bits.
pub(crate) const NLA_TYPE_MASK: u16 = 0x3fff;

pub(crate) fn align(n: usize) -> usize {
    (n + 3) & !3
}

pub(crate) fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// struct ifinfomsg: family, pad, type, index, flags, change.
pub(crate) fn ifinfomsg(index: i32, flags: u32, change: u32) -> [u8; IFINFOMSG_LEN] {
    let mut b = [0u8; IFINFOMSG_LEN];
    b[0] = libc::AF_UNSPEC as u8;
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// struct ifaddrmsg: family, prefixlen, flags, scope, index.
pub(crate) fn ifaddrmsg(family: u8, prefixlen: u8, scope: u8, index: u32) -> [u8; IFADDRMSG_LEN] {
    let mut b = [0u8; IFADDRMSG_LEN];
    b[0] = family;
    b[1] = prefixlen;
    b[3] = scope;
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b
}

pub(crate) fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// One request: struct nlmsghdr, the family header, rtattrs.
pub(crate) struct Request {
    pub(crate) buf: Vec<u8>,
    pub(crate) dump: bool,
}

impl Request {
    pub(crate) fn new(ty: u16, flags: libc::c_int, family_hdr: &[u8]) -> Request {
        let flags = (libc::NLM_F_REQUEST | flags) as u16;
        let mut buf = vec![0u8; NLMSG_HDRLEN];
        buf[4..6].copy_from_slice(&ty.to_ne_bytes());
        buf[6..8].copy_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(family_hdr);
        buf.resize(align(buf.len()), 0);
        let dump = flags & libc::NLM_F_DUMP as u16 == libc::NLM_F_DUMP as u16;
        Request { buf, dump }
    }

    pub(crate) fn attr(mut self, ty: u16, data: &[u8]) -> Request {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align(self.buf.len()), 0);
        self
    }

    /// The bytes to send, with length and sequence number filled in.
    pub(crate) fn finish(&mut self, seq: u32) -> &[u8] {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        &self.buf
    }
}

/// The rtattrs of `data`: (type, payload).
pub(crate) fn attrs(data: &[u8]) -> Vec<(u16, &[u8])> {
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
pub(crate) fn parse_error(payload: &[u8], flags: u16) -> Result<(), NlError> {
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

pub(crate) fn parse_link(payload: &[u8]) -> Option<Link> {
    (payload.len() >= IFINFOMSG_LEN).then(|| Link {
        index: u32_at(payload, 4) as i32,
        flags: u32_at(payload, 8),
    })
}

pub(crate) fn parse_addr(payload: &[u8]) -> Option<Addr> {
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
pub(crate) struct Netlink {
    pub(crate) fd: OwnedFd,
    pub(crate) seq: u32,
}

impl Netlink {
    pub(crate) fn open() -> std::result::Result<Netlink, Errno> {
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
    pub(crate) fn open_in(ns: BorrowedFd<'_>) -> Result<Netlink> {
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
    pub(crate) fn request(
        &mut self,
        mut req: Request,
    ) -> std::result::Result<Vec<(u16, Vec<u8>)>, NlError> {
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

    pub(crate) fn link(&mut self, name: &str) -> std::result::Result<Link, NlError> {
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
    pub(crate) fn addresses(&mut self, index: i32) -> std::result::Result<Vec<Addr>, NlError> {
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

    pub(crate) fn set_up(&mut self, index: i32, up: bool) -> std::result::Result<(), NlError> {
        let flag = libc::IFF_UP as u32;
        let hdr = ifinfomsg(index, if up { flag } else { 0 }, flag);
        self.request(Request::new(libc::RTM_NEWLINK, libc::NLM_F_ACK, &hdr))
            .map(drop)
    }

    /// Moves the link `index` into the namespace `ns`, named `name` there.
    pub(crate) fn move_to(
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
    pub(crate) fn add_address(&mut self, index: i32, a: &Addr) -> std::result::Result<(), NlError> {
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
