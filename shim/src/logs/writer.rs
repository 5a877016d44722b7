//! The monitor's log writer: container output in, formatted lines out, in
//! large writes. Lines split by a pipe read are joined before they are
//! written; a line still open when the pipe runs dry, or longer than
//! MAX_LINE, is written as a partial (P) record, as CRI asks.
//!
//! A write that fails (full disk) keeps the whole lines that made it, drops
//! the rest and notes the loss in the log (loss.rs): the container is never
//! blocked on the disk.

mod loss;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::format::{cri_line, json_line, Stream};
use super::{LogError, Rotation};

/// Docker's and kubelet's longest record: longer lines are split.
pub const MAX_LINE: usize = 16 * 1024;
/// Formatted output gathered before a write(2).
const FLUSH_AT: usize = 1 << 20;
/// The buffer kept between bursts.
const IDLE_CAPACITY: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    K8sFile,
    JsonFile,
    None,
}

impl Driver {
    pub fn parse(s: &str) -> Result<Driver, LogError> {
        match s {
            "" | "k8s-file" => Ok(Driver::K8sFile),
            "json-file" => Ok(Driver::JsonFile),
            "none" => Ok(Driver::None),
            other => Err(LogError::BadDriver(other.into())),
        }
    }
}

pub struct LogWriter {
    path: PathBuf,
    driver: Driver,
    rotation: Rotation,
    file: Option<File>,
    /// Bytes in the file that are whole lines.
    size: u64,
    out: Vec<u8>,
    /// The open (unterminated) line of each stream.
    pending: [Vec<u8>; 2],
    /// Bytes lost that no note in the log counts yet.
    lost: u64,
    lost_why: String,
    total_lost: u64,
    /// The last loss note written while writes still fail.
    note: Option<loss::Note>,
}

impl LogWriter {
    pub fn open(path: &Path, driver: Driver, rotation: Rotation) -> Result<LogWriter, LogError> {
        let mut w = LogWriter {
            path: path.to_path_buf(),
            driver,
            rotation,
            file: None,
            size: 0,
            out: Vec::new(),
            pending: [Vec::new(), Vec::new()],
            lost: 0,
            lost_why: String::new(),
            total_lost: 0,
            note: None,
        };
        if driver != Driver::None {
            w.reopen().map_err(|source| LogError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
        Ok(w)
    }

    fn reopen(&mut self) -> io::Result<()> {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = f.metadata()?.len();
        self.file = Some(f);
        Ok(())
    }

    /// Whether output is gathered but not yet written.
    pub fn has_pending(&self) -> bool {
        !self.out.is_empty() || self.pending.iter().any(|p| !p.is_empty())
    }

    /// Bytes lost to failed writes so far.
    pub fn total_lost(&self) -> u64 {
        self.total_lost
    }

    /// Output of `stream`, as read from the container.
    pub fn write(&mut self, stream: Stream, mut data: &[u8]) {
        if self.driver == Driver::None {
            return;
        }
        let time = berth_builder::clock::now_rfc3339();
        let i = stream as usize;
        while let Some(nl) = data.iter().position(|b| *b == b'\n') {
            let (line, rest) = (&data[..nl], &data[nl + 1..]);
            if self.pending[i].is_empty() {
                self.record(&time, stream, false, line);
            } else {
                let mut whole = std::mem::take(&mut self.pending[i]);
                whole.extend_from_slice(line);
                self.record(&time, stream, false, &whole);
            }
            data = rest;
        }
        self.pending[i].extend_from_slice(data);
        while self.pending[i].len() >= MAX_LINE {
            let part: Vec<u8> = self.pending[i].drain(..MAX_LINE).collect();
            self.record(&time, stream, true, &part);
        }
        if self.out.len() >= FLUSH_AT {
            self.flush();
        }
    }

    /// The stream has no more data for now: its open line becomes a
    /// partial record, and everything gathered is written.
    pub fn idle(&mut self) {
        if self.driver == Driver::None {
            return;
        }
        let time = berth_builder::clock::now_rfc3339();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let part = std::mem::take(&mut self.pending[stream as usize]);
            if !part.is_empty() {
                self.record(&time, stream, true, &part);
            }
        }
        self.flush();
        // A burst's megabyte goes back: the idle monitor stays small.
        if self.out.capacity() > IDLE_CAPACITY {
            self.out = Vec::new();
        }
    }

    fn record(&mut self, time: &str, stream: Stream, partial: bool, content: &[u8]) {
        // One record per line, split at MAX_LINE (P parts, then the F end).
        let mut chunks = content.chunks(MAX_LINE).peekable();
        if content.is_empty() {
            self.line(time, stream, partial, content);
        }
        while let Some(c) = chunks.next() {
            let last = chunks.peek().is_none();
            self.line(time, stream, partial || !last, c);
        }
    }

    fn line(&mut self, time: &str, stream: Stream, partial: bool, content: &[u8]) {
        match self.driver {
            Driver::K8sFile => cri_line(&mut self.out, time, stream, partial, content),
            Driver::JsonFile => json_line(&mut self.out, time, stream, partial, content),
            Driver::None => {}
        }
    }

    /// Writes what is gathered, rotating at max-size: a file holds whole
    /// lines and never passes max-size (unless one line alone does).
    pub fn flush(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.out);
        let lost_before = self.total_lost;
        let mut rest = &batch[..];
        while !rest.is_empty() {
            let n = self.fitting(rest);
            if n == 0 {
                if let Err(e) = self.rotate() {
                    self.note_loss(rest.len() as u64, &format!("rotating the log: {e}"));
                    break;
                }
                continue;
            }
            let (piece, after) = rest.split_at(n);
            if let Err((kept, e)) = self.write_batch(piece) {
                self.size += kept as u64;
                self.note_loss((n - kept) as u64, &e.to_string());
            } else {
                self.size += n as u64;
            }
            rest = after;
        }
        if self.total_lost > lost_before || self.lost > 0 {
            self.tell_loss();
        }
        if self.total_lost == lost_before {
            self.note = None; // writes work again: the notes stay as written
        }
        self.out = batch;
        self.out.clear();
    }

