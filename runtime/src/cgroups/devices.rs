//! v1 device rules written here when they are all a config sets.
//!
//! runc's default config (most containers) has no resources but device
//! rules. libcgroups would write them too, after building its v1 manager,
//! which reads mountinfo and /proc/self/cgroup once per controller: 22 reads
//! through pathrs' checked procfs, ~550 syscalls, ~1 ms of CPU per create.
//! The rules and their order are libcgroups' (v1 devices controller): the
//! config's, then runc's default device nodes, then its default allow list.

use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use crate::{Error, Result};

/// libcgroups' default_devices (null, zero, full, tty, urandom, random, each
/// `rwm`) and default_allow_devices (mknod of any char or block device, the
/// console, ptys, ptmx, tun), in its order.
pub(super) const DEFAULT_ALLOW: [&str; 12] = [
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 5:0 rwm",
    "c 1:9 rwm",
    "c 1:8 rwm",
    "c *:* m",
    "b *:* m",
    "c 5:1 rwm",
    "c 136:* rwm",
    "c 5:2 rwm",
    "c 10:200 rwm",
];

/// The container's directory in the v1 devices hierarchy, when `res` holds
/// nothing but device rules and the host has that hierarchy; None sends the
/// caller to libcgroups.
pub(super) fn only_rules_dir(path: &Path, res: &LinuxResources) -> Option<PathBuf> {
    let only_devices = res.memory().is_none()
        && res.cpu().is_none()
        && res.pids().is_none()
        && res.block_io().is_none()
        && res.hugepage_limits().as_ref().is_none_or(|h| h.is_empty())
        && res.network().is_none()
        && res.rdma().as_ref().is_none_or(|r| r.is_empty())
        && res.unified().as_ref().is_none_or(|u| u.is_empty());
    if !only_devices {
        return None;
    }
    hierarchy_dir(crate::mountinfo::runtime_ns()?, "devices", path)
}

/// `path` in the v1 hierarchy whose super options name `controller`.
pub(super) fn hierarchy_dir(info: &str, controller: &str, path: &Path) -> Option<PathBuf> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    info.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let mut post = post.split(' ');
        let (fstype, opts) = (post.next()?, post.nth(1)?);
        let mountpoint = pre.split(' ').nth(4)?;
        (fstype == "cgroup" && opts.split(',').any(|o| o == controller))
            .then(|| Path::new(mountpoint).join(rel))
    })
}

