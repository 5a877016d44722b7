//! The idle monitor's footprint: code it ran only to start is let go.
//!
//! Starting a container touches most of the shim's and libc's code, and
//! the kernel maps 64 KiB around each page fault besides; the poll loop
//! then needs a few pages of it. Read-only file mappings that hold no
//! private (copied) pages are identical to the file, so dropping them costs
//! nothing but a later fault from the page cache. Writable and relocated
//! mappings are kept. This runs after a second of quiet, so the next burst
//! of work faults back only what it uses.

use std::io::{BufRead, BufReader};

/// Drops this process's clean read-only file pages; errors are ignored
/// (the monitor only stays larger).
pub fn trim() {
    let Ok(f) = std::fs::File::open("/proc/self/smaps") else {
        return;
    };
    let mut current: Option<(usize, usize)> = None;
    let mut ranges = Vec::with_capacity(16);
    for line in BufReader::new(f).lines().map_while(Result::ok) {
        if is_header(&line) {
            current = droppable(&line);
        } else if let (Some(range), Some(kb)) = (current, field_kb(&line, "Anonymous:")) {
            if kb == 0 {
                ranges.push(range);
            }
            current = None;
        }
    }
    // Last, in one short loop: what runs after it faults back in.
    for (start, end) in ranges {
        drop_range(start, end);
    }
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe { libc::malloc_trim(0) };
}

/// Lets go of a scratch buffer's pages: they read as zeros afterwards.
pub fn release(buf: &mut [u8]) {
    let page = 4096;
    let start = (buf.as_mut_ptr() as usize).div_ceil(page) * page;
    let end = (buf.as_mut_ptr() as usize + buf.len()) / page * page;
    if end > start {
        // SAFETY: whole pages inside a buffer we hold exclusively; its
        // contents are scratch, and zero pages come back on the next touch.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// A mapping header (`start-end perms offset dev inode path`).
fn is_header(line: &str) -> bool {
    line.split_whitespace()
        .next()
        .is_some_and(|f| f.contains('-') && f.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
}

/// The range of a private, read-only mapping of a file.
fn droppable(line: &str) -> Option<(usize, usize)> {
    if !is_header(line) {
        return None;
    }
    let f: Vec<&str> = line.split_whitespace().collect();
    let (range, perms, inode) = (f[0], f.get(1)?, f.get(4)?);
    let p = perms.as_bytes();
    if p.len() < 4 || p[0] != b'r' || p[1] == b'w' || p[3] != b'p' || *inode == "0" {
        return None;
    }
    let (a, b) = range.split_once('-')?;
    Some((
        usize::from_str_radix(a, 16).ok()?,
        usize::from_str_radix(b, 16).ok()?,
    ))
}

fn field_kb(line: &str, name: &str) -> Option<u64> {
    line.strip_prefix(name)?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

fn drop_range(start: usize, end: usize) {
    // SAFETY: the range is one of our own private read-only file mappings
    // without private pages: its contents are the file's, and the next
    // access faults them back in unchanged.
    unsafe {
        let addr = start as *mut libc::c_void;
        libc::madvise(addr, end - start, libc::MADV_DONTNEED);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_clean_read_only_file_mappings_qualify() {
        let text = "55d0c0a00000-55d0c0b00000 r-xp 00001000 fe:00 1234 /usr/bin/shim";
        assert_eq!(
            super::droppable(text),
            Some((0x55d0c0a00000, 0x55d0c0b00000))
        );
        for line in [
            "55d0c0a00000-55d0c0b00000 rw-p 00001000 fe:00 1234 /usr/bin/shim",
            "7ffd1000-7ffd2000 rw-p 00000000 00:00 0 [stack]",
            "7f000000-7f001000 r--s 00000000 fe:00 99 /dev/shm/x",
            "Anonymous:             0 kB",
        ] {
            assert_eq!(super::droppable(line), None, "{line}");
        }
        assert_eq!(
            super::field_kb("Anonymous:            12 kB", "Anonymous:"),
            Some(12)
        );
    }

    #[test]
    fn trimming_keeps_the_process_working() {
        let file_kb = || {
            let s = std::fs::read_to_string("/proc/self/status").unwrap();
            let l = s.lines().find(|l| l.starts_with("RssFile:")).unwrap();
            super::field_kb(l, "RssFile:").unwrap()
        };
        let before = file_kb();
        super::trim();
        let after = file_kb();
        assert!(after < before, "RssFile {before} kB -> {after} kB");
        // Code and read-only data come back from the file when touched.
        let v: Vec<u64> = (0..1000).collect();
        assert_eq!(v.iter().sum::<u64>(), 499500);
        assert!(format!("{:?}", std::env::current_exe()).contains("shim"));
    }
}
