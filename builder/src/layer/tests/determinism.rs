//! Same input + epoch -> same digests; the blobs are readable by the
//! system's gzip/zstd/tar; bzip2/xz layers apply.

use std::io::Write;
use std::process::{Command, Stdio};

use super::roundtrip::populate;
use super::*;

fn touch_all(root: &Path) {
    for (rel, _) in tree(root) {
        let now = nix::sys::time::TimeSpec::new(2_000_000_000, 5);
        let p = root.join(rel);
        nix::sys::stat::utimensat(
            None,
            &p,
            &now,
            &now,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();
    }
}

#[test]
fn epoch_makes_digests_reproducible() {
    if !is_root() {
        return;
    }
    let upper = tempfile::tempdir().unwrap();
    populate(upper.path());
    let epoch = Some(1_000_000_000);
    for c in [
        Compression::Gzip,
        Compression::Zstd,
        Compression::Uncompressed,
    ] {
        let (b1, w1) = layer(upper.path(), c, epoch);
        let (b2, w2) = layer(upper.path(), c, epoch);
        assert_eq!(b1, b2, "{c:?}");
        assert_eq!((w1.diff_id, w1.digest), (w2.diff_id, w2.digest));
    }
    let (_, before) = layer(upper.path(), Compression::Gzip, epoch);
    touch_all(upper.path());
    let (blob, after) = layer(upper.path(), Compression::Gzip, epoch);
    assert_eq!(
        (before.diff_id, before.digest),
        (after.diff_id, after.digest)
    );
    // Clamped, whole seconds.
    let target = tempfile::tempdir().unwrap();
    apply(&blob, target.path(), ApplyMode::Overlay).unwrap();
    let md = fs::symlink_metadata(target.path().join("a.txt")).unwrap();
    assert_eq!((md.mtime(), md.mtime_nsec()), (1_000_000_000, 0));
    // Without an epoch the touched mtimes show.
    let (_, loose) = layer(upper.path(), Compression::Gzip, None);
    assert_ne!(loose.diff_id, after.diff_id);
}

/// `cmd` with `input` on stdin; its stdout, or None when it is not installed.
fn pipe(cmd: &str, args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    if !has_tool(cmd) {
        return None;
    }
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd} {args:?} failed");
    Some(out.stdout)
}

#[test]
fn system_tools_read_the_blobs() {
    if !is_root() {
        return;
    }
    let upper = tempfile::tempdir().unwrap();
    populate(upper.path());
    let (plain, w) = layer(upper.path(), Compression::Uncompressed, Some(1_000_000_000));
    let (gz, _) = layer(upper.path(), Compression::Gzip, Some(1_000_000_000));
    let (zst, _) = layer(upper.path(), Compression::Zstd, Some(1_000_000_000));
    if let Some(out) = pipe("gzip", &["-dc"], &gz) {
        assert_eq!(out, plain, "gzip -dc gives the tar");
    }
    if let Some(out) = pipe("zstd", &["-dc"], &zst) {
        assert_eq!(out, plain, "zstd -dc gives the tar");
    }
    if let Some(list) = pipe("tar", &["-tf", "-"], &plain) {
        let list = String::from_utf8(list).unwrap();
        let names: Vec<&str> = list.lines().collect();
        assert_eq!(names.len() as u64, w.entries, "{list}");
        assert!(names.contains(&".wh.gone"));
        assert!(names.contains(&"opq/.wh..wh..opq"));
        let long = format!("d/{}", "n".repeat(150));
        assert!(names.contains(&long.as_str()), "GNU tar reads the PAX path");
    }
    // GNU tar extracts it too, PAX xattrs included.
    if has_tool("tar") {
        let x = tempfile::tempdir().unwrap();
        let mut child = Command::new("tar")
            .args(["--xattrs", "--xattrs-include=*", "-xpf", "-", "-C"])
            .arg(x.path())
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&plain).unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(
            getx(&x.path().join("cap"), "security.capability").unwrap(),
            super::roundtrip::CAP
        );
        assert_eq!(
            fs::read_link(x.path().join("long-target"))
                .unwrap()
                .as_os_str()
                .len(),
            300
        );
        assert_eq!(
            fs::metadata(x.path().join("biguid")).unwrap().uid(),
            3_000_000
        );
    }
}

#[test]
fn bzip2_and_xz_layers_apply() {
    if !is_root() {
        return;
    }
    let upper = tempfile::tempdir().unwrap();
    write(&upper.path().join("f"), b"data");
    let (plain, w) = layer(upper.path(), Compression::Uncompressed, None);
    for (tool, args) in [("bzip2", ["-c"]), ("xz", ["-c"]), ("gzip", ["-c"])] {
        let Some(blob) = pipe(tool, &args, &plain) else {
            continue;
        };
        let t = tempfile::tempdir().unwrap();
        let a = apply(&blob, t.path(), ApplyMode::Flat).unwrap();
        assert_eq!(a.diff_id, w.diff_id, "{tool}");
        assert_eq!(fs::read(t.path().join("f")).unwrap(), b"data");
    }
    // Concatenated gzip members (pigz-style) are one stream.
    let (gz1, _) = layer(upper.path(), Compression::Gzip, None);
    let two = [gz1.clone(), gz1].concat();
    let decoded = super::super::decompress(Box::new(&two[..])).unwrap();
    let n = std::io::copy(&mut { decoded }, &mut std::io::sink()).unwrap();
    assert_eq!(n, 2 * plain.len() as u64);
}
