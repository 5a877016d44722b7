//! The two line formats: CRI (`<RFC3339Nano> stdout|stderr P|F <content>`)
//! and docker's json-file (`{"log":"..","stream":"..","time":".."}`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One log record: a whole line (its newline not in `content`) or a part.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub time: String,
    pub stream: Stream,
    pub partial: bool,
    pub content: Vec<u8>,
}

/// One CRI line for `content` (no newline inside).
pub fn cri_line(out: &mut Vec<u8>, time: &str, stream: Stream, partial: bool, content: &[u8]) {
    out.extend_from_slice(time.as_bytes());
    out.push(b' ');
    out.extend_from_slice(stream.as_str().as_bytes());
    out.extend_from_slice(if partial { b" P " } else { b" F " });
    out.extend_from_slice(content);
    out.push(b'\n');
}

#[derive(Serialize, Deserialize)]
struct JsonLine<'a> {
    log: std::borrow::Cow<'a, str>,
    stream: &'a str,
    time: &'a str,
}

/// One json-file line, as dockerd writes it (invalid UTF-8 replaced, as
/// dockerd does).
pub fn json_line(out: &mut Vec<u8>, time: &str, stream: Stream, partial: bool, content: &[u8]) {
    let mut text = String::from_utf8_lossy(content).into_owned();
    if !partial {
        text.push('\n');
    }
    let line = JsonLine {
        log: text.into(),
        stream: stream.as_str(),
        time,
    };
    // Serialising a struct of strings cannot fail.
    serde_json::to_writer(&mut *out, &line).expect("json line");
    out.push(b'\n');
}

/// Parses a line of either format (its newline removed).
pub fn parse_line(line: &[u8]) -> Option<Entry> {
    if line.first() == Some(&b'{') {
        let j: JsonLine = serde_json::from_slice(line).ok()?;
        let stream = parse_stream(j.stream.as_bytes())?;
        let (content, partial) = match j.log.strip_suffix('\n') {
            Some(c) => (c.as_bytes().to_vec(), false),
            None => (j.log.as_bytes().to_vec(), true),
        };
        return Some(Entry {
            time: j.time.to_string(),
            stream,
            partial,
            content,
        });
    }
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?;
    let stream = parse_stream(parts.next()?)?;
    let partial = match parts.next()? {
        b"P" => true,
        b"F" => false,
        _ => return None,
    };
    Some(Entry {
        time: time.to_string(),
        stream,
        partial,
        content: parts.next().unwrap_or_default().to_vec(),
    })
}

fn parse_stream(s: &[u8]) -> Option<Stream> {
    match s {
        b"stdout" => Some(Stream::Stdout),
        b"stderr" => Some(Stream::Stderr),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_round_trip() {
        let t = "2026-12-02T10:00:00.123456789Z";
        for partial in [false, true] {
            for content in [&b"hello world"[..], b"", b"tab\tand \"quote\" \\"] {
                let mut cri = Vec::new();
                cri_line(&mut cri, t, Stream::Stderr, partial, content);
                let mut json = Vec::new();
                json_line(&mut json, t, Stream::Stderr, partial, content);
                for out in [cri, json] {
                    assert_eq!(out.last(), Some(&b'\n'));
                    let e = parse_line(&out[..out.len() - 1]).unwrap();
                    assert_eq!(e.time, t);
                    assert_eq!(e.stream, Stream::Stderr);
                    assert_eq!(e.partial, partial);
                    assert_eq!(e.content, content);
                }
            }
        }
        let mut cri = Vec::new();
        cri_line(&mut cri, t, Stream::Stdout, false, b"a F b");
        assert_eq!(cri, format!("{t} stdout F a F b\n").as_bytes());
        assert!(parse_line(b"garbage").is_none());
        assert!(parse_line(b"t stdin F x").is_none());
    }
}
