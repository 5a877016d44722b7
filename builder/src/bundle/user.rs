//! Docker's USER forms resolved against the rootfs's /etc/passwd and
//! /etc/group, as dockerd does it (moby/sys/user GetExecUser): the files
//! are read inside the rootfs with pathrs, so a hostile symlink resolves
//! within it and never reaches the host's files.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

use pathrs::error::ErrorKind;
use pathrs::flags::OpenFlags;
use pathrs::Root;

/// The largest uid/gid Docker accepts (it refuses what an int32 cannot hold).
const MAX_ID: u32 = i32::MAX as u32;
/// passwd/group files larger than this are refused rather than read whole.
const MAX_FILE: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoGroup(String),
    #[error("uids and gids must be in range 0-{MAX_ID}: {0}")]
    OutOfRange(String),
    #[error("reading {path} in the rootfs: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// uid, gid and supplementary gids of a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Groups listing the user by name in /etc/group (only when USER names
    /// no group, as Docker does); the primary gid is not repeated here.
    pub additional_gids: Vec<u32>,
    /// The passwd entry's home ("/" when that field is empty); None when the
    /// user has no passwd entry (Docker then uses "/").
    pub home: Option<String>,
}

struct Passwd {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct Group {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolves Docker's USER forms (`name`, `uid`, `name:group`, `uid:gid`, empty
/// = root) against `rootfs`'s /etc/passwd and /etc/group, read inside the
/// rootfs (a symlinked /etc cannot point outside).
pub fn resolve_user(rootfs: &Path, user: &str) -> Result<ResolvedUser, UserError> {
    let root = Root::open(rootfs).map_err(|e| io_err(&rootfs.display().to_string(), e))?;
    let passwd = read_in_root(&root, "/etc/passwd")?;
    let group = read_in_root(&root, "/etc/group")?;
    resolve(&parse_passwd(&passwd), &parse_group(&group), user)
}

fn resolve(passwd: &[Passwd], groups: &[Group], spec: &str) -> Result<ResolvedUser, UserError> {
    let (user_arg, group_arg) = match spec.split_once(':') {
        Some((u, g)) => (u, g),
        None => (spec, ""),
    };
    // "" means uid 0: Docker looks root up by uid, so its gid and home count.
    let entry = passwd.iter().find(|p| match user_arg {
        "" => p.uid == 0,
        u => p.name == u || p.uid.to_string() == u,
    });
    let mut user = match entry {
        Some(p) => ResolvedUser {
            uid: p.uid,
            gid: p.gid,
            additional_gids: Vec::new(),
            home: Some(if p.home.is_empty() {
                "/".into()
            } else {
                p.home.clone()
            }),
        },
        // A numeric uid (or root) needs no entry: gid 0, as runc and Docker do.
        None => ResolvedUser {
            uid: match user_arg {
                "" => 0,
                u => numeric_id(u)?.ok_or_else(|| UserError::NoUser(u.into()))?,
            },
            gid: 0,
            additional_gids: Vec::new(),
            home: None,
        },
    };
    if !group_arg.is_empty() {
        // An explicit group replaces the primary one; Docker adds no
        // supplementary groups in this form.
        user.gid = match groups
            .iter()
            .find(|g| g.name == group_arg || g.gid.to_string() == group_arg)
        {
            Some(g) => g.gid,
            None => numeric_id(group_arg)?.ok_or_else(|| UserError::NoGroup(group_arg.into()))?,
        };
    } else if let Some(name) = entry.map(|p| &p.name) {
        for g in groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
        {
            if !user.additional_gids.contains(&g.gid) {
                user.additional_gids.push(g.gid);
            }
        }
    }
    Ok(user)
}

/// `Some(id)` for a decimal id in Docker's range, `None` for a name.
fn numeric_id(s: &str) -> Result<Option<u32>, UserError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match s.parse::<u32>() {
        Ok(id) if id <= MAX_ID => Ok(Some(id)),
        _ => Err(UserError::OutOfRange(s.into())),
    }
}

/// `path`'s text, resolved inside `root`; a missing file reads as empty (no
/// entries), as Docker treats it.
fn read_in_root(root: &Root, path: &str) -> Result<String, UserError> {
    let handle = match root.resolve(path) {
        Ok(h) => h,
        Err(e) if is_missing(e.kind()) => return Ok(String::new()),
        Err(e) => return Err(io_err(path, e)),
    };
    // Check the O_PATH handle before opening it for reading: opening a FIFO
    // would block and opening a device could have side effects.
    let probe = handle.try_clone().map_err(|e| io_err(path, e))?;
    let meta = File::from(OwnedFd::from(probe))
        .metadata()
        .map_err(|e| io(path, e))?;
    if !meta.is_file() {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file");
        return Err(io(path, e));
    }
    let file = handle
        .reopen(OpenFlags::O_RDONLY)
        .map_err(|e| io_err(path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io(path, e))?;
    if bytes.len() as u64 > MAX_FILE {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidData, "file too large");
        return Err(io(path, e));
    }
    // Lossy: a stray non-UTF-8 byte (a gecos field) must not hide the rest.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn is_missing(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::OsError(Some(libc::ENOENT | libc::ENOTDIR)))
}

fn io_err(path: &str, e: pathrs::error::Error) -> UserError {
    io(path, std::io::Error::other(e))
}

fn io(path: &str, source: std::io::Error) -> UserError {
    UserError::Io {
        path: path.into(),
        source,
    }
}

/// Entries of lines split on ':' with enough fields; blank lines, comments
/// and entries whose ids do not parse are skipped.
fn fields(text: &str, min: usize) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(move |f| f.len() >= min)
}

