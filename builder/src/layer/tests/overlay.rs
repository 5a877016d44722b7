//! End to end with the kernel's overlayfs: changes made in a real merged
//! mount -> write_layer(upper) -> apply (Flat onto the lower / Overlay as a
//! new lower dir) -> the same view as the merged mount had.

use std::collections::BTreeMap;
use std::path::PathBuf;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::*;

/// An overlay mount, detached on drop (also when a test fails).
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = umount2(&self.0, MntFlags::MNT_DETACH);
    }
}

fn overlay(lowers: &[&Path], upper: &Path, work: &Path, merged: &Path) -> Option<Mounted> {
    let lower: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        upper.display(),
        work.display()
    );
    match mount(
        Some("overlay"),
        merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(opts.as_str()),
    ) {
        Ok(()) => Some(Mounted(merged.to_path_buf())),
        Err(e) => {
            eprintln!("skipping: cannot mount overlayfs here: {e}");
            None
        }
    }
}

fn lower(p: &Path) {
    write(&p.join("a"), b"a");
    write(&p.join("d/x"), b"x");
    write(&p.join("d/y"), b"y");
    write(&p.join("keep"), b"kept");
    write(&p.join("dir2/z"), b"z");
    write(&p.join("dir2/stay"), b"s");
}

/// What a reader of the tree sees: kinds and contents.
fn view(root: &Path) -> BTreeMap<String, (&'static str, Option<Vec<u8>>)> {
    tree(root)
        .into_iter()
        .map(|(k, s)| (k, (s.kind, s.data)))
        .collect()
}

fn dirs(base: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| {
            let p = base.join(n);
            fs::create_dir(&p).unwrap();
            p
        })
        .collect()
}

#[test]
fn kernel_overlay_changes_round_trip() {
    if !is_root() {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let d = dirs(base.path(), &["lower", "upper", "work", "merged"]);
    lower(&d[0]);
    let expected = {
        let Some(_m) = overlay(&[&d[0]], &d[1], &d[2], &d[3]) else {
            return;
        };
        let m = &d[3];
        fs::remove_file(m.join("a")).unwrap();
        fs::remove_dir_all(m.join("d")).unwrap();
        write(&m.join("d/new"), b"new"); // d becomes opaque
        write(&m.join("keep"), b"changed");
        fs::remove_file(m.join("dir2/z")).unwrap();
        write(&m.join("newfile"), b"nf");
        view(m)
    };
    // The kernel wrote whiteouts (maybe sharing one inode) and an opaque dir.
    assert_eq!(seen(&d[1].join("a")).kind, "char");
    let (blob, w) = layer(&d[1], Compression::Gzip, Some(1_700_000_000));
    assert!(w.entries >= 6);

    // Flat onto a copy of the lower.
    let flat = tempfile::tempdir().unwrap();
    lower(flat.path());
    apply(&blob, flat.path(), ApplyMode::Flat).unwrap();
    assert_eq!(view(flat.path()), expected);

    // Overlay: the layer as a new lower dir over the old lower.
    let d2 = dirs(base.path(), &["layer", "upper2", "work2", "merged2"]);
    apply(&blob, &d2[0], ApplyMode::Overlay).unwrap();
    let Some(_m) = overlay(&[&d2[0], &d[0]], &d2[1], &d2[2], &d2[3]) else {
        return;
    };
    assert_eq!(view(&d2[3]), expected);
}