    /// How much of `lines` (whole lines) goes into the current file: 0 when
    /// it must rotate first.
    fn fitting(&self, lines: &[u8]) -> usize {
        let Some(max) = self.rotation.max_size else {
            return lines.len();
        };
        let room = max.saturating_sub(self.size) as usize;
        if lines.len() <= room {
            return lines.len();
        }
        match lines[..room].iter().rposition(|b| *b == b'\n') {
            Some(nl) => nl + 1,
            // Not even one line fits: a fresh file takes the first whole.
            None if self.size == 0 => lines
                .iter()
                .position(|b| *b == b'\n')
                .map_or(lines.len(), |p| p + 1),
            None => 0,
        }
    }

    /// Appends whole lines; on a failed write (a full disk) the lines that
    /// made it stay, the half line after them is cut off, and the error
    /// comes back with how many bytes were kept.
    fn write_batch(&mut self, batch: &[u8]) -> Result<(), (usize, io::Error)> {
        if self.file.is_none() {
            self.reopen().map_err(|e| (0, e))?;
        }
        let f = self.file.as_mut().expect("opened");
        let mut done = 0;
        while done < batch.len() {
            match f.write(&batch[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let kept = batch[..done]
                        .iter()
                        .rposition(|b| *b == b'\n')
                        .map_or(0, |p| p + 1);
                    let _ = f.set_len(self.size + kept as u64);
                    return Err((kept, e));
                }
            }
        }
        Ok(())
    }

    /// Moves ctr.log to ctr.log.1 (and .1 to .2 ... up to max-file) and
    /// starts a new file. With max-file=1 the newest half of the log is kept
    /// instead of none of it (conmon#211: a rotation never empties the log).
    fn rotate(&mut self) -> io::Result<()> {
        let keep = self.rotation.max_file;
        if keep <= 1 {
            return self.keep_newest_half();
        }
        self.file = None;
        let name = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        for n in (1..keep - 1).rev() {
            if name(n).exists() {
                fs::rename(name(n), name(n + 1))?;
            }
        }
        fs::rename(&self.path, name(1))?;
        self.reopen()
    }

