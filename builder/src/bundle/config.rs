//! config.json for a [`RunSpec`]: what dockerd / BuildKit give a container or
//! build step (moby oci/defaults.go, runc's `runc spec`), in a form our
//! runtime, runc and crun all accept.

use serde_json::{json, Map, Value};

use super::{Network, RunSpec};
use crate::seccomp;

/// 1.1.0, not Docker's 1.2.0: crun before 1.9 (Debian 12's 1.8.1) refuses
/// any 1.2 config, and nothing here needs more than runtime-spec 1.1.
const OCI_VERSION: &str = "1.1.0";
/// Docker's default open-files limit (dockerd runs with LimitNOFILE=infinity,
/// which containers inherit as 1048576).
const NOFILE: u64 = 1_048_576;
/// CAP_SYS_RESOURCE's bit: what raising a hard rlimit takes.
const CAP_SYS_RESOURCE: u32 = 24;

/// Docker's masked paths (a file under /dev/null, a directory under an empty
/// read-only tmpfs).
pub const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Docker's read-only paths.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The device cgroup rules after deny-all: runc's AllowedDevices (mknod of
/// anything; null, random, full, tty, zero, urandom, ptys and ptmx). runc
/// adds them anyway; writing them keeps other runtimes equivalent.
const ALLOWED_DEVICES: &[(&str, Option<i64>, Option<i64>, &str)] = &[
    ("c", None, None, "m"),
    ("b", None, None, "m"),
    ("c", Some(1), Some(3), "rwm"),
    ("c", Some(1), Some(8), "rwm"),
    ("c", Some(1), Some(7), "rwm"),
    ("c", Some(5), Some(0), "rwm"),
    ("c", Some(1), Some(5), "rwm"),
    ("c", Some(1), Some(9), "rwm"),
    ("c", Some(136), None, "rwm"),
    ("c", Some(5), Some(2), "rwm"),
];

/// config.json for `spec`.
pub fn runtime_config(spec: &RunSpec) -> Value {
    let mut config = json!({
        "ociVersion": OCI_VERSION,
        "process": process(spec),
        "root": {
            "path": spec.rootfs.to_string_lossy(),
            "readonly": spec.readonly_rootfs,
        },
        "mounts": mounts(spec),
        "linux": linux(spec),
    });
    // An empty hostname is left to the runtime (the UTS namespace keeps the
    // host's name); the caller normally sets one.
    if !spec.hostname.is_empty() {
        config["hostname"] = json!(spec.hostname);
    }
    if !spec.annotations.is_empty() {
        let map: Map<String, Value> = spec
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        config["annotations"] = Value::Object(map);
    }
    config
}

fn process(spec: &RunSpec) -> Value {
    let caps = &spec.caps;
    json!({
        "terminal": spec.terminal,
        "user": {
            "uid": spec.uid,
            "gid": spec.gid,
            "additionalGids": additional_gids(spec),
        },
        "args": spec.args,
        "env": spec.env,
        "cwd": spec.cwd,
        // Inheritable and ambient stay empty (CVE-2022-24769): a non-root
        // process keeps no capabilities across exec.
        "capabilities": {
            "bounding": caps,
            "effective": caps,
            "permitted": caps,
            "inheritable": [],
            "ambient": [],
        },
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": nofile(), "soft": nofile()}],
        "noNewPrivileges": false,
    })
}

/// Docker's RLIMIT_NOFILE, or this process's hard limit when that is lower
/// and cannot be raised (no CAP_SYS_RESOURCE: rootless, or a restricted
/// sandbox), as rootless podman does: the runtime, with this process's
/// privileges, would otherwise fail to set it.
pub(super) fn nofile() -> u64 {
    use nix::sys::resource::{getrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((_, hard)) if hard < NOFILE && !has_effective_cap(CAP_SYS_RESOURCE) => hard,
        _ => NOFILE,
    }
}

/// Whether this process has capability `bit` in its effective set (from
/// /proc/self/status; unreadable counts as no).
fn has_effective_cap(bit: u32) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let eff = status.lines().find_map(|l| l.strip_prefix("CapEff:"));
    let mask = eff.and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok());
    mask.is_some_and(|m| m & (1 << bit) != 0)
}

