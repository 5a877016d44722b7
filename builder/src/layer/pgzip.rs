//! Parallel gzip, pigz's way: each 1 MiB chunk of the tar is deflated on
//! its own by a pool of threads (one per core), sync-flushed so the pieces
//! join into one deflate stream, written in order; the CRC runs over the
//! chunks in order. One gzip member that any gunzip reads; the same input
//! always gives the same bytes (fixed chunks, fixed level, no dictionary).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

use flate2::{Compress, Crc, FlushCompress, Status};

use super::compress::GZIP_LEVEL;

/// gzip's header: deflate, no name, mtime 0, OS "unknown" (reproducible).
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
/// A final, empty fixed-Huffman block: ends the stream after a sync flush.
const FINAL_BLOCK: [u8; 2] = [0x03, 0x00];

/// Compresses the chunks of `rx` into `out` as one gzip member.
pub fn compress<W: Write>(rx: Receiver<Vec<u8>>, mut out: W) -> io::Result<W> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    out.write_all(&HEADER)?;
    let (crc, len) = std::thread::scope(|s| -> io::Result<(u32, u64)> {
        let (job_tx, job_rx) = sync_channel::<(usize, Vec<u8>)>(workers);
        let (res_tx, res_rx) = sync_channel::<(usize, io::Result<Vec<u8>>)>(workers * 2);
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..workers {
            let (jobs, results) = (job_rx.clone(), res_tx.clone());
            s.spawn(move || loop {
                let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((i, data)) = job else { return };
                if results.send((i, deflate(&data))).is_err() {
                    return;
                }
            });
        }
        drop(res_tx);
        let feeder = s.spawn(move || {
            let mut crc = Crc::new();
            for (i, chunk) in rx.into_iter().enumerate() {
                crc.update(&chunk);
                if job_tx.send((i, chunk)).is_err() {
                    break;
                }
            }
            (crc.sum(), crc.amount())
        });
        let mut pending = BTreeMap::new();
        let mut next = 0;
        for (i, r) in res_rx {
            pending.insert(i, r?);
            while let Some(piece) = pending.remove(&next) {
                out.write_all(&piece)?;
                next += 1;
            }
        }
        let (crc, len) = feeder
            .join()
            .map_err(|_| io::Error::other("gzip feeder panicked"))?;
        Ok((crc, u64::from(len)))
    })?;
    out.write_all(&FINAL_BLOCK)?;
    out.write_all(&crc.to_le_bytes())?;
    out.write_all(&(len as u32).to_le_bytes())?;
    Ok(out)
}

/// One chunk as raw deflate blocks ending in a sync flush (byte-aligned,
/// not final), so chunks concatenate.
fn deflate(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(flate2::Compression::new(GZIP_LEVEL), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 4096);
    loop {
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
            .map_err(io::Error::other)?;
        // Done when all input is in and the flush left room in the buffer.
        if c.total_in() as usize == data.len() && out.len() < out.capacity() && status == Status::Ok
        {
            return Ok(out);
        }
        out.reserve(out.capacity().max(64 * 1024));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gzip_of(chunks: Vec<Vec<u8>>) -> Vec<u8> {
        let (tx, rx) = sync_channel(4);
        let t = std::thread::spawn(move || compress(rx, Vec::new()).unwrap());
        for c in chunks {
            tx.send(c).unwrap();
        }
        drop(tx);
        t.join().unwrap()
    }

    #[test]
    fn pieces_join_into_one_member_any_gunzip_reads() {
        let mut data = Vec::new();
        for i in 0..3_000_000u32 {
            data.push((i % 251) as u8 ^ (i >> 13) as u8);
        }
        let chunks: Vec<Vec<u8>> = data.chunks(1 << 20).map(<[u8]>::to_vec).collect();
        let gz = gzip_of(chunks.clone());
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        assert_eq!(gzip_of(chunks), gz, "the same input gives the same bytes");
        let mut empty = Vec::new();
        flate2::read::GzDecoder::new(&gzip_of(vec![])[..])
            .read_to_end(&mut empty)
            .unwrap();
        assert!(empty.is_empty());
    }
}
