//! A small, strict tar reader for the applier. Not the tar crate's: every
//! length read from the (hostile) stream is bounded before anything is
//! allocated, and the reader never touches the filesystem.
//!
//! Understands ustar, GNU (`L`/`K` long names, base-256 numbers) and PAX
//! (`x` records: path, linkpath, size, uid, gid, mtime, atime,
//! SCHILY.xattr.*; `g` headers are skipped, as Docker does).

use std::io::{self, Read};

use super::error::{over_budget, LayerError};
use super::path::display;
use super::xattr::Xattrs;

const BLOCK: u64 = 512;
/// PAX headers beyond this are refused: a record set this big is an attack.
const MAX_PAX: u64 = 8 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Regular,
    Dir,
    Symlink,
    Hardlink,
    Char,
    Block,
    Fifo,
}

/// (seconds since the epoch, nanoseconds).
pub(crate) type Time = (i64, u32);

/// One entry's header, with its GNU/PAX extensions folded in.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub path: Vec<u8>,
    pub link: Vec<u8>,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub mtime: Time,
    pub atime: Option<Time>,
    pub major: u32,
    pub minor: u32,
    pub xattrs: Xattrs,
}

/// Extensions read ahead of the entry they describe.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Vec<u8>,
}

pub(crate) struct Reader<R> {
    inner: R,
    pos: u64,
    /// Content bytes of the current entry not read yet, and its padding.
    remaining: u64,
    padding: u64,
    /// The last entry's name, for errors about what follows it.
    last: String,
    max_name: usize,
}

impl<R: Read> Reader<R> {
    pub(crate) fn new(inner: R, max_name: usize) -> Self {
        Reader {
            inner,
            pos: 0,
            remaining: 0,
            padding: 0,
            last: String::new(),
            max_name,
        }
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    fn bad(&self, why: impl Into<String>) -> LayerError {
        LayerError::Malformed {
            offset: self.pos,
            after: after(&self.last),
            why: why.into(),
        }
    }

    fn io(&self, e: io::Error) -> LayerError {
        if let Some(limit) = over_budget(&e) {
            return LayerError::Limit {
                entry: self.last.clone(),
                what: "uncompressed bytes",
                limit,
            };
        }
        // The inner reader's own errors (decompression) keep their text;
        // the entry they interrupted is named.
        self.bad(format!("reading the stream: {e}"))
    }

    /// Bytes consumed so far.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// The next entry, or None at the end of the archive. The previous
    /// entry's unread content is skipped first.
    pub(crate) fn next(&mut self) -> Result<Option<Header>, LayerError> {
        self.skip_rest()?;
        let mut pending = Pending::default();
        loop {
            let Some(block) = self.read_block()? else {
                return Ok(None);
            };
            let raw = RawHeader::parse(&block).map_err(|why| self.bad(why))?;
            match raw.flag {
                b'x' => {
                    let data = self.read_meta(raw.size, MAX_PAX - pending.pax.len() as u64)?;
                    pending.pax.extend_from_slice(&data);
                }
                b'g' => self.skip(raw.size)?,
                b'L' => pending.long_name = Some(self.read_name(raw.size)?),
                b'K' => pending.long_link = Some(self.read_name(raw.size)?),
                _ => return self.finish_header(raw, pending).map(Some),
            }
        }
    }

    fn finish_header(&mut self, raw: RawHeader, p: Pending) -> Result<Header, LayerError> {
        let mut h = raw.header().map_err(|why| self.bad(why))?;
        if let Some(n) = p.long_name {
            h.path = n;
        }
        if let Some(l) = p.long_link {
            h.link = l;
        }
        apply_pax(&mut h, &p.pax).map_err(|why| self.bad(why))?;
        if h.kind == Kind::Regular && h.path.ends_with(b"/") && raw.flag != b'0' {
            h.kind = Kind::Dir; // pre-POSIX tars mark dirs by the slash alone
        }
        // Only regular files carry content; a size on anything else is
        // skipped as the tar format says, never written anywhere.
        self.remaining = h.size;
        self.padding = (BLOCK - h.size % BLOCK) % BLOCK;
        if h.kind != Kind::Regular {
            h.size = 0;
        }
        self.last = display(&h.path);
        Ok(h)
    }

    /// One 512-byte block; None at a zero block or a clean EOF.
    fn read_block(&mut self) -> Result<Option<[u8; 512]>, LayerError> {
        let mut b = [0u8; 512];
        let mut got = 0;
        while got < b.len() {
            match self.inner.read(&mut b[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
        }
        self.pos += got as u64;
        match got {
            0 => Ok(None),
            512 if b.iter().all(|&x| x == 0) => Ok(None),
            512 => Ok(Some(b)),
            _ => Err(self.bad("truncated header")),
        }
    }

    fn read_meta(&mut self, size: u64, cap: u64) -> Result<Vec<u8>, LayerError> {
        if size > cap {
            return Err(self.bad(format!("extension header of {size} bytes is too large")));
        }
        let mut v = Vec::with_capacity(size as usize);
        self.remaining = size;
        self.padding = (BLOCK - size % BLOCK) % BLOCK;
        self.content().read_to_end(&mut v).map_err(|e| self.io(e))?;
        if (v.len() as u64) < size {
            return Err(self.bad("truncated extension header"));
        }
        self.skip_rest()?;
        Ok(v)
    }

    fn read_name(&mut self, size: u64) -> Result<Vec<u8>, LayerError> {
        let mut v = self.read_meta(size, self.max_name as u64 + 1)?;
        while v.last() == Some(&0) {
            v.pop();
        }
        Ok(v)
    }

    fn skip(&mut self, size: u64) -> Result<(), LayerError> {
        self.remaining = size;
        self.padding = (BLOCK - size % BLOCK) % BLOCK;
        self.skip_rest()
    }

    /// Skips the current entry's unread content and padding.
    fn skip_rest(&mut self) -> Result<(), LayerError> {
        let n = self.remaining.saturating_add(self.padding);
        self.remaining = 0;
        self.padding = 0;
        let got =
            io::copy(&mut (&mut self.inner).take(n), &mut io::sink()).map_err(|e| self.io(e))?;
        self.pos += got;
        if got < n {
            return Err(self.bad("truncated entry content"));
        }
        Ok(())
    }

    /// The current entry's content (a regular file's bytes).
    pub(crate) fn content(&mut self) -> Content<'_, R> {
        Content(self)
    }
}

/// How a Malformed error names the entry before the bad spot.
pub(crate) fn after(last: &str) -> String {
    if last.is_empty() {
        "the start of the stream".to_string()
    } else {
        format!("entry {last:?}")
    }
}

/// Reads the current entry's content and no more.
pub(crate) struct Content<'a, R>(&'a mut Reader<R>);

impl<R: Read> Read for Content<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = &mut *self.0;
        let want = buf
            .len()
            .min(usize::try_from(r.remaining).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = r.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated entry content",
            ));
        }
        r.remaining -= n as u64;
        r.pos += n as u64;
        Ok(n)
    }
}

