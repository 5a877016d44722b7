//! Hand-crafted hostile tars: nothing may land outside the target (a
//! canary dir beside it must stay as it was), and refusals name the entry.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::*;

/// One raw tar entry: the name goes into the header verbatim (no
/// validation: that is the point), mode 0644 (dirs 0755), mtime 1.
pub(super) fn raw(name: &[u8], kind: u8, link: &[u8], data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    {
        let u = h.as_ustar_mut().unwrap();
        u.name[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
        u.linkname[..link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
    }
    h.set_mode(if kind == b'5' { 0o755 } else { 0o644 });
    h.set_size(data.len() as u64);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_mtime(1);
    h.set_cksum();
    let mut v = h.as_bytes().to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

pub(super) fn file(name: &[u8], data: &[u8]) -> Vec<u8> {
    raw(name, b'0', b"", data)
}
pub(super) fn dir(name: &[u8]) -> Vec<u8> {
    raw(name, b'5', b"", b"")
}
pub(super) fn symlink(name: &[u8], to: &[u8]) -> Vec<u8> {
    raw(name, b'2', to, b"")
}
pub(super) fn hardlink(name: &[u8], to: &[u8]) -> Vec<u8> {
    raw(name, b'1', to, b"")
}
pub(super) fn whiteout_entry(name: &[u8]) -> Vec<u8> {
    raw(name, b'0', b"", b"")
}
/// A PAX `x` header with one record.
pub(super) fn pax(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3;
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    let rec = [format!("{len} {key}=").as_bytes(), value, b"\n"].concat();
    raw(b"PaxHeaders/x", b'x', b"", &rec)
}
pub(super) fn tar_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut v = entries.concat();
    v.extend_from_slice(&[0u8; 1024]);
    v
}

struct Arena {
    _dir: tempfile::TempDir,
    parent: PathBuf,
    target: PathBuf,
    canary: PathBuf,
}

fn arena() -> Arena {
    let d = tempfile::tempdir().unwrap();
    let parent = d.path().to_path_buf();
    let (target, canary) = (parent.join("target"), parent.join("canary"));
    fs::create_dir(&target).unwrap();
    write(&canary.join("secret"), b"secret");
    Arena {
        _dir: d,
        parent,
        target,
        canary,
    }
}

impl Arena {
    fn untouched(&self) {
        let names = |p: &Path| {
            let mut v: Vec<String> = fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            names(&self.parent),
            ["canary", "target"],
            "nothing new beside the target"
        );
        assert_eq!(names(&self.canary), ["secret"], "nothing new in the canary");
        assert_eq!(fs::read(self.canary.join("secret")).unwrap(), b"secret");
    }
}

/// Applies `tar` in both modes, each in a fresh arena; checks the canary.
fn each_mode(tar: &[u8], check: impl Fn(&Path, Result<Applied, LayerError>)) {
    for mode in [ApplyMode::Flat, ApplyMode::Overlay] {
        let a = arena();
        let r = apply(tar, &a.target, mode);
        a.untouched();
        check(&a.target, r);
    }
}

fn refused(tar: &[u8], entry: &str) {
    each_mode(tar, |_, r| {
        let e = r.expect_err("must be refused").to_string();
        assert!(e.contains(&format!("{entry:?}")), "{e} names {entry:?}");
    });
}

fn host_absent(p: &str) {
    assert!(
        fs::symlink_metadata(p).is_err(),
        "{p} must not exist on the host"
    );
}

#[test]
fn dotdot_escapes_are_refused() {
    if !is_root() {
        return;
    }
    refused(&tar_of(&[file(b"../x", b"pwn")]), "../x");
    refused(&tar_of(&[file(b"a/../../x", b"pwn")]), "a/../../x");
    refused(
        &tar_of(&[file(b"../canary/secret", b"pwn")]),
        "../canary/secret",
    );
    refused(
        &tar_of(&[symlink(b"ok", b"x"), hardlink(b"h", b"../canary/secret")]),
        "h",
    );
    each_mode(&tar_of(&[file(b"a/../inside", b"ok")]), |t, r| {
        r.unwrap();
        assert_eq!(fs::read(t.join("inside")).unwrap(), b"ok");
    });
    let e = apply(
        &tar_of(&[file(b"../x", b"")]),
        &arena().target,
        ApplyMode::Flat,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "layer entry \"../x\": path escapes the layer root"
    );
}

#[test]
fn absolute_paths_stay_inside() {
    if !is_root() {
        return;
    }
    each_mode(
        &tar_of(&[file(b"/etc/berth-layer-evil-1", b"x")]),
        |t, r| {
            r.unwrap();
            assert_eq!(fs::read(t.join("etc/berth-layer-evil-1")).unwrap(), b"x");
        },
    );
    host_absent("/etc/berth-layer-evil-1");
}

#[test]
fn symlinks_resolve_inside_the_root() {
    if !is_root() {
        return;
    }
    each_mode(
        &tar_of(&[symlink(b"a", b"/"), file(b"a/etc/berth-layer-evil-2", b"x")]),
        |t, r| {
            r.unwrap();
            assert_eq!(fs::read(t.join("etc/berth-layer-evil-2")).unwrap(), b"x");
            assert_eq!(fs::read_link(t.join("a")).unwrap(), Path::new("/"));
        },
    );
    host_absent("/etc/berth-layer-evil-2");
    each_mode(
        &tar_of(&[symlink(b"a", b"../../.."), file(b"a/x", b"x")]),
        |t, r| {
            r.unwrap();
            assert_eq!(fs::read(t.join("x")).unwrap(), b"x");
        },
    );
    // Pointing at the canary by its real relative path: resolves to
    // target/canary (absent: refused or made inside, never the canary).
    each_mode(
        &tar_of(&[symlink(b"a", b"../canary"), file(b"a/pwn", b"x")]),
        |t, r| {
            if r.is_ok() {
                assert!(t.join("canary/pwn").exists());
            }
        },
    );
    // A dir, then a symlink over it, then a write through it.
    each_mode(
        &tar_of(&[
            dir(b"d/"),
            symlink(b"d", b"../canary"),
            file(b"d/pwn", b"x"),
        ]),
        |t, _| {
            assert!(fs::symlink_metadata(t.join("d"))
                .unwrap()
                .file_type()
                .is_symlink());
        },
    );
}

#[test]
fn a_file_replaces_a_symlink_never_writes_through_it() {
    if !is_root() {
        return;
    }
    let canary_secret = b"../canary/secret";
    each_mode(
        &tar_of(&[symlink(b"f", canary_secret), file(b"f", b"pwned")]),
        |t, r| {
            r.unwrap();
            assert_eq!(fs::read(t.join("f")).unwrap(), b"pwned");
            assert!(fs::symlink_metadata(t.join("f")).unwrap().is_file());
        },
    );
    // Same with an absolute symlink to a host file, and a dir entry.
    each_mode(
        &tar_of(&[symlink(b"p", b"/etc/passwd"), dir(b"p/")]),
        |t, r| {
            r.unwrap();
            assert!(fs::symlink_metadata(t.join("p")).unwrap().is_dir());
        },
    );
}

#[test]
fn hardlinks_stay_inside_and_need_an_earlier_entry() {
    if !is_root() {
        return;
    }
    let host = fs::metadata("/etc/passwd").unwrap();
    let no_host_link = |t: &Path| {
        for (rel, _) in tree(t) {
            let md = fs::symlink_metadata(t.join(&rel)).unwrap();
            assert!(
                !(md.dev() == host.dev() && md.ino() == host.ino()),
                "{rel} is the host's /etc/passwd"
            );
        }
    };
    each_mode(&tar_of(&[hardlink(b"h", b"/etc/passwd")]), |t, r| {
        let e = r.unwrap_err().to_string();
        assert!(e.contains("\"h\"") && e.contains("/etc/passwd"), "{e}");
        no_host_link(t);
    });
    refused(&tar_of(&[hardlink(b"h", b"../outside")]), "h");
    refused(
        &tar_of(&[hardlink(b"h", b"not-yet"), file(b"not-yet", b"")]),
        "h",
    );
    // Through a symlinked dir: resolved in the root, so the host's /etc
    // is never reached.
    each_mode(
        &tar_of(&[symlink(b"s", b"/etc"), hardlink(b"x", b"s/passwd")]),
        |t, r| {
            assert!(r.is_err());
            no_host_link(t);
        },
    );
    each_mode(
        &tar_of(&[symlink(b"s", b"../canary"), hardlink(b"y", b"s/secret")]),
        |_, r| {
            assert!(r.is_err());
        },
    );
    // A hardlink to a symlink links the symlink itself.
    each_mode(
        &tar_of(&[symlink(b"l", b"/etc/passwd"), hardlink(b"h", b"l")]),
        |t, r| {
            r.unwrap();
            assert_eq!(
                fs::read_link(t.join("h")).unwrap(),
                Path::new("/etc/passwd")
            );
            no_host_link(t);
        },
    );
    // Through a symlinked dir to a file that is inside: linked in the root.
    each_mode(
        &tar_of(&[
            file(b"etc/passwd", b"in"),
            symlink(b"s", b"/etc"),
            hardlink(b"x", b"s/passwd"),
        ]),
        |t, r| {
            r.unwrap();
            let ino = |p: &str| fs::symlink_metadata(t.join(p)).unwrap().ino();
            assert_eq!(ino("x"), ino("etc/passwd"));
            no_host_link(t);
        },
    );
    // A legitimate one.
    each_mode(
        &tar_of(&[
            file(b"etc/passwd", b"root"),
            hardlink(b"bin/pw", b"/etc/passwd"),
        ]),
        |t, r| {
            r.unwrap();
            let ino = |p: &str| fs::symlink_metadata(t.join(p)).unwrap().ino();
            assert_eq!(ino("etc/passwd"), ino("bin/pw"));
        },
    );
}

#[test]
fn whiteouts_cannot_reach_outside() {
    if !is_root() {
        return;
    }
    // ".wh.." would name the parent; through a symlink to the canary it
    // resolves in the root.
    refused(&tar_of(&[whiteout_entry(b"a/.wh..")]), "a/.wh..");
    refused(&tar_of(&[whiteout_entry(b"a/.wh...")]), "a/.wh...");
    refused(
        &tar_of(&[whiteout_entry(b"../.wh.canary")]),
        "../.wh.canary",
    );
    each_mode(
        &tar_of(&[symlink(b"a", b"../canary"), whiteout_entry(b"a/.wh.secret")]),
        |_, _| {},
    );
    each_mode(
        &tar_of(&[symlink(b"a", b"../canary"), file(b"a/.wh..wh..opq", b"")]),
        |_, _| {},
    );
    each_mode(
        &tar_of(&[symlink(b"a", b"/"), file(b"a/.wh..wh..opq", b"")]),
        |_, _| {},
    );
}

#[test]
fn limits_are_enforced_and_named() {
    if !is_root() {
        return;
    }
    let a = arena();
    let many: Vec<Vec<u8>> = (0..5)
        .map(|i| file(format!("f{i}").as_bytes(), b""))
        .collect();
    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let e = apply_layer(&mut &tar_of(&many)[..], &a.target, ApplyMode::Flat, &limits)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "layer entry \"f3\": exceeds the limit on entries (3)");

    let long = "x".repeat(200);
    let tar = tar_of(&[pax("path", long.as_bytes()), file(b"short", b"")]);
    let limits = Limits {
        max_path_len: 100,
        ..Limits::default()
    };
    let e = apply_layer(&mut &tar[..], &a.target, ApplyMode::Flat, &limits)
        .unwrap_err()
        .to_string();
    assert!(e.contains("path length (100)") && e.contains(&long), "{e}");

    let tar = tar_of(&[file(b"big", &[7u8; 5000])]);
    let limits = Limits {
        max_bytes: 4096,
        ..Limits::default()
    };
    let e = apply_layer(&mut &tar[..], &a.target, ApplyMode::Flat, &limits)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("\"big\"") && e.contains("uncompressed bytes"),
        "{e}"
    );
    a.untouched();
}

