//! ADD of an http:// or https:// URL: a small HTTP/1.1 GET (redirects,
//! chunked or sized bodies) streamed to a file and hashed on the way; TLS
//! through solver::tls.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::digest::{Digest, HashWriter};

/// Downloads `url` into `dest`; returns the content's digest and size.
pub fn download(url: &str, dest: &Path) -> Result<(Digest, u64), String> {
    let mut url = url.to_string();
    for _ in 0..5 {
        match get(&url, dest)? {
            Outcome::Done(d, n) => return Ok((d, n)),
            Outcome::Redirect(to) => url = absolute(&url, &to),
        }
    }
    Err(format!("{url}: too many redirects"))
}

enum Outcome {
    Done(Digest, u64),
    Redirect(String),
}

/// A URL's parts: TLS or not, host name, host:port to dial, path.
struct Target {
    tls: bool,
    name: String,
    addr: String,
    path: String,
}

fn split_url(url: &str) -> Result<Target, String> {
    let (tls, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(r), _) => (true, r),
        (None, Some(r)) => (false, r),
        _ => return Err(format!("{url}: not an http:// or https:// URL")),
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (name, addr) = match host
        .rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
    {
        Some((n, _)) => (n.to_string(), host.to_string()),
        None => (
            host.to_string(),
            format!("{host}:{}", if tls { 443 } else { 80 }),
        ),
    };
    Ok(Target {
        tls,
        name: name.trim_matches(['[', ']']).to_string(),
        addr,
        path: path.to_string(),
    })
}

fn absolute(base: &str, loc: &str) -> String {
    if loc.contains("://") {
        return loc.to_string();
    }
    let scheme_len = base.find("://").map_or(0, |i| i + 3);
    let end = base[scheme_len..]
        .find('/')
        .map_or(base.len(), |i| i + scheme_len);
    format!("{}{loc}", &base[..end])
}

fn get(url: &str, dest: &Path) -> Result<Outcome, String> {
    let t = split_url(url)?;
    let e = |what: &str, err: io::Error| format!("{url}: {what}: {err}");
    let tcp = TcpStream::connect(&t.addr).map_err(|x| e("connect", x))?;
    tcp.set_read_timeout(Some(Duration::from_secs(300))).ok();
    let mut s: Box<dyn super::tls::Stream> = if t.tls {
        super::tls::wrap(tcp, &t.name).map_err(|m| format!("{url}: {m}"))?
    } else {
        Box::new(tcp)
    };
    let (path, host) = (&t.path, &t.addr);
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: berth-builder\r\nAccept: */*\r\nConnection: close\r\n\r\n")
        .map_err(|x| e("send", x))?;
    s.flush().map_err(|x| e("send", x))?;
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status).map_err(|x| e("read", x))?;
    let code: u16 = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{url}: not an HTTP response"))?;
    let mut length: Option<u64> = None;
    let (mut chunked, mut location) = (false, None);
    loop {
        let mut line = String::new();
        r.read_line(&mut line).map_err(|x| e("read", x))?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "content-length" => length = v.parse().ok(),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "location" => location = Some(v.to_string()),
                _ => {}
            }
        }
    }
    if (300..400).contains(&code) {
        return location
            .map(Outcome::Redirect)
            .ok_or_else(|| format!("{url}: HTTP {code} without a Location"));
    }
    if code != 200 {
        return Err(format!("{url}: HTTP {code}"));
    }
    let file = File::create(dest).map_err(|x| e("create", x))?;
    let mut w = HashWriter::new(io::BufWriter::new(file));
    if chunked {
        copy_chunked(&mut r, &mut w).map_err(|x| e("read", x))?;
    } else if let Some(n) = length {
        let got = io::copy(&mut (&mut r).take(n), &mut w).map_err(|x| e("read", x))?;
        if got != n {
            return Err(format!("{url}: the body ended after {got} of {n} bytes"));
        }
    } else {
        io::copy(&mut r, &mut w).map_err(|x| e("read", x))?;
    }
    let (d, n, inner) = w.finish();
    inner
        .into_inner()
        .map_err(|x| e("write", x.into_error()))?
        .sync_all()
        .map_err(|x| e("write", x))?;
    Ok(Outcome::Done(d, n))
}

fn copy_chunked(r: &mut impl BufRead, w: &mut impl Write) -> io::Result<()> {
    loop {
        let mut line = String::new();
        r.read_line(&mut line)?;
        let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            return Ok(());
        }
        io::copy(&mut r.take(size), w)?;
        let mut crlf = String::new();
        r.read_line(&mut crlf)?;
    }
}
