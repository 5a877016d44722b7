//! Removing a container's traces: its rootfs mount, its dir (record,
//! state, logs, upper dir), its name.

use std::path::Path;

use crate::records::Root;

/// Unmounts the overlay rootfs if it is mounted (lazily: a process still
/// holding it does not stop the removal).
pub fn unmount_rootfs(rootfs: &Path) {
    if is_mountpoint(rootfs) {
        if let Ok(c) = std::ffi::CString::new(rootfs.as_os_str().as_encoded_bytes()) {
            // SAFETY: umount2 with a valid C string.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Whether `path` is a mount point (its device differs from its parent's,
/// or /proc/self/mountinfo lists it).
pub fn is_mountpoint(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.to_string_lossy();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| unescape(m) == want)
}

fn unescape(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let n = std::str::from_utf8(&b[i + 1..i + 4])
                .ok()
                .and_then(|o| u8::from_str_radix(o, 8).ok());
            if let Some(n) = n {
                out.push(n);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes everything of container `id` (its process must be gone).
pub fn remove(root: &Root, id: &str) -> Result<(), String> {
    let dir = root.dir(id);
    let record = root.record(id).ok();
    if let Some(m) = record.as_ref().and_then(|r| r.rootfs_mount.as_ref()) {
        unmount_rootfs(m);
        // Never recurse into a mounted image: that would write whiteouts,
        // or worse.
        if is_mountpoint(m) {
            return Err(format!("{}: still mounted", m.display()));
        }
    }
    berth_builder::store::remove_tree(&dir);
    if let Some(r) = &record {
        remove_outside_log(r);
        if !r.image_id.is_empty() {
            if let Ok(store) = berth_builder::store::Store::open(&r.store) {
                store.release(&crate::records::holder(id));
            }
        }
    }
    if let Some(r) = record {
        root.release_name(&r.name, id);
    }
    if dir.exists() {
        return Err(format!("{}: could not be removed", dir.display()));
    }
    Ok(())
}

/// A log kept outside the container's dir (`--log-opt path=`) goes with
/// it, as docker's logs do, rotated files included.
fn remove_outside_log(r: &crate::records::Record) {
    let Some(path) = r.host.log_config.opts.get("path") else {
        return;
    };
    let _ = std::fs::remove_file(path);
    for n in 1.. {
        if std::fs::remove_file(format!("{path}.{n}")).is_err() {
            break;
        }
    }
}