/// The primary gid first, then the supplementary ones, without repeats: as
/// dockerd and containerd write it since CVE-2023-25173, so a process cannot
/// shed its primary group with setgroups.
fn additional_gids(spec: &RunSpec) -> Vec<u32> {
    let mut gids = vec![spec.gid];
    for g in &spec.additional_gids {
        if !gids.contains(g) {
            gids.push(*g);
        }
    }
    gids
}

fn mount(destination: &str, kind: &str, source: &str, options: &[&str]) -> Value {
    json!({"destination": destination, "type": kind, "source": source, "options": options})
}

fn mounts(spec: &RunSpec) -> Vec<Value> {
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc"}),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        ),
    ];
    // Build-step tmpfs mounts: no noexec (a step may run what it puts there).
    for dir in &spec.tmpfs {
        mounts.push(mount(
            dir,
            "tmpfs",
            "tmpfs",
            &["nosuid", "nodev", "mode=1777"],
        ));
    }
    for b in &spec.binds {
        // Docker's bind options; rprivate so mounts made under the source on
        // the host do not propagate into the step (nor back).
        let rw = if b.readonly { "ro" } else { "rw" };
        let source = b.source.to_string_lossy();
        mounts.push(mount(
            &b.destination,
            "bind",
            &source,
            &["rbind", "rprivate", rw],
        ));
    }
    mounts
}

fn linux(spec: &RunSpec) -> Value {
    let devices: Vec<Value> = std::iter::once(json!({"allow": false, "access": "rwm"}))
        .chain(ALLOWED_DEVICES.iter().map(device_rule))
        .collect();
    let mut linux = json!({
        "namespaces": namespaces(&spec.network),
        "maskedPaths": MASKED_PATHS,
        "readonlyPaths": READONLY_PATHS,
        "resources": {"devices": devices},
    });
    if spec.network != Network::Host {
        // dockerd sets these in a container's own network namespace: ports
        // below 1024 and ICMP echo sockets without capabilities.
        linux["sysctl"] = json!({
            "net.ipv4.ip_unprivileged_port_start": "0",
            "net.ipv4.ping_group_range": "0 2147483647",
        });
    }
    if spec.seccomp {
        linux["seccomp"] = seccomp::default_profile(&spec.caps);
    }
    linux
}

fn device_rule(&(kind, major, minor, access): &(&str, Option<i64>, Option<i64>, &str)) -> Value {
    let mut rule = json!({"allow": true, "type": kind, "access": access});
    // An absent major or minor is the wildcard.
    if let Some(m) = major {
        rule["major"] = json!(m);
    }
    if let Some(m) = minor {
        rule["minor"] = json!(m);
    }
    rule
}

