//! Output the disk would not take: counted, and told in the log itself.
//!
//! While writes fail the log ends with a note of what was lost; a later
//! failure with nothing written since merges into that note rather than
//! adding another, and when there is no room left for a note the newest
//! lines give way to it. Each note counts the bytes lost since the one
//! before, so the notes add up to the loss (also in `total_lost`).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use super::{LogWriter, MAX_LINE};
use crate::logs::format::{cri_line, json_line, Stream};
use crate::logs::writer::Driver;

/// A loss note in the file: where it sits and what it counts.
pub(super) struct Note {
    at: u64,
    end: u64,
    count: u64,
}

/// Room made for a note when none is left: tmpfs frees whole pages.
const ROOM: u64 = 8192;

impl LogWriter {
    pub(super) fn note_loss(&mut self, bytes: u64, why: &str) {
        self.lost += bytes;
        self.total_lost += bytes;
        self.lost_why = why.to_string();
    }

    /// Ends the log with a note of the bytes lost that no note counts yet.
    pub(super) fn tell_loss(&mut self) {
        let mut count = self.lost;
        if let Some(n) = self.note.take() {
            if n.end == self.size {
                self.truncate(n.at);
                count += n.count;
            } else {
                self.note = Some(n);
            }
        }
        for room in [0, ROOM] {
            if room > 0 {
                let Ok(cut) = self.cut_back(room) else { break };
                count += cut.dropped;
                self.total_lost += cut.dropped;
                if let Some(n) = self.note.take_if(|n| cut.at <= n.at) {
                    count += n.count;
                }
            }
            let text = self.loss_note(count);
            let at = self.size;
            if self.write_batch(&text).is_ok() {
                self.size += text.len() as u64;
                self.note = Some(Note {
                    at,
                    end: self.size,
                    count,
                });
                self.lost = 0;
                return;
            }
        }
        self.lost = count;
    }

    fn loss_note(&self, count: u64) -> Vec<u8> {
        let msg = format!(
            "[berth shim] {count} bytes of log were lost: {}",
            self.lost_why
        );
        let time = berth_builder::clock::now_rfc3339();
        let mut note = Vec::new();
        match self.driver {
            Driver::K8sFile => cri_line(&mut note, &time, Stream::Stderr, false, msg.as_bytes()),
            _ => json_line(&mut note, &time, Stream::Stderr, false, msg.as_bytes()),
        }
        note
    }

    /// Cuts the file back to the line boundary at least `room` bytes before
    /// its end.
    fn cut_back(&mut self, room: u64) -> io::Result<Cut> {
        let target = self.size.saturating_sub(room);
        let from = target.saturating_sub(2 * MAX_LINE as u64 + 1024);
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(from))?;
        let mut buf = vec![0; (target - from) as usize];
        f.read_exact(&mut buf)?;
        let at = buf
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| from + p as u64 + 1);
        let dropped = self.size - at;
        self.truncate(at);
        Ok(Cut { at, dropped })
    }

    fn truncate(&mut self, len: u64) {
        if let Some(f) = &self.file {
            if f.set_len(len).is_ok() {
                self.size = len;
            }
        }
    }
}

struct Cut {
    at: u64,
    dropped: u64,
}