    fn keep_newest_half(&mut self) -> io::Result<()> {
        let max = self.rotation.max_size.unwrap_or(0);
        let mut f = File::open(&self.path)?;
        let start = self.size.saturating_sub(max / 2);
        f.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        f.read_to_end(&mut tail)?;
        // Start at a line boundary.
        let from = if start == 0 {
            0
        } else {
            tail.iter()
                .position(|b| *b == b'\n')
                .map_or(tail.len(), |p| p + 1)
        };
        let tmp = berth_builder::store::atomic::temp_beside(&self.path);
        fs::write(&tmp, &tail[from..])?;
        fs::rename(&tmp, &self.path)?;
        self.reopen()
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        self.idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::{read_all, ReadOptions};

    fn lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| l.split_once(' ').unwrap().1.to_string())
            .collect()
    }

    #[test]
    fn lines_split_across_reads_are_joined_and_open_lines_are_partial() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ctr.log");
        let rot = Rotation {
            max_size: None,
            max_file: 1,
        };
        let mut w = LogWriter::open(&p, Driver::K8sFile, rot).unwrap();
        w.write(Stream::Stdout, b"hel");
        w.write(Stream::Stderr, b"oops\n");
        w.write(Stream::Stdout, b"lo\nwor");
        w.idle();
        w.write(Stream::Stdout, b"ld\n\n");
        let long = vec![b'x'; MAX_LINE + 5];
        w.write(Stream::Stdout, &long);
        w.write(Stream::Stdout, b"\n");
        drop(w);
        let got = lines(&p);
        assert_eq!(got[0], "stderr F oops");
        assert_eq!(got[1], "stdout F hello");
        assert_eq!(got[2], "stdout P wor");
        assert_eq!(got[3], "stdout F ld");
        assert_eq!(got[4], "stdout F ");
        assert_eq!(got[5].len(), "stdout P ".len() + MAX_LINE);
        assert_eq!(got[6], "stdout F xxxxx");
        // The reader joins partials back into the lines written.
        let mut out = Vec::new();
        read_all(&p, &ReadOptions::default(), &mut |e, _| {
            out.push((e.stream, String::from_utf8_lossy(&e.content).into_owned()))
        })
        .unwrap();
        assert_eq!(out[2].1, "world");
        assert_eq!(out[4].1.len(), MAX_LINE + 5);
    }

    #[test]
    fn rotation_keeps_max_file_files_and_never_empties_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ctr.log");
        let rot = Rotation {
            max_size: Some(1000),
            max_file: 3,
        };
        let mut w = LogWriter::open(&p, Driver::JsonFile, rot).unwrap();
        for i in 0..200 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes());
            w.idle();
        }
        drop(w);
        assert!(p.exists() && dir.path().join("ctr.log.1").exists());
        assert!(dir.path().join("ctr.log.2").exists());
        assert!(!dir.path().join("ctr.log.3").exists());
        for f in ["ctr.log", "ctr.log.1", "ctr.log.2"] {
            assert!(fs::metadata(dir.path().join(f)).unwrap().len() <= 1000);
        }
        let last = fs::read_to_string(&p).unwrap();
        assert!(last.contains("line 199"), "{last}");

        // One batch far larger than max-size is split across the files.
        let b = dir.path().join("batch.log");
        let mut w = LogWriter::open(&b, Driver::K8sFile, rot).unwrap();
        for i in 0..200 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes());
        }
        drop(w);
        for f in ["batch.log", "batch.log.1", "batch.log.2"] {
            let text = fs::read_to_string(dir.path().join(f)).unwrap();
            assert!(
                text.len() <= 1000 && text.len() > 800,
                "{f}: {}",
                text.len()
            );
            assert!(text.ends_with('\n'), "{f}");
        }

        let q = dir.path().join("one.log");
        let rot = Rotation {
            max_size: Some(1000),
            max_file: 1,
        };
        let mut w = LogWriter::open(&q, Driver::K8sFile, rot).unwrap();
        for i in 0..200 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes());
            w.idle();
        }
        drop(w);
        let text = fs::read_to_string(&q).unwrap();
        assert!(text.len() <= 1000 && text.len() > 300, "{}", text.len());
        assert!(text.contains("line 199") && text.ends_with('\n'));
        assert!(text
            .lines()
            .all(|l| crate::logs::parse_line(l.as_bytes()).is_some()));
    }
}
