//! Tar entry emission for the writer: ustar headers (the tar crate encodes
//! the fields and checksum) plus a PAX `x` header for whatever ustar cannot
//! hold, as Go's archive/tar (containerd, BuildKit) does: long or non-ASCII
//! names and link targets, big uid/gid/size, out-of-range or sub-second
//! mtimes, and xattrs as `SCHILY.xattr.NAME`.

use std::io::{self, Read, Write};

use tar::{EntryType, Header};

use super::xattr::Xattrs;

/// One entry to write. `path` is relative, dirs end with `/`.
pub(crate) struct Meta {
    pub path: Vec<u8>,
    pub link: Vec<u8>,
    pub kind: EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub mtime: (i64, u32),
    pub major: u32,
    pub minor: u32,
    pub xattrs: Xattrs,
}

impl Meta {
    /// An entry of `kind` with every other field empty.
    pub(crate) fn new(path: Vec<u8>, kind: EntryType) -> Meta {
        Meta {
            path,
            link: Vec::new(),
            kind,
            mode: 0,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: (0, 0),
            major: 0,
            minor: 0,
            xattrs: Vec::new(),
        }
    }
}

const MAX_OCTAL_7: u64 = 0o7777777;
const MAX_OCTAL_11: u64 = 0o77777777777;

/// Writes `m`'s header(s); the caller then writes `m.size` content bytes.
pub(crate) fn header(w: &mut dyn Write, m: &Meta) -> io::Result<()> {
    let mut h = Header::new_ustar();
    let mut pax: Xattrs = Vec::new();
    {
        let u = h
            .as_ustar_mut()
            .ok_or_else(|| io::Error::other("ustar header"))?;
        if !split_name(&m.path, &mut u.name, &mut u.prefix) {
            pax.push((b"path".to_vec(), m.path.clone()));
            copy_trunc(&mut u.name, &m.path);
        }
        if m.link.len() > 100 || !m.link.is_ascii() {
            pax.push((b"linkpath".to_vec(), m.link.clone()));
        }
        copy_trunc(&mut u.linkname, &m.link);
    }
    h.set_entry_type(m.kind);
    h.set_mode(m.mode & 0o7777);
    h.set_uid(small(m.uid, MAX_OCTAL_7, b"uid", &mut pax));
    h.set_gid(small(m.gid, MAX_OCTAL_7, b"gid", &mut pax));
    h.set_size(small(m.size, MAX_OCTAL_11, b"size", &mut pax));
    h.set_mtime(mtime(m.mtime, &mut pax));
    if matches!(m.kind, EntryType::Char | EntryType::Block) {
        h.set_device_major(m.major)?;
        h.set_device_minor(m.minor)?;
    }
    for (k, v) in &m.xattrs {
        pax.push(([b"SCHILY.xattr.", &k[..]].concat(), v.clone()));
    }
    if !pax.is_empty() {
        pax_header(w, &m.path, &pax)?;
    }
    h.set_cksum();
    w.write_all(h.as_bytes())
}

/// `v` itself when ustar holds it, else 0 and a PAX record.
fn small(v: u64, max: u64, key: &[u8], pax: &mut Xattrs) -> u64 {
    if v <= max {
        return v;
    }
    pax.push((key.to_vec(), v.to_string().into_bytes()));
    0
}

fn mtime((secs, nanos): (i64, u32), pax: &mut Xattrs) -> u64 {
    let fits = (0..=MAX_OCTAL_11 as i64).contains(&secs);
    if fits && nanos == 0 {
        return secs as u64;
    }
    let mut s = secs.to_string();
    if nanos != 0 {
        // Go's format: the fraction without trailing zeros.
        let f = format!("{nanos:09}");
        s = format!("{s}.{}", f.trim_end_matches('0'));
    }
    pax.push((b"mtime".to_vec(), s.into_bytes()));
    if fits {
        secs as u64
    } else {
        0
    }
}