#[test]
fn malformed_streams_are_errors_not_panics() {
    if !is_root() {
        return;
    }
    let good = tar_of(&[file(b"f", b"0123456789")]);
    let mut cases: Vec<Vec<u8>> = vec![
        b"not a tar at all".to_vec(),
        good[..600].to_vec(),         // truncated content
        good[..300].to_vec(),         // truncated header
        vec![0x1f, 0x8b, 1, 2, 3],    // broken gzip
        vec![0x28, 0xb5, 0x2f, 0xfd], // broken zstd
    ];
    let mut bad_sum = good.clone();
    bad_sum[0] = b'g';
    cases.push(bad_sum);
    // A PAX header claiming 1 TiB: refused before any allocation.
    let mut huge = raw(b"PaxHeaders/x", b'x', b"", b"");
    let mut h = tar::Header::from_byte_slice(&huge[..512]).clone();
    h.set_size(1 << 40);
    h.set_cksum();
    huge[..512].copy_from_slice(h.as_bytes());
    cases.push(huge);
    cases.push(tar_of(&[raw(b"vol", b'V', b"", b"")]));
    cases.push(tar_of(&[pax("mtime", b"soon"), file(b"f", b"")]));
    for (i, c) in cases.iter().enumerate() {
        let a = arena();
        assert!(apply(c, &a.target, ApplyMode::Flat).is_err(), "case {i}");
        a.untouched();
    }
    // The diff_id covers the whole stream, trailing padding included.
    let mut padded = good.clone();
    padded.extend_from_slice(&[0u8; 8192]);
    let a = arena();
    let r = apply(&padded, &a.target, ApplyMode::Flat).unwrap();
    assert_eq!(r.diff_id, crate::digest::Digest::of(&padded));
    assert_eq!(r.bytes, padded.len() as u64);
}

