//! Reading a container's log back: every file of it oldest first (the
//! rotated ones, then the live one), partial records joined into the lines
//! the container wrote, filtered by time and cut to the last N lines; and
//! following the live file as it grows and rotates.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::format::{parse_line, Entry};

#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    pub tail: Option<usize>,
    /// Seconds since the epoch: only lines at or after / before.
    pub since: Option<i64>,
    pub until: Option<i64>,
}

/// The log's files, oldest first.
pub fn files(path: &Path) -> Vec<PathBuf> {
    let mut older: Vec<(u32, PathBuf)> = Vec::new();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    if let (Some(dir), Some(name)) = (path.parent(), name) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let f = e.file_name().to_string_lossy().into_owned();
                if let Some(n) = f
                    .strip_prefix(&name)
                    .and_then(|r| r.strip_prefix('.'))
                    .and_then(|n| n.parse().ok())
                {
                    older.push((n, e.path()));
                }
            }
        }
    }
    older.sort_by_key(|o| std::cmp::Reverse(o.0));
    let mut out: Vec<PathBuf> = older.into_iter().map(|(_, p)| p).collect();
    out.push(path.to_path_buf());
    out
}

/// Joins partial records per stream.
#[derive(Default)]
pub struct Joiner {
    open: [Option<Entry>; 2],
}

impl Joiner {
    pub fn push(&mut self, e: Entry) -> Option<Entry> {
        let slot = &mut self.open[e.stream as usize];
        let whole = match slot.take() {
            Some(mut first) => {
                first.content.extend_from_slice(&e.content);
                first.partial = e.partial;
                first
            }
            None => e,
        };
        if whole.partial {
            *slot = Some(whole);
            None
        } else {
            Some(whole)
        }
    }

    /// Lines still open (the container has not ended them yet).
    pub fn rest(&mut self) -> Vec<Entry> {
        self.open.iter_mut().filter_map(Option::take).collect()
    }
}

fn wanted(e: &Entry, o: &ReadOptions) -> bool {
    if o.since.is_none() && o.until.is_none() {
        return true;
    }
    let Some(t) = berth_builder::clock::parse(&e.time) else {
        return true;
    };
    o.since.is_none_or(|s| t >= s) && o.until.is_none_or(|u| t < u)
}

/// Where reading the live file stopped: following starts there.
#[derive(Clone, Copy, Debug, Default)]
pub struct Position {
    pub inode: u64,
    pub offset: u64,
}

/// Calls `emit(line, ended)` for each line of the log (ended: false for a
/// last line the container has not finished).
pub fn read_all(
    path: &Path,
    o: &ReadOptions,
    emit: &mut dyn FnMut(&Entry, bool),
) -> io::Result<Position> {
    let mut pos = Position::default();
    let mut join = Joiner::default();
    let mut ring: VecDeque<(Entry, bool)> = VecDeque::new();
    let mut put = |e: Entry, ended: bool, ring: &mut VecDeque<(Entry, bool)>| {
        if !wanted(&e, o) {
            return;
        }
        match o.tail {
            Some(0) => {}
            Some(n) => {
                if ring.len() == n {
                    ring.pop_front();
                }
                ring.push_back((e, ended));
            }
            None => emit(&e, ended),
        }
    };
    for f in files(path) {
        let file = match File::open(&f) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let live = f == path;
        if live {
            pos.inode = file.metadata()?.ino();
        }
        let mut r = BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::new();
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            if line.last() != Some(&b'\n') {
                break; // being written this instant
            }
            if live {
                pos.offset += line.len() as u64;
            }
            line.pop();
            if let Some(e) = parse_line(&line).and_then(|e| join.push(e)) {
                put(e, true, &mut ring);
            }
        }
    }
    for e in join.rest() {
        put(e, false, &mut ring);
    }
    for (e, ended) in ring {
        emit(&e, ended);
    }
    Ok(pos)
}

/// Follows the live file from its end: `more` reads what was added since,
/// reopening the file when it was rotated (new inode).
pub struct Follow {
    path: PathBuf,
    reader: Option<BufReader<File>>,
    inode: u64,
    join: Joiner,
    line: Vec<u8>,
}