fn namespaces(network: &Network) -> Vec<Value> {
    let mut ns: Vec<Value> = ["pid", "ipc", "uts", "mount"]
        .iter()
        .map(|t| json!({"type": t}))
        .collect();
    match network {
        Network::None => ns.push(json!({"type": "network"})),
        Network::Host => {}
        Network::Path(p) => ns.push(json!({"type": "network", "path": p.to_string_lossy()})),
    }
    ns.push(json!({"type": "cgroup"}));
    ns
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Bind;
    use std::path::PathBuf;

    fn spec() -> RunSpec {
        RunSpec {
            args: vec!["sh".into()],
            env: vec!["PATH=/bin".into()],
            cwd: "/".into(),
            uid: 1000,
            gid: 1000,
            additional_gids: vec![1000, 2000],
            hostname: String::new(),
            network: Network::None,
            rootfs: "/r".into(),
            readonly_rootfs: true,
            binds: vec![],
            tmpfs: vec![],
            caps: vec!["CAP_CHOWN".into()],
            seccomp: false,
            terminal: false,
            annotations: vec![],
        }
    }

    fn ns_types(c: &Value) -> Vec<String> {
        let ns = c["linux"]["namespaces"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        ns.iter()
            .map(|n| n["type"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn process_and_root() {
        let c = runtime_config(&spec());
        assert_eq!(c["ociVersion"], "1.1.0");
        let p = &c["process"];
        assert_eq!(
            p["user"],
            json!({"uid": 1000, "gid": 1000, "additionalGids": [1000, 2000]})
        );
        assert_eq!(p["capabilities"]["bounding"], json!(["CAP_CHOWN"]));
        assert_eq!(p["capabilities"]["ambient"], json!([]));
        assert_eq!(p["rlimits"][0]["soft"], nofile());
        assert_eq!(p["rlimits"][0]["hard"], nofile());
        assert!(nofile() <= NOFILE);
        assert_eq!(p["noNewPrivileges"], false);
        assert_eq!(c["root"], json!({"path": "/r", "readonly": true}));
        assert!(c.get("hostname").is_none() && c.get("annotations").is_none());
        assert!(c["linux"].get("seccomp").is_none());
    }

    #[test]
    fn networks_select_namespaces_and_sysctls() {
        let mut s = spec();
        let c = runtime_config(&s);
        assert_eq!(
            ns_types(&c),
            ["pid", "ipc", "uts", "mount", "network", "cgroup"]
        );
        assert!(c["linux"]["sysctl"].is_object());
        s.network = Network::Host;
        let c = runtime_config(&s);
        assert_eq!(ns_types(&c), ["pid", "ipc", "uts", "mount", "cgroup"]);
        assert!(c["linux"].get("sysctl").is_none());
        s.network = Network::Path(PathBuf::from("/run/netns/x"));
        let c = runtime_config(&s);
        assert_eq!(
            c["linux"]["namespaces"][4],
            json!({"type": "network", "path": "/run/netns/x"})
        );
    }

    #[test]
    fn mounts_in_order_with_tmpfs_and_binds() {
        let mut s = spec();
        s.tmpfs = vec!["/run".into()];
        s.binds = vec![
            Bind {
                source: "/src".into(),
                destination: "/ctx".into(),
                readonly: true,
            },
            Bind {
                source: "/cache".into(),
                destination: "/root/.cache".into(),
                readonly: false,
            },
        ];
        let c = runtime_config(&s);
        let m = c["mounts"].as_array().cloned().unwrap_or_default();
        let dests: Vec<&str> = m
            .iter()
            .map(|m| m["destination"].as_str().unwrap_or_default())
            .collect();
        let want = [
            "/proc",
            "/dev",
            "/dev/pts",
            "/dev/shm",
            "/dev/mqueue",
            "/sys",
            "/sys/fs/cgroup",
            "/run",
            "/ctx",
            "/root/.cache",
        ];
        assert_eq!(dests, want);
        assert_eq!(m[8]["options"], json!(["rbind", "rprivate", "ro"]));
        assert_eq!(m[9]["options"], json!(["rbind", "rprivate", "rw"]));
        assert_eq!(
            (m[8]["type"].clone(), m[8]["source"].clone()),
            (json!("bind"), json!("/src"))
        );
        assert_eq!(m[7]["type"], "tmpfs");
    }

    #[test]
    fn linux_defaults_seccomp_and_annotations() {
        let mut s = spec();
        s.seccomp = true;
        s.hostname = "step".into();
        s.annotations = vec![("k".into(), "v".into())];
        let c = runtime_config(&s);
        assert_eq!(c["hostname"], "step");
        assert_eq!(c["annotations"], json!({"k": "v"}));
        assert_eq!(c["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(c["linux"]["maskedPaths"].as_array().map(Vec::len), Some(12));
        assert_eq!(
            c["linux"]["readonlyPaths"].as_array().map(Vec::len),
            Some(5)
        );
        let devices = &c["linux"]["resources"]["devices"];
        assert_eq!(devices[0], json!({"allow": false, "access": "rwm"}));
        assert_eq!(
            devices[1],
            json!({"allow": true, "type": "c", "access": "m"})
        );
        assert_eq!(
            devices[3],
            json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"})
        );
        assert_eq!(
            devices[9],
            json!({"allow": true, "type": "c", "major": 136, "access": "rwm"})
        );
    }
}
