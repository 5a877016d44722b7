//! Blob compression: the writer's two-thread pipeline and the applier's
//! sniffing decompressor.

use std::io::{self, Cursor, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::digest::{Digest, HashWriter};

use super::error::LayerError;

/// A layer blob's compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Uncompressed,
}

/// gzip level 1, pigz -1's: with the chunks deflated on every core the
/// layer write keeps up with the disk (129 MB/s of incompressible data
/// here, level 3 gave 73), for a few percent in size. Changing it changes
/// every gzip layer digest.
pub const GZIP_LEVEL: u32 = 1;
/// zstd's default level.
pub const ZSTD_LEVEL: i32 = 3;

impl Compression {
    pub fn media_type(&self) -> &'static str {
        match self {
            Compression::Gzip => crate::image::MEDIA_LAYER_GZIP,
            Compression::Zstd => crate::image::MEDIA_LAYER_ZSTD,
            Compression::Uncompressed => crate::image::MEDIA_LAYER_TAR,
        }
    }
}

/// Size of the buffers handed from the tar thread to the compressor; fixed,
/// so the compressors always see the same write sequence (deterministic).
const CHUNK: usize = 1 << 20;
/// Buffers in flight: bounds memory to about (DEPTH + 2) * CHUNK.
const DEPTH: usize = 4;

/// Runs `produce` (which writes the uncompressed tar) on a second thread and
/// compresses + hashes its output here, into `out`. Returns what `produce`
/// returned and the blob's digest and size.
pub(crate) fn pipeline<T: Send>(
    out: &mut dyn Write,
    compression: Compression,
    produce: impl FnOnce(&mut dyn Write) -> Result<T, LayerError> + Send,
) -> Result<(T, Digest, u64), LayerError> {
    let (tx, rx) = sync_channel::<Vec<u8>>(DEPTH);
    std::thread::scope(|s| {
        let producer = s.spawn(move || {
            let mut w = ChanWriter {
                tx,
                buf: Vec::with_capacity(CHUNK),
            };
            let t = produce(&mut w)?;
            w.send().map_err(|e| LayerError::Blob {
                what: "handing data to the compressor",
                source: e,
            })?;
            Ok::<T, LayerError>(t)
        });
        let consumed = consume(rx, out, compression);
        let produced = producer.join().map_err(|_| LayerError::Blob {
            what: "tar thread",
            source: io::Error::other("panicked"),
        })?;
        // The compressor's error first: the producer then only saw a
        // closed channel.
        let (digest, size) = consumed?;
        Ok((produced?, digest, size))
    })
}

fn consume(
    rx: Receiver<Vec<u8>>,
    out: &mut dyn Write,
    c: Compression,
) -> Result<(Digest, u64), LayerError> {
    let blob = |source| LayerError::Blob {
        what: "compressing/writing",
        source,
    };
    let hw = HashWriter::new(out);
    let hw = match c {
        Compression::Uncompressed => {
            let mut hw = hw;
            for b in rx {
                hw.write_all(&b).map_err(blob)?;
            }
            hw
        }
        Compression::Gzip => super::pgzip::compress(rx, hw).map_err(blob)?,
        Compression::Zstd => {
            let mut enc = zstd::stream::write::Encoder::new(hw, ZSTD_LEVEL).map_err(blob)?;
            for b in rx {
                enc.write_all(&b).map_err(blob)?;
            }
            enc.finish().map_err(blob)?
        }
    };
    let (digest, size, out) = hw.finish();
    out.flush().map_err(blob)?;
    Ok((digest, size))
}

/// Collects writes into CHUNK-sized buffers for the compressor thread.
struct ChanWriter {
    tx: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl ChanWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .send(full)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the compressor stopped"))
    }
}

impl Write for ChanWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(()) // only whole chunks go out, so the chunking never varies
    }
}

/// The decompressed stream of a blob, its format sniffed from its magic:
/// gzip, zstd, bzip2, xz, else passed through as is (a plain tar).
pub fn decompress<'a>(mut input: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
    let mut magic = [0u8; 6];
    let mut n = 0;
    while n < magic.len() {
        match input.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let m = &magic[..n];
    let whole: Box<dyn Read + 'a> = Box::new(Cursor::new(m.to_vec()).chain(input));
    Ok(if m.starts_with(&[0x1f, 0x8b]) {
        // Multi: pigz and friends write several members.
        Box::new(flate2::read::MultiGzDecoder::new(whole))
    } else if m.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::new(whole)?)
    } else if m.starts_with(b"BZh") {
        Box::new(bzip2::read::MultiBzDecoder::new(whole))
    } else if m.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Box::new(liblzma::read::XzDecoder::new_multi_decoder(whole))
    } else {
        whole
    })
}
