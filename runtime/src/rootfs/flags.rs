//! Mount options to flags: one lookup table, as crun does.

use nix::mount::MsFlags;

use crate::syscall::MountAttr;

/// What a mount's options mean to mount(2).
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    pub flags: MsFlags,
    /// Propagation changes applied after the mount.
    pub propagation: MsFlags,
    /// Options passed on to the filesystem.
    pub data: Vec<String>,
    /// Recursive attributes (`rro`, `rnosuid`, ...): mount_setattr with
    /// AT_RECURSIVE on the mount and every mount below it.
    pub recursive: MountAttr,
    /// `tmpcopyup`: a tmpfs starts with the contents of the directory it hides.
    pub copy_up: bool,
    /// `idmap` (false) or `ridmap` (true, AT_RECURSIVE): an idmapped bind
    /// (rootfs::idmap); the last one given wins.
    pub idmap: Option<bool>,
}

const TABLE: &[(&str, bool, MsFlags)] = &[
    // (name, clear?, flag)
    ("defaults", false, MsFlags::empty()),
    ("ro", false, MsFlags::MS_RDONLY),
    ("rw", true, MsFlags::MS_RDONLY),
    ("suid", true, MsFlags::MS_NOSUID),
    ("nosuid", false, MsFlags::MS_NOSUID),
    ("dev", true, MsFlags::MS_NODEV),
    ("nodev", false, MsFlags::MS_NODEV),
    ("exec", true, MsFlags::MS_NOEXEC),
    ("noexec", false, MsFlags::MS_NOEXEC),
    ("sync", false, MsFlags::MS_SYNCHRONOUS),
    ("async", true, MsFlags::MS_SYNCHRONOUS),
    ("dirsync", false, MsFlags::MS_DIRSYNC),
    ("remount", false, MsFlags::MS_REMOUNT),
    ("mand", false, MsFlags::MS_MANDLOCK),
    ("nomand", true, MsFlags::MS_MANDLOCK),
    ("atime", true, MsFlags::MS_NOATIME),
    ("noatime", false, MsFlags::MS_NOATIME),
    ("diratime", true, MsFlags::MS_NODIRATIME),
    ("nodiratime", false, MsFlags::MS_NODIRATIME),
    ("relatime", false, MsFlags::MS_RELATIME),
    ("norelatime", true, MsFlags::MS_RELATIME),
    ("strictatime", false, MsFlags::MS_STRICTATIME),
    ("nostrictatime", true, MsFlags::MS_STRICTATIME),
    ("nosymfollow", false, MS_NOSYMFOLLOW),
    ("symfollow", true, MS_NOSYMFOLLOW),
    ("bind", false, MsFlags::MS_BIND),
    ("rbind", false, MsFlags::MS_BIND.union(MsFlags::MS_REC)),
];

/// MS_NOSYMFOLLOW (Linux 5.10), which nix does not name.
const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(256);

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const MOUNT_ATTR_NOEXEC: u64 = 0x8;
/// The atime mode: one of RELATIME (0), NOATIME, STRICTATIME.
const MOUNT_ATTR__ATIME: u64 = 0x70;
const MOUNT_ATTR_NOATIME: u64 = 0x10;
const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x20_0000;

/// What a recursive option does to the mount_setattr attributes.
#[derive(Clone, Copy)]
enum Rec {
    Set(u64),
    Clear(u64),
    /// An atime mode replaces the current one.
    Atime(u64),
}

/// runc's recursive options (runtime-spec 1.1 "r" forms).
const RECURSIVE: &[(&str, Rec)] = &[
    ("rro", Rec::Set(MOUNT_ATTR_RDONLY)),
    ("rrw", Rec::Clear(MOUNT_ATTR_RDONLY)),
    ("rnosuid", Rec::Set(MOUNT_ATTR_NOSUID)),
    ("rsuid", Rec::Clear(MOUNT_ATTR_NOSUID)),
    ("rnodev", Rec::Set(MOUNT_ATTR_NODEV)),
    ("rdev", Rec::Clear(MOUNT_ATTR_NODEV)),
    ("rnoexec", Rec::Set(MOUNT_ATTR_NOEXEC)),
    ("rexec", Rec::Clear(MOUNT_ATTR_NOEXEC)),
    ("rnodiratime", Rec::Set(MOUNT_ATTR_NODIRATIME)),
    ("rdiratime", Rec::Clear(MOUNT_ATTR_NODIRATIME)),
    ("rnosymfollow", Rec::Set(MOUNT_ATTR_NOSYMFOLLOW)),
    ("rsymfollow", Rec::Clear(MOUNT_ATTR_NOSYMFOLLOW)),
    ("rnoatime", Rec::Atime(MOUNT_ATTR_NOATIME)),
    ("rstrictatime", Rec::Atime(MOUNT_ATTR_STRICTATIME)),
    ("rrelatime", Rec::Atime(0)),
    ("ratime", Rec::Atime(0)),
    ("rnorelatime", Rec::Atime(0)),
    ("rnostrictatime", Rec::Atime(0)),
];

impl Rec {
    fn apply(self, a: &mut MountAttr) {
        match self {
            Rec::Set(f) => {
                a.attr_set |= f;
                a.attr_clr &= !f;
            }
            Rec::Clear(f) => {
                a.attr_clr |= f;
                a.attr_set &= !f;
            }
            Rec::Atime(mode) => {
                a.attr_clr |= MOUNT_ATTR__ATIME;
                a.attr_set = (a.attr_set & !MOUNT_ATTR__ATIME) | mode;
            }
        }
    }
}