/// Fits `p` into ustar's name (100) + prefix (155) split at a `/`.
fn split_name(p: &[u8], name: &mut [u8; 100], prefix: &mut [u8; 155]) -> bool {
    if !p.is_ascii() {
        return false;
    }
    if p.len() <= 100 {
        copy_trunc(name, p);
        return true;
    }
    // The earliest slash that leaves a name of <= 100 bytes (not empty).
    let start = p.len().saturating_sub(101);
    let Some(i) = (start..p.len().saturating_sub(1)).find(|&i| p[i] == b'/') else {
        return false;
    };
    if i > 155 || i == 0 {
        return false;
    }
    copy_trunc(prefix, &p[..i]);
    copy_trunc(name, &p[i + 1..]);
    true
}

fn copy_trunc(dst: &mut [u8], src: &[u8]) {
    let n = src.len().min(dst.len());
    dst[..n].copy_from_slice(&src[..n]);
}

/// A PAX `x` header carrying `recs`, named as Go names them.
fn pax_header(w: &mut dyn Write, path: &[u8], recs: &[(Vec<u8>, Vec<u8>)]) -> io::Result<()> {
    let mut data = Vec::new();
    for (k, v) in recs {
        record(&mut data, k, v);
    }
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    let (dir, base) = match trimmed.iter().rposition(|&c| c == b'/') {
        Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
        None => (&b""[..], trimmed),
    };
    let name: Vec<u8> = [dir, b"PaxHeaders.0/", base].concat();
    let name: Vec<u8> = name.into_iter().filter(u8::is_ascii).collect();
    let mut h = Header::new_ustar();
    if let Some(u) = h.as_ustar_mut() {
        copy_trunc(&mut u.name, &name);
    }
    h.set_entry_type(EntryType::XHeader);
    h.set_mode(0);
    h.set_mtime(0);
    h.set_size(data.len() as u64);
    h.set_cksum();
    w.write_all(h.as_bytes())?;
    w.write_all(&data)?;
    pad(w, data.len() as u64)
}

/// `<len> <key>=<value>\n`, where len counts itself.
fn record(out: &mut Vec<u8>, k: &[u8], v: &[u8]) {
    let rest = k.len() + v.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(k);
    out.push(b'=');
    out.extend_from_slice(v);
    out.push(b'\n');
}

/// Streams exactly `size` bytes of `r`, then the padding to a block.
pub(crate) fn content(w: &mut dyn Write, r: &mut dyn Read, size: u64) -> io::Result<()> {
    let n = io::copy(&mut r.take(size), w)?;
    if n != size {
        // The header already promised `size` bytes: the file shrank under us.
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("file shrank from {size} to {n} bytes while being read"),
        ));
    }
    pad(w, size)
}

fn pad(w: &mut dyn Write, size: u64) -> io::Result<()> {
    let n = ((512 - size % 512) % 512) as usize;
    w.write_all(&[0u8; 512][..n])
}

/// The end-of-archive marker: two zero blocks.
pub(crate) fn finish(w: &mut dyn Write) -> io::Result<()> {
    w.write_all(&[0u8; 1024])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths() {
        let mut v = Vec::new();
        record(&mut v, b"path", b"abc");
        assert_eq!(v, b"12 path=abc\n");
        let mut v = Vec::new();
        let long = vec![b'a'; 95]; // 95 + 7 = 102 + "102".len() ... crosses a digit
        record(&mut v, b"path", &long);
        let len: usize = std::str::from_utf8(&v[..v.iter().position(|&c| c == b' ').unwrap()])
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, v.len());
    }

    #[test]
    fn name_split() {
        let (mut n, mut p) = ([0u8; 100], [0u8; 155]);
        let path = [vec![b'd'; 120], b"/".to_vec(), vec![b'f'; 50]].concat();
        assert!(split_name(&path, &mut n, &mut p));
        assert_eq!(&p[..120], &vec![b'd'; 120][..]);
        assert!(!split_name(&vec![b'x'; 300], &mut [0; 100], &mut [0; 155]));
        assert!(!split_name("é".as_bytes(), &mut [0; 100], &mut [0; 155]));
    }
}
