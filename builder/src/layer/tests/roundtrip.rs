//! write_layer of every entry kind, then apply_layer (Overlay): same tree.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;

use super::*;

/// A vfs_cap_data v2 granting CAP_NET_BIND_SERVICE, effective.
pub(super) const CAP: [u8; 20] = [1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// An upper dir with one of everything.
pub(super) fn populate(u: &Path) {
    write(&u.join("a.txt"), b"hello\n");
    lchown(&u.join("a.txt"), 1000, 1001);
    write(&u.join("empty"), b"");
    let big: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write(&u.join("big.bin"), &big);
    fs::create_dir(u.join("d")).unwrap();
    write(&u.join("d/inner"), b"inner");
    chmod(&u.join("d"), 0o750);
    symlink("a.txt", u.join("rel-link")).unwrap();
    symlink("/etc/passwd", u.join("abs-link")).unwrap();
    lchown(&u.join("abs-link"), 7, 8);
    write(&u.join("h1"), b"linked");
    fs::hard_link(u.join("h1"), u.join("d/h2")).unwrap();
    mknod(&u.join("fifo"), libc::S_IFIFO, 0o640, 0, 0);
    mknod(&u.join("null"), libc::S_IFCHR, 0o666, 1, 3);
    mknod(&u.join("loop9"), libc::S_IFBLK, 0o660, 7, 9);
    write(&u.join("suid"), b"#!/bin/true\n");
    chmod(&u.join("suid"), 0o4755);
    write(&u.join("sgid-dir/x"), b"");
    chmod(&u.join("sgid-dir"), 0o2775 | 0o1000);
    write(&u.join("cap"), b"ping");
    setx(&u.join("cap"), "security.capability", &CAP);
    setx(&u.join("cap"), "user.note", b"v\0with nul");
    mknod(&u.join("gone"), libc::S_IFCHR, 0, 0, 0);
    fs::create_dir(u.join("opq")).unwrap();
    setx(&u.join("opq"), "trusted.overlay.opaque", b"y");
    write(&u.join("opq/new"), b"new");
    let long = "n".repeat(150);
    write(&u.join(format!("d/{long}")), b"long name");
    symlink("t".repeat(300), u.join("long-target")).unwrap();
    write(&u.join("biguid"), b"");
    lchown(&u.join("biguid"), 3_000_000, 3_000_001);
    let t = nix::sys::time::TimeSpec::new(1_600_000_000, 123_456_789);
    nix::sys::stat::utimensat(
        None,
        &u.join("a.txt"),
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();
}

#[test]
fn every_kind_round_trips_through_overlay_apply() {
    if !is_root() {
        return;
    }
    let upper = tempfile::tempdir().unwrap();
    populate(upper.path());
    let (blob, w) = layer(upper.path(), Compression::Gzip, None);
    assert_eq!(w.media_type, crate::image::MEDIA_LAYER_GZIP);
    assert_eq!(w.size, blob.len() as u64);
    assert_eq!(w.digest, crate::digest::Digest::of(&blob));

    let target = tempfile::tempdir().unwrap();
    let a = apply(&blob, target.path(), ApplyMode::Overlay).unwrap();
    assert_eq!(a.diff_id, w.diff_id);
    assert_eq!(a.entries, w.entries);
    // Everything but the hardlink's dir-local inode identity compares by value.
    let (src, dst) = (tree(upper.path()), tree(target.path()));
    assert_eq!(
        src.keys().collect::<Vec<_>>(),
        dst.keys().collect::<Vec<_>>()
    );
    for (k, s) in &src {
        assert_eq!(s, &dst[k], "{k}");
    }
    let t = target.path();
    let ino = |p: &str| fs::symlink_metadata(t.join(p)).unwrap().ino();
    assert_eq!(ino("h1"), ino("d/h2"), "hardlink pair shares an inode");
    assert_eq!(getx(&t.join("cap"), "security.capability").unwrap(), CAP);
    assert_eq!(
        getx(&t.join("opq"), "trusted.overlay.opaque").unwrap(),
        b"y"
    );
    assert_eq!(seen(&t.join("gone")).kind, "char");
    assert_eq!(seen(&t.join("gone")).rdev, 0);
    assert_eq!(seen(&t.join("suid")).mode, 0o4755);
    assert_eq!(seen(&t.join("a.txt")).mtime, 1_600_000_000);
    let ns = fs::symlink_metadata(t.join("a.txt")).unwrap().mtime_nsec();
    assert_eq!(ns, 123_456_789, "sub-second mtime via PAX");
}

#[test]
fn markers_in_the_tar_are_aufs_style() {
    if !is_root() {
        return;
    }
    let upper = tempfile::tempdir().unwrap();
    populate(upper.path());
    let (blob, w) = layer(upper.path(), Compression::Uncompressed, None);
    assert_eq!(w.digest, w.diff_id);
    let names = tar_names(&blob);
    assert!(names.contains(&".wh.gone".to_string()), "{names:?}");
    assert!(names.contains(&"opq/.wh..wh..opq".to_string()));
    assert!(names.contains(&"d/".to_string()));
    let i = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(i("d/") < i("d/inner"), "parents first");
    assert!(i("d/inner") < i("empty"), "depth first, sorted");
    assert_eq!(w.entries as usize, names.len());
}

/// Entry names as the tar crate's reader sees them (an independent reader).
pub(super) fn tar_names(tar_bytes: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(tar_bytes);
    a.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .map(|mut s| {
            // The tar crate drops a dir's trailing slash from path(): keep it.
            if s == "d" || s == "opq" || s == "sgid-dir" {
                s.push('/');
            }
            s
        })
        .collect()
}

#[test]
fn empty_upper_is_empty() {
    let d = tempfile::tempdir().unwrap();
    assert!(upper_is_empty(d.path()).unwrap());
    write(&d.path().join("x"), b"");
    assert!(!upper_is_empty(d.path()).unwrap());
}

/// A sink that fails after `left` bytes.
struct Failing {
    left: usize,
}

impl std::io::Write for Failing {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.left < b.len() {
            return Err(std::io::Error::other("disk full"));
        }
        self.left -= b.len();
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_output_is_an_error_not_a_hang() {
    if !is_root() {
        return;
    }
    let upper = tempfile::tempdir().unwrap();
    populate(upper.path());
    for c in [
        Compression::Gzip,
        Compression::Zstd,
        Compression::Uncompressed,
    ] {
        let opts = WriteOptions {
            compression: c,
            epoch: None,
        };
        let e = write_layer(upper.path(), &mut Failing { left: 4096 }, &opts).unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
    }
    // A source that vanishes names the file.
    let e = write_layer(
        &upper.path().join("nope"),
        &mut Vec::new(),
        &WriteOptions {
            compression: Compression::Gzip,
            epoch: None,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
}
