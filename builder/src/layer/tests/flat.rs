//! Flat mode on a pre-populated rootfs: whiteouts delete, opaque markers
//! empty a dir of its lower content only.

use super::hostile::{dir, file, tar_of, whiteout_entry};
use super::*;

fn lower(t: &Path) {
    write(&t.join("etc/passwd"), b"root:x:0:0");
    write(&t.join("etc/keep"), b"keep");
    write(&t.join("dir/old1"), b"1");
    write(&t.join("dir/sub/old2"), b"2");
    write(&t.join("gone-dir/deep/x"), b"x");
}

#[test]
fn whiteouts_and_opaque_from_an_overlay_upper() {
    if !is_root() {
        return;
    }
    let upper = tempfile::tempdir().unwrap();
    let u = upper.path();
    fs::create_dir(u.join("etc")).unwrap();
    mknod(&u.join("etc/passwd"), libc::S_IFCHR, 0, 0, 0);
    fs::create_dir(u.join("dir")).unwrap();
    setx(&u.join("dir"), "trusted.overlay.opaque", b"y");
    write(&u.join("dir/new"), b"n");
    write(&u.join("dir/sub/new2"), b"n2");
    mknod(&u.join("gone-dir"), libc::S_IFCHR, 0, 0, 0);
    let (blob, _) = layer(u, Compression::Zstd, None);

    let target = tempfile::tempdir().unwrap();
    let t = target.path();
    lower(t);
    apply(&blob, t, ApplyMode::Flat).unwrap();
    let names: Vec<String> = tree(t).into_keys().collect();
    assert_eq!(
        names,
        [
            "dir",
            "dir/new",
            "dir/sub",
            "dir/sub/new2",
            "etc",
            "etc/keep"
        ]
    );
    assert!(
        getx(&t.join("dir"), "trusted.overlay.opaque").is_none(),
        "no overlay xattrs in Flat"
    );
}

#[test]
fn opaque_after_the_layers_own_entries_keeps_them() {
    if !is_root() {
        return;
    }
    let target = tempfile::tempdir().unwrap();
    let t = target.path();
    lower(t);
    // dir/sub/ is re-declared (kept, recursed into), dir/sub/old2 is lower.
    let tar = tar_of(&[
        dir(b"dir/"),
        file(b"dir/new", b"n"),
        dir(b"dir/sub/"),
        file(b"dir/sub/mine", b"m"),
        file(b"dir/.wh..wh..opq", b""),
        whiteout_entry(b"etc/.wh.passwd"),
        whiteout_entry(b".wh.not-there"),
    ]);
    apply(&tar, t, ApplyMode::Flat).unwrap();
    let names: Vec<String> = tree(t).into_keys().collect();
    assert_eq!(
        names,
        [
            "dir",
            "dir/new",
            "dir/sub",
            "dir/sub/mine",
            "etc",
            "etc/keep",
            "gone-dir",
            "gone-dir/deep",
            "gone-dir/deep/x"
        ]
    );
}

#[test]
fn overlay_mode_whiteout_replaces_and_opaque_marks() {
    if !is_root() {
        return;
    }
    let target = tempfile::tempdir().unwrap();
    let t = target.path();
    write(&t.join("x/victim/deep"), b"");
    let tar = tar_of(&[
        whiteout_entry(b"x/.wh.victim"),
        file(b"y/.wh..wh..opq", b""),
    ]);
    apply(&tar, t, ApplyMode::Overlay).unwrap();
    let s = seen(&t.join("x/victim"));
    assert_eq!((s.kind, s.rdev), ("char", 0));
    assert_eq!(getx(&t.join("y"), "trusted.overlay.opaque").unwrap(), b"y");
}

#[test]
fn entries_replace_what_is_there() {
    if !is_root() {
        return;
    }
    let target = tempfile::tempdir().unwrap();
    let t = target.path();
    write(&t.join("was-dir/child"), b"");
    write(&t.join("was-file"), b"old");
    fs::create_dir(t.join("kept")).unwrap();
    write(&t.join("kept/child"), b"stays");
    let tar = tar_of(&[
        file(b"was-dir", b"now a file"),
        dir(b"was-file/"),
        dir(b"kept/"),
    ]);
    apply(&tar, t, ApplyMode::Flat).unwrap();
    assert_eq!(fs::read(t.join("was-dir")).unwrap(), b"now a file");
    assert!(fs::symlink_metadata(t.join("was-file")).unwrap().is_dir());
    assert_eq!(fs::read(t.join("kept/child")).unwrap(), b"stays");
    assert_eq!(
        seen(&t.join("kept")).mode,
        0o755,
        "the dir entry's mode applies"
    );
}
