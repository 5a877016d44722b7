//! What a `run` keeps resident while its container runs.
//!
//! Creating a container runs most of the runtime's code, and each page fault
//! on the binary maps the 64 KiB around it. Waiting needs a few pages of it,
//! deleting a few more. The binary's read-only segments are the file's pages
//! (the static binary relocates only its writable ones), so letting them go
//! costs a fault from the page cache when they run again: the waiting `run`
//! holds its heap, stack and relocated data, and a handful of code pages
//! (676 KB resident against 1.7 MB at its peak).
//! (A debugger's breakpoints are private copies of code pages: a `run`
//! under gdb loses those set before it waits.)

use std::ffi::c_int;

/// Drops the resident pages of the running binary's read-only segments.
/// Nothing to report: on failure the process only stays larger.
pub fn release_code() {
    // SAFETY: dl_iterate_phdr calls `segments` with each loaded object's
    // program headers; the callback reads them and returns non-zero after
    // the first object, the executable.
    unsafe { libc::dl_iterate_phdr(Some(segments), std::ptr::null_mut()) };
}

unsafe extern "C" fn segments(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    _data: *mut libc::c_void,
) -> c_int {
    // SAFETY: glibc hands a valid dl_phdr_info whose dlpi_phdr points at
    // dlpi_phnum program headers of the object, for the callback's duration.
    let (bias, phdrs) = unsafe {
        let info = &*info;
        (
            info.dlpi_addr as usize,
            std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)),
        )
    };
    let page = 4096;
    for ph in phdrs {
        if ph.p_type != libc::PT_LOAD || ph.p_flags & libc::PF_W != 0 {
            continue;
        }
        // Whole pages only: a read-only segment's last page may be shared
        // with the next, writable one (lld pads them apart, but be sure).
        let start = (bias + ph.p_vaddr as usize).div_ceil(page) * page;
        let end = (bias + (ph.p_vaddr + ph.p_filesz) as usize) / page * page;
        if end > start {
            // SAFETY: a private, read-only mapping of our own binary that
            // nothing writes (no relocation reaches a read-only segment):
            // its pages are the file's and fault back in unchanged.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        }
    }
    1
}

#[cfg(test)]
mod tests {
    fn rss_file_kb() -> u64 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        let l = s.lines().find(|l| l.starts_with("RssFile:")).unwrap();
        l["RssFile:".len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    fn released_code_runs_again_from_the_file() {
        let before = rss_file_kb();
        super::release_code();
        let after = rss_file_kb();
        assert!(after < before, "RssFile {before} kB -> {after} kB");
        // Code and read-only data come back unchanged when they run again.
        let v: Vec<u64> = (0..1000).collect();
        assert_eq!(v.iter().sum::<u64>(), 499_500);
        assert_eq!(format!("{:x}", 0xbe27u32), "be27");
    }
}