/// The fixed fields of one header block.
struct RawHeader {
    flag: u8,
    size: u64,
    block: [u8; 512],
}

impl RawHeader {
    fn parse(b: &[u8; 512]) -> Result<RawHeader, String> {
        let want = number(&b[148..156]).map_err(|e| format!("checksum field: {e}"))?;
        let unsigned: u64 = b.iter().enumerate().map(|(i, &x)| cks(i, x as u64)).sum();
        let signed: i64 = b
            .iter()
            .enumerate()
            .map(|(i, &x)| cks(i, x as i8 as i64 as u64) as i64)
            .sum();
        if want != unsigned && want as i64 != signed {
            return Err("header checksum mismatch (not a tar stream?)".into());
        }
        let size = number(&b[124..136]).map_err(|e| format!("size field: {e}"))?;
        Ok(RawHeader {
            flag: b[156],
            size,
            block: *b,
        })
    }

    fn header(&self) -> Result<Header, String> {
        let b = &self.block;
        let kind = match self.flag {
            b'0' | b'\0' | b'7' => Kind::Regular,
            b'1' => Kind::Hardlink,
            b'2' => Kind::Symlink,
            b'3' => Kind::Char,
            b'4' => Kind::Block,
            b'5' => Kind::Dir,
            b'6' => Kind::Fifo,
            b'S' => return Err("GNU sparse files are not supported".into()),
            f => return Err(format!("unsupported tar entry type {:?}", f as char)),
        };
        let field = |r: std::ops::Range<usize>, what: &str| {
            number(&b[r]).map_err(|e| format!("{what} field: {e}"))
        };
        let mut path = cstr(&b[0..100]).to_vec();
        if &b[257..263] == b"ustar\0" {
            let prefix = cstr(&b[345..500]);
            if !prefix.is_empty() {
                path = [prefix, b"/", &path].concat();
            }
        }
        let dev =
            |r, what| field(r, what).and_then(|v| u32::try_from(v).map_err(|e| e.to_string()));
        Ok(Header {
            path,
            link: cstr(&b[157..257]).to_vec(),
            kind,
            mode: (field(100..108, "mode")? & 0o7777) as u32,
            uid: field(108..116, "uid")?,
            gid: field(116..124, "gid")?,
            size: self.size,
            mtime: (
                i64::try_from(field(136..148, "mtime")?).map_err(|e| e.to_string())?,
                0,
            ),
            atime: None,
            major: dev(329..337, "devmajor")?,
            minor: dev(337..345, "devminor")?,
            xattrs: Vec::new(),
        })
    }
}

/// A byte's share of the checksum: the checksum field itself counts as spaces.
fn cks(i: usize, x: u64) -> u64 {
    if (148..156).contains(&i) {
        b' ' as u64
    } else {
        x
    }
}

fn cstr(f: &[u8]) -> &[u8] {
    let end = f.iter().position(|&c| c == 0).unwrap_or(f.len());
    &f[..end]
}