impl Follow {
    /// Starts at the current end of the live file.
    #[cfg(test)]
    pub fn at_end(path: &Path) -> Follow {
        let end = std::fs::metadata(path).map(|m| (m.ino(), m.len()));
        let (inode, offset) = end.unwrap_or((0, 0));
        Follow::at(path, Position { inode, offset })
    }

    /// Starts where `read_all` stopped (or at the start of a file that
    /// replaced that one since).
    pub fn at(path: &Path, pos: Position) -> Follow {
        let mut f = Follow {
            path: path.to_path_buf(),
            reader: None,
            inode: 0,
            join: Joiner::default(),
            line: Vec::new(),
        };
        if let Ok(mut file) = File::open(path) {
            f.inode = file.metadata().map(|m| m.ino()).unwrap_or(0);
            if f.inode == pos.inode {
                let _ = file.seek(SeekFrom::Start(pos.offset));
            }
            f.reader = Some(BufReader::with_capacity(1 << 20, file));
        }
        f
    }

    /// Reads the lines added since the last call.
    pub fn more(&mut self, emit: &mut dyn FnMut(&Entry)) -> io::Result<()> {
        loop {
            self.drain(emit)?;
            let now = std::fs::metadata(&self.path).map(|m| m.ino()).ok();
            if now.is_none() || now == Some(self.inode) {
                return Ok(());
            }
            // Rotated: the old file is done (drained above); go on with the new.
            let file = File::open(&self.path)?;
            self.inode = file.metadata()?.ino();
            self.reader = Some(BufReader::with_capacity(1 << 20, file));
        }
    }

    fn drain(&mut self, emit: &mut dyn FnMut(&Entry)) -> io::Result<()> {
        let Some(r) = self.reader.as_mut() else {
            return Ok(());
        };
        loop {
            let n = r.read_until(b'\n', &mut self.line)?;
            if n == 0 || self.line.last() != Some(&b'\n') {
                // Keep a half-written line for the next call.
                return Ok(());
            }
            self.line.pop();
            if let Some(e) = parse_line(&self.line).and_then(|e| self.join.push(e)) {
                emit(&e);
            }
            self.line.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::{Driver, LogWriter, Rotation, Stream};

    fn collect(path: &Path, o: &ReadOptions) -> Vec<String> {
        let mut out = Vec::new();
        read_all(path, o, &mut |e, _| {
            out.push(String::from_utf8_lossy(&e.content).into_owned())
        })
        .unwrap();
        out
    }

    #[test]
    fn tail_spans_rotated_files_and_follow_crosses_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ctr.log");
        let rot = Rotation {
            max_size: Some(4096),
            max_file: 5,
        };
        let mut w = LogWriter::open(&p, Driver::K8sFile, rot).unwrap();
        for i in 0..100 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes());
            w.idle();
        }
        assert!(dir.path().join("ctr.log.1").exists());
        let all = collect(&p, &ReadOptions::default());
        assert_eq!(all.len(), 100);
        assert_eq!(all[0], "line 0");
        let tail = collect(
            &p,
            &ReadOptions {
                tail: Some(3),
                ..Default::default()
            },
        );
        assert_eq!(tail, ["line 97", "line 98", "line 99"]);
        let none = collect(
            &p,
            &ReadOptions {
                since: Some(i64::MAX / 2),
                ..Default::default()
            },
        );
        assert!(none.is_empty());

        let mut f = Follow::at_end(&p);
        let mut seen = Vec::new();
        for i in 100..300 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes());
            w.idle();
            if i % 7 == 0 {
                f.more(&mut |e| seen.push(String::from_utf8_lossy(&e.content).into_owned()))
                    .unwrap();
            }
        }
        f.more(&mut |e| seen.push(String::from_utf8_lossy(&e.content).into_owned()))
            .unwrap();
        let want: Vec<String> = (100..300).map(|i| format!("line {i}")).collect();
        assert_eq!(seen, want);
    }
}