const PROPAGATION: &[(&str, MsFlags)] = &[
    ("private", MsFlags::MS_PRIVATE),
    ("rprivate", MsFlags::MS_PRIVATE.union(MsFlags::MS_REC)),
    ("shared", MsFlags::MS_SHARED),
    ("rshared", MsFlags::MS_SHARED.union(MsFlags::MS_REC)),
    ("slave", MsFlags::MS_SLAVE),
    ("rslave", MsFlags::MS_SLAVE.union(MsFlags::MS_REC)),
    ("unbindable", MsFlags::MS_UNBINDABLE),
    ("runbindable", MsFlags::MS_UNBINDABLE.union(MsFlags::MS_REC)),
];

const TMPCOPYUP: &str = "tmpcopyup";

/// runc 1.2's idmapped-mount options: not filesystem data, they say how
/// MOUNT_ATTR_IDMAP is applied (ridmap: to every mount of the tree).
const IDMAP: &[(&str, bool)] = &[("idmap", false), ("ridmap", true)];

/// Parses a mount's options. An `r` form of a flag that has no recursive
/// attribute (`rsync`, `rfoo` for a known `foo`) is refused by name rather
/// than handed to the filesystem as data.
pub fn parse(options: &[String]) -> Result<Parsed, String> {
    let mut p = Parsed {
        flags: MsFlags::empty(),
        propagation: MsFlags::empty(),
        data: Vec::new(),
        recursive: MountAttr::default(),
        copy_up: false,
        idmap: None,
    };
    for o in options {
        if let Some((_, clear, f)) = TABLE.iter().find(|(n, _, _)| n == o) {
            if *clear {
                p.flags.remove(*f);
            } else {
                p.flags.insert(*f);
            }
        } else if let Some((_, f)) = PROPAGATION.iter().find(|(n, _)| n == o) {
            p.propagation.insert(*f);
        } else if let Some((_, r)) = RECURSIVE.iter().find(|(n, _)| n == o) {
            r.apply(&mut p.recursive);
        } else if let Some((_, rec)) = IDMAP.iter().find(|(n, _)| n == o) {
            p.idmap = Some(*rec);
        } else if o
            .strip_prefix('r')
            .is_some_and(|rest| TABLE.iter().any(|(n, _, _)| *n == rest))
        {
            return Err(format!(
                "unknown recursive mount option {o:?} (no mount attribute for it)"
            ));
        } else if o == TMPCOPYUP {
            p.copy_up = true;
        } else {
            p.data.push(o.clone());
        }
    }
    Ok(p)
}

impl Parsed {
    pub fn has_recursive(&self) -> bool {
        self.recursive != MountAttr::default()
    }
}

/// Propagation name (rootfsPropagation) to flags.
pub fn propagation(name: &str) -> Option<MsFlags> {
    PROPAGATION
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// Every option name this table understands, for `features`.
pub fn known_options() -> Vec<&'static str> {
    let mut v: Vec<&str> = TABLE.iter().map(|(n, _, _)| *n).collect();
    v.extend(PROPAGATION.iter().map(|(n, _)| *n));
    v.extend(RECURSIVE.iter().map(|(n, _)| *n));
    v.extend(IDMAP.iter().map(|(n, _)| *n));
    v.push(TMPCOPYUP);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn flags_propagation_and_data() {
        let p = parse(&s(&[
            "rbind", "ro", "nosuid", "rslave", "mode=755", "size=64k",
        ]))
        .unwrap();
        assert_eq!(
            p.flags,
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID
        );
        assert_eq!(p.propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
        assert_eq!(p.data, s(&["mode=755", "size=64k"]));
        assert!(!parse(&s(&["ro", "rw"]))
            .unwrap()
            .flags
            .contains(MsFlags::MS_RDONLY));
        assert!(!p.has_recursive());
    }

    #[test]
    fn recursive_attributes() {
        let p = parse(&s(&["rbind", "rro", "rnosuid", "rnoexec", "rnoatime"])).unwrap();
        assert_eq!(
            p.recursive.attr_set,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOATIME
        );
        assert_eq!(p.recursive.attr_clr, MOUNT_ATTR__ATIME);
        assert!(p.data.is_empty());
        // A later option wins; an atime mode replaces the previous one.
        let p = parse(&s(&["rro", "rrw", "rstrictatime", "rrelatime"])).unwrap();
        assert_eq!(p.recursive.attr_set, 0);
        assert_eq!(p.recursive.attr_clr, MOUNT_ATTR_RDONLY | MOUNT_ATTR__ATIME);
        let e = parse(&s(&["rbind", "rsync"])).unwrap_err();
        assert!(e.contains("\"rsync\""), "{e}");
        // Filesystem options that merely start with r pass through.
        assert_eq!(parse(&s(&["resvport"])).unwrap().data, s(&["resvport"]));
    }

    #[test]
    fn idmap_options_are_not_filesystem_data() {
        let p = parse(&s(&["rbind", "idmap"])).unwrap();
        assert_eq!(p.idmap, Some(false));
        assert!(p.data.is_empty());
        assert_eq!(parse(&s(&["bind", "ridmap"])).unwrap().idmap, Some(true));
        assert_eq!(parse(&s(&["bind"])).unwrap().idmap, None);
        assert!(known_options().contains(&"ridmap"));
    }
}
