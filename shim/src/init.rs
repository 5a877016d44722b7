//! `run --init`: which berth-init to bind-mount at /sbin/docker-init.
//!
//! It must be linked statically: the images it goes into need not have a
//! libc, let alone ours.

use std::path::{Path, PathBuf};

/// Where the init appears in the container (docker's path).
pub const TARGET: &str = "/sbin/docker-init";

/// $BERTH_INIT, else `berth-init` beside this executable, else on PATH;
/// refused unless it is a static executable.
pub fn locate() -> Result<PathBuf, String> {
    let path = candidates()
        .into_iter()
        .find(|p| p.is_file())
        .ok_or("--init: berth-init not found (beside shim, on PATH, or $BERTH_INIT)")?;
    let path =
        std::fs::canonicalize(&path).map_err(|e| format!("--init: {}: {e}", path.display()))?;
    match is_static(&path) {
        Ok(true) => Ok(path),
        Ok(false) => Err(format!(
            "--init: {} is linked dynamically; the init needs a static build (make build)",
            path.display()
        )),
        Err(e) => Err(format!("--init: {}: {e}", path.display())),
    }
}

fn candidates() -> Vec<PathBuf> {
    if let Some(p) = std::env::var_os("BERTH_INIT").filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(p)];
    }
    let mut out = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        out.push(exe.with_file_name("berth-init"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        out.extend(std::env::split_paths(&path).map(|d| d.join("berth-init")));
    }
    out
}

/// A 64-bit little-endian ELF without a PT_INTERP (program interpreter).
fn is_static(path: &Path) -> std::io::Result<bool> {
    let elf = std::fs::read(path)?;
    let bad = || std::io::Error::other("not a 64-bit ELF executable");
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        return Err(bad());
    }
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[32..40].try_into().expect("8 bytes")) as usize;
    let (size, count) = (u16_at(54), u16_at(56));
    for i in 0..count {
        let at = phoff + i * size;
        let p_type = elf.get(at..at + 4).ok_or_else(bad)?;
        if p_type == 3u32.to_le_bytes() {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_dynamic_executable_is_told_apart() {
        // The test binary itself is linked dynamically.
        let me = std::env::current_exe().unwrap();
        assert!(!super::is_static(&me).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"#!/bin/sh\n").unwrap();
        assert!(super::is_static(&junk).is_err());
    }
}