/// GNU `L`/`K` long names (the tar crate's GNU builder writes them).
fn gnu_long(entries: &[(&str, tar::EntryType, Option<&str>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_mode(0o644);
        h.set_size(0);
        match link {
            Some(l) => b.append_link(&mut h, name, l).unwrap(),
            None => b.append_data(&mut h, name, &b""[..]).unwrap(),
        }
    }
    b.into_inner().unwrap()
}

#[test]
fn gnu_long_names_are_read_and_checked() {
    if !is_root() {
        return;
    }
    let long = format!("{}/{}", "d".repeat(120), "f".repeat(120));
    let target_long = format!("{}/t", "x".repeat(150));
    let tar = gnu_long(&[
        (&long, tar::EntryType::Regular, None),
        ("sym", tar::EntryType::Symlink, Some(&target_long)),
    ]);
    each_mode(&tar, |t, r| {
        r.unwrap();
        assert!(t.join(&long).is_file());
        assert_eq!(
            fs::read_link(t.join("sym")).unwrap(),
            Path::new(&target_long)
        );
    });
    // The tar crate refuses to write `..`, so patch a GNU long name by hand.
    let mut evil = gnu_long(&[(
        &format!("{}/x", "a".repeat(120)),
        tar::EntryType::Regular,
        None,
    )]);
    let at = evil.windows(3).position(|w| w == b"aaa").unwrap();
    evil[at..at + 6].copy_from_slice(b"../../");
    refused(&evil, &format!("../../{}/x", "a".repeat(114)));
}