/// A numeric field: octal (NUL/space padded) or GNU base-256 (high bit set).
fn number(f: &[u8]) -> Result<u64, String> {
    if let Some(&first) = f.first() {
        if first & 0x80 != 0 {
            if first == 0xff {
                return Err("negative base-256 number".into());
            }
            let mut v: u64 = (first & 0x7f) as u64;
            for &c in &f[1..] {
                v = v
                    .checked_mul(256)
                    .ok_or("base-256 number overflows")?
                    .saturating_add(c as u64);
            }
            return Ok(v);
        }
    }
    let s = cstr(f);
    let s = s
        .iter()
        .copied()
        .skip_while(|&c| c == b' ')
        .take_while(|&c| c != b' ');
    let mut v: u64 = 0;
    for c in s {
        if !(b'0'..=b'7').contains(&c) {
            return Err(format!("bad octal digit {:?}", c as char));
        }
        v = v.checked_mul(8).ok_or("octal number overflows")? + (c - b'0') as u64;
    }
    Ok(v)
}

/// Folds PAX records (`<len> <key>=<value>\n`) into the header.
fn apply_pax(h: &mut Header, mut data: &[u8]) -> Result<(), String> {
    while !data.is_empty() {
        let sp = data
            .iter()
            .position(|&c| c == b' ')
            .ok_or("PAX record without length")?;
        let len: usize = std::str::from_utf8(&data[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("bad PAX record length")?;
        if len <= sp + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err("bad PAX record length".into());
        }
        let rec = &data[sp + 1..len - 1];
        let eq = rec
            .iter()
            .position(|&c| c == b'=')
            .ok_or("PAX record without '='")?;
        pax_record(h, &rec[..eq], &rec[eq + 1..])?;
        data = &data[len..];
    }
    Ok(())
}

fn pax_record(h: &mut Header, key: &[u8], val: &[u8]) -> Result<(), String> {
    let num = || -> Result<u64, String> {
        std::str::from_utf8(val)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad PAX {} value", display(key)))
    };
    match key {
        b"path" => h.path = val.to_vec(),
        b"linkpath" => h.link = val.to_vec(),
        b"size" => h.size = num()?,
        b"uid" => h.uid = num()?,
        b"gid" => h.gid = num()?,
        b"mtime" => h.mtime = pax_time(val)?,
        b"atime" => h.atime = Some(pax_time(val)?),
        k if k.starts_with(b"GNU.sparse.") => {
            return Err("GNU sparse files are not supported".into())
        }
        k if k.starts_with(b"SCHILY.xattr.") => {
            let name = &k[b"SCHILY.xattr.".len()..];
            h.xattrs.retain(|(n, _)| n != name);
            h.xattrs.push((name.to_vec(), val.to_vec()));
        }
        _ => {} // charset, comment, ctime, uname, gname, ...: not needed
    }
    Ok(())
}

/// `[-]secs[.frac]` to (secs, nanos), nanos always forward in time.
fn pax_time(v: &[u8]) -> Result<Time, String> {
    let bad = || format!("bad PAX time {:?}", display(v));
    let s = std::str::from_utf8(v).map_err(|_| bad())?;
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty()
        || !secs.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let mut nanos: u32 = 0;
    for (i, c) in frac.bytes().take(9).enumerate() {
        nanos += (c - b'0') as u32 * 10u32.pow(8 - i as u32);
    }
    Ok(match (neg, nanos) {
        (false, _) => (secs, nanos),
        (true, 0) => (-secs, 0),
        (true, n) => (-secs - 1, 1_000_000_000 - n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_times() {
        assert_eq!(number(b"0000644\0").unwrap(), 0o644);
        assert_eq!(number(b"  755 \0").unwrap(), 0o755);
        assert_eq!(number(b"\0\0\0").unwrap(), 0);
        assert_eq!(number(&[0x80, 0, 0, 1, 0]).unwrap(), 256);
        assert!(number(b"0009").is_err());
        assert_eq!(pax_time(b"12.5").unwrap(), (12, 500_000_000));
        assert_eq!(pax_time(b"-1.25").unwrap(), (-2, 750_000_000));
        assert_eq!(pax_time(b"7").unwrap(), (7, 0));
        assert!(pax_time(b"x").is_err());
        assert!(pax_time(b"").is_err());
    }

    #[test]
    fn pax_records() {
        let mut h = RawHeader {
            flag: b'0',
            size: 0,
            block: [0; 512],
        }
        .header()
        .unwrap();
        apply_pax(&mut h, b"12 path=abc\n29 SCHILY.xattr.user.k=value\n").unwrap();
        assert_eq!(h.path, b"abc");
        assert_eq!(h.xattrs, vec![(b"user.k".to_vec(), b"value".to_vec())]);
        assert!(apply_pax(&mut h, b"99 path=abc\n").is_err());
        assert!(apply_pax(&mut h, b"3 path=abc\n").is_err());
        assert!(apply_pax(&mut h, b"x").is_err());
    }
}