fn parse_passwd(text: &str) -> Vec<Passwd> {
    fields(text, 4)
        .filter_map(|f| {
            Some(Passwd {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f.get(5).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<Group> {
    fields(text, 3)
        .filter_map(|f| {
            let members = f.get(3).unwrap_or(&"").split(',').map(str::trim);
            Some(Group {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: members
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1000:App,,,:/home/app:/bin/sh
nohome:x:1001:1001::
broken:x:notanumber:1:::
";
    const GROUP: &str = "\
root:x:0:
wheel:x:10:root,app
app:x:1000:
audio:x:29:app
dup:x:29:app
tools:x:3000:
";

    fn rootfs(passwd: Option<&str>, group: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir(dir.path().join("etc")).expect("etc");
        if let Some(p) = passwd {
            fs::write(dir.path().join("etc/passwd"), p).expect("passwd");
        }
        if let Some(g) = group {
            fs::write(dir.path().join("etc/group"), g).expect("group");
        }
        dir
    }

    fn user(uid: u32, gid: u32, sgids: &[u32], home: Option<&str>) -> ResolvedUser {
        ResolvedUser {
            uid,
            gid,
            additional_gids: sgids.to_vec(),
            home: home.map(String::from),
        }
    }

    #[test]
    fn docker_user_forms() {
        let dir = rootfs(Some(PASSWD), Some(GROUP));
        let cases: &[(&str, ResolvedUser)] = &[
            ("", user(0, 0, &[10], Some("/root"))),
            ("root", user(0, 0, &[10], Some("/root"))),
            ("app", user(1000, 1000, &[10, 29], Some("/home/app"))),
            ("1000", user(1000, 1000, &[10, 29], Some("/home/app"))),
            ("app:tools", user(1000, 3000, &[], Some("/home/app"))),
            ("app:3000", user(1000, 3000, &[], Some("/home/app"))),
            ("app:4242", user(1000, 4242, &[], Some("/home/app"))),
            ("1000:audio", user(1000, 29, &[], Some("/home/app"))),
            ("4242", user(4242, 0, &[], None)),
            ("4242:4343", user(4242, 4343, &[], None)),
            ("4242:tools", user(4242, 3000, &[], None)),
            ("nohome", user(1001, 1001, &[], Some("/"))),
            ("app:", user(1000, 1000, &[10, 29], Some("/home/app"))),
        ];
        for (spec, want) in cases {
            let got = resolve_user(dir.path(), spec).unwrap_or_else(|e| panic!("{spec:?}: {e}"));
            assert_eq!(&got, want, "{spec:?}");
        }
    }

    #[test]
    fn unknown_names_and_ranges_are_errors() {
        let dir = rootfs(Some(PASSWD), Some(GROUP));
        let err = resolve_user(dir.path(), "nobody").unwrap_err();
        assert!(
            matches!(&err, UserError::NoUser(n) if n == "nobody"),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "unable to find user nobody: no matching entries in passwd file"
        );
        let err = resolve_user(dir.path(), "app:staff").unwrap_err();
        assert!(
            matches!(&err, UserError::NoGroup(g) if g == "staff"),
            "{err}"
        );
        let err = resolve_user(dir.path(), "2147483648").unwrap_err();
        assert!(matches!(err, UserError::OutOfRange(_)), "{err}");
        let err = resolve_user(dir.path(), "1:99999999999").unwrap_err();
        assert!(matches!(err, UserError::OutOfRange(_)), "{err}");
        assert!(resolve_user(dir.path(), "2147483647").is_ok());
    }

    #[test]
    fn missing_files_mean_no_entries() {
        let dir = rootfs(None, None);
        assert_eq!(resolve_user(dir.path(), "").unwrap(), user(0, 0, &[], None));
        assert_eq!(
            resolve_user(dir.path(), "5:6").unwrap(),
            user(5, 6, &[], None)
        );
        assert!(matches!(
            resolve_user(dir.path(), "app"),
            Err(UserError::NoUser(_))
        ));
        // No /etc at all, or /etc a file: still just no entries.
        let bare = tempfile::tempdir().unwrap();
        assert_eq!(
            resolve_user(bare.path(), "7").unwrap(),
            user(7, 0, &[], None)
        );
        fs::write(bare.path().join("etc"), "").unwrap();
        assert_eq!(
            resolve_user(bare.path(), "7").unwrap(),
            user(7, 0, &[], None)
        );
    }

    #[test]
    fn symlinks_resolve_inside_the_rootfs() {
        // The "host" has an entry the rootfs must never see.
        let host = tempfile::tempdir().unwrap();
        let host_passwd = host.path().join("passwd");
        fs::write(&host_passwd, "hostonly:x:4000:4000::/host:/bin/sh\n").unwrap();

        let dir = rootfs(None, Some(GROUP));
        let etc = dir.path().join("etc");
        // An absolute symlink to the host's file resolves as a path in the rootfs.
        std::os::unix::fs::symlink(&host_passwd, etc.join("passwd")).unwrap();
        let err = resolve_user(dir.path(), "hostonly").unwrap_err();
        assert!(matches!(err, UserError::NoUser(_)), "{err}");

        // Once that path exists inside the rootfs, it is what is read.
        let inside = dir.path().join(host_passwd.strip_prefix("/").unwrap());
        fs::create_dir_all(inside.parent().unwrap()).unwrap();
        fs::write(&inside, "inside:x:4100:4100::/in:/bin/sh\n").unwrap();
        assert_eq!(resolve_user(dir.path(), "inside").unwrap().uid, 4100);
        assert!(resolve_user(dir.path(), "hostonly").is_err());

        // ../ escapes are clamped at the rootfs's root too.
        let dotdot = tempfile::tempdir().unwrap();
        fs::create_dir(dotdot.path().join("etc")).unwrap();
        let up = "../".repeat(32) + host_passwd.strip_prefix("/").unwrap().to_str().unwrap();
        std::os::unix::fs::symlink(up, dotdot.path().join("etc/passwd")).unwrap();
        assert!(matches!(
            resolve_user(dotdot.path(), "hostonly"),
            Err(UserError::NoUser(_))
        ));
    }

    #[test]
    fn non_regular_files_are_refused_not_opened() {
        let dir = rootfs(None, None);
        nix::unistd::mkfifo(
            &dir.path().join("etc/passwd"),
            nix::sys::stat::Mode::S_IRWXU,
        )
        .unwrap();
        // Opening a FIFO for reading would block forever.
        let err = resolve_user(dir.path(), "root").unwrap_err();
        assert!(matches!(err, UserError::Io { .. }), "{err}");
    }
}
