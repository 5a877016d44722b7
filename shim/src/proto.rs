//! The monitor's socket protocol: length-prefixed frames, both ways.
//!
//! frame = kind (1 byte) + length (u32, little-endian) + payload. A client
//! says what it is with its first frame (Attach or a command), then the
//! monitor streams output to attached clients and answers commands with
//! Ok, Error or, for Stop and Wait, Exit when the container has ended.

use std::io::{self, Read, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    // client -> monitor
    /// Attach: payload b"i" to send stdin, b"" for output only.
    Attach = 1,
    Stdin = 2,
    StdinEof = 3,
    /// rows and cols, u16 LE each.
    Resize = 4,
    /// signal number (u32 LE) + timeout seconds (u32 LE).
    Stop = 5,
    /// signal number (u32 LE).
    Kill = 6,
    /// Answer with Exit when the container ends.
    Wait = 7,
    // monitor -> client
    Stdout = 16,
    Stderr = 17,
    /// exit code (i32 LE).
    Exit = 18,
    Ok = 19,
    Error = 20,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        use Kind::*;
        Some(match b {
            1 => Attach,
            2 => Stdin,
            3 => StdinEof,
            4 => Resize,
            5 => Stop,
            6 => Kill,
            7 => Wait,
            16 => Stdout,
            17 => Stderr,
            18 => Exit,
            19 => Ok,
            20 => Error,
            _ => return None,
        })
    }
}

/// The largest payload accepted: a frame never makes either side allocate
/// without bound.
pub const MAX_PAYLOAD: usize = 1 << 20;

pub fn encode(kind: Kind, payload: &[u8], out: &mut Vec<u8>) {
    out.push(kind as u8);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
}

pub fn write_frame(w: &mut impl Write, kind: Kind, payload: &[u8]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(payload.len() + 5);
    encode(kind, payload, &mut buf);
    w.write_all(&buf)
}

/// Reads one frame; None at a clean end of stream.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(Kind, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head[..1]) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    r.read_exact(&mut head[1..])?;
    let (kind, len) = parse_head(&head)?;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((kind, payload)))
}

fn parse_head(head: &[u8; 5]) -> io::Result<(Kind, usize)> {
    let kind = Kind::from_u8(head[0])
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unknown frame kind"))?;
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    Ok((kind, len))
}

/// Splits complete frames off the front of `buf` (what a non-blocking
/// reader has gathered); keeps a partial frame for later.
pub fn take_frames(buf: &mut Vec<u8>) -> io::Result<Vec<(Kind, Vec<u8>)>> {
    let mut frames = Vec::new();
    let mut at = 0;
    while buf.len() - at >= 5 {
        let head: [u8; 5] = buf[at..at + 5].try_into().expect("5 bytes");
        let (kind, len) = parse_head(&head)?;
        if buf.len() - at - 5 < len {
            break;
        }
        frames.push((kind, buf[at + 5..at + 5 + len].to_vec()));
        at += 5 + len;
    }
    buf.drain(..at);
    Ok(frames)
}

pub fn u32_at(p: &[u8], i: usize) -> u32 {
    p.get(i..i + 4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_split_at_any_byte() {
        let mut wire = Vec::new();
        encode(Kind::Stdout, b"hello", &mut wire);
        encode(Kind::Exit, &3i32.to_le_bytes(), &mut wire);
        encode(Kind::StdinEof, b"", &mut wire);
        for cut in 0..wire.len() {
            let mut buf = wire[..cut].to_vec();
            let mut got = take_frames(&mut buf).unwrap();
            buf.extend_from_slice(&wire[cut..]);
            got.extend(take_frames(&mut buf).unwrap());
            assert!(buf.is_empty());
            assert_eq!(got.len(), 3, "cut at {cut}");
            assert_eq!(got[0], (Kind::Stdout, b"hello".to_vec()));
            assert_eq!(got[1].0, Kind::Exit);
            assert_eq!(got[2], (Kind::StdinEof, vec![]));
        }
        let mut r = &wire[..];
        assert_eq!(read_frame(&mut r).unwrap().unwrap().1, b"hello");
        let mut bad = vec![99u8, 0, 0, 0, 0];
        assert!(take_frames(&mut bad).is_err());
        let mut huge = vec![2u8, 0xff, 0xff, 0xff, 0xff];
        assert!(take_frames(&mut huge).is_err());
    }
}