/// Writes the rules to `dir`'s devices.allow and devices.deny, one rule a
/// write as the kernel takes them, each file opened once.
pub(super) fn write_rules(dir: &Path, res: &LinuxResources) -> Result<()> {
    let config = res
        .devices()
        .iter()
        .flatten()
        .map(|d| (d.allow(), d.to_string()));
    let defaults = DEFAULT_ALLOW.iter().map(|r| (true, (*r).to_string()));
    let (mut allow_file, mut deny_file) = (None, None);
    for (allow, rule) in config.chain(defaults) {
        let (name, slot) = if allow {
            ("devices.allow", &mut allow_file)
        } else {
            ("devices.deny", &mut deny_file)
        };
        let file = dir.join(name);
        let fail = |e: std::io::Error| {
            Error::field(
                "linux.resources.devices",
                format!("{}: writing {rule:?}: {e}", file.display()),
            )
        };
        let f = match slot {
            Some(f) => f,
            None => slot.insert(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&file)
                    .map_err(fail)?,
            ),
        };
        f.write_all(rule.as_bytes()).map_err(fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use libcgroups::common::{create_cgroup_manager, CgroupConfig, CgroupManager, ControllerOpt};

    #[test]
    fn the_devices_hierarchy_is_found_by_its_super_options() {
        let info = "\
26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/devices rw,nosuid - cgroup cgroup rw,devices
31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio";
        assert_eq!(
            hierarchy_dir(info, "devices", Path::new("/berth/x")),
            Some(PathBuf::from("/sys/fs/cgroup/devices/berth/x"))
        );
        assert_eq!(
            hierarchy_dir(info, "net_prio", Path::new("/y")),
            Some(PathBuf::from("/sys/fs/cgroup/net_cls,net_prio/y"))
        );
        assert_eq!(hierarchy_dir(info, "memory", Path::new("/y")), None);
        let v2 = "25 24 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate";
        assert_eq!(hierarchy_dir(v2, "devices", Path::new("/y")), None);
    }

    #[test]
    fn any_other_resource_goes_to_libcgroups() {
        let res = |v: serde_json::Value| -> LinuxResources { serde_json::from_value(v).unwrap() };
        let devices = serde_json::json!([{"allow": false, "access": "rwm"}]);
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        if hierarchy_dir(&info, "devices", Path::new("/")).is_some() {
            let alone = res(serde_json::json!({ "devices": devices }));
            assert!(only_rules_dir(Path::new("/x"), &alone).is_some());
        }
        for other in [
            serde_json::json!({"memory": {"limit": 1048576}}),
            serde_json::json!({"pids": {"limit": 10}}),
            serde_json::json!({"cpu": {"shares": 512}}),
            serde_json::json!({"blockIO": {"weight": 100}}),
            serde_json::json!({"network": {"classID": 1}}),
            serde_json::json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}),
        ] {
            let mut v = other.clone();
            v["devices"] = devices.clone();
            assert_eq!(only_rules_dir(Path::new("/x"), &res(v)), None, "{other}");
        }
    }

    /// Removes the test's cgroups, also when an assertion failed.
    struct Dirs(Vec<PathBuf>);
    impl Drop for Dirs {
        fn drop(&mut self) {
            for d in &self.0 {
                let _ = std::fs::remove_dir(d);
            }
        }
    }

    /// On this host's real devices hierarchy: the rules written here leave the
    /// kernel with the same allow list as libcgroups' v1 manager does.
    #[test]
    fn rules_match_libcgroups_on_the_real_kernel() {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        if hierarchy_dir(&info, "devices", Path::new("/")).is_none()
            || !nix::unistd::geteuid().is_root()
        {
            eprintln!("skipped: needs root and a v1 devices hierarchy");
            return;
        }
        let spec: oci_spec::runtime::Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "linux": {
                "resources": {"devices": [
                    {"allow": false, "access": "rwm"},
                    {"allow": true, "type": "c", "major": 4, "minor": 1, "access": "rw"},
                    {"allow": false, "type": "c", "major": 5, "minor": 1, "access": "w"}
                ]},
                "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]
            }
        }))
        .unwrap();
        let id = std::process::id();
        let (ours, theirs) = (
            PathBuf::from(format!("/berth-devtest-{id}-ours")),
            PathBuf::from(format!("/berth-devtest-{id}-theirs")),
        );
        let dir = |p: &Path| hierarchy_dir(&info, "devices", p).unwrap();
        let made = Dirs(vec![dir(&ours), dir(&theirs)]);
        for d in &made.0 {
            std::fs::create_dir(d).unwrap();
        }

        super::super::apply(&ours, &spec).unwrap();
        let res = super::super::resources_with_devices(&spec).unwrap();
        let m = create_cgroup_manager(CgroupConfig {
            cgroup_path: theirs.clone(),
            systemd_cgroup: false,
            container_name: String::new(),
        })
        .unwrap();
        m.apply(&ControllerOpt {
            resources: &res,
            disable_oom_killer: false,
            oom_score_adj: None,
            freezer_state: None,
        })
        .unwrap();

        let list = |d: &Path| std::fs::read_to_string(d.join("devices.list")).unwrap();
        let (a, b) = (list(&made.0[0]), list(&made.0[1]));
        assert_eq!(a, b);
        assert!(a.contains("c 10:229 rwm") && a.contains("c 4:1 rw"), "{a}");
        assert!(!a.contains("a *:* rwm"), "{a}");
    }
}
