//! A container's config.json: the image config by the image-spec
//! conversion rules (berth_builder::bundle), then `run`'s flags applied as
//! dockerd applies them (env, user, workdir, hostname, mounts, capabilities,
//! seccomp, resources, rlimits, devices).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use berth_builder::bundle::{self, Bind, BundleError, Network};
use berth_builder::image::ImageConfig;
use serde_json::{json, Value};

use crate::options::Volume;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("{0}")]
    Bad(String),
}

/// What `run`'s flags ask for, parsed and checked.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub args: Vec<String>,
    /// --entrypoint: Some("") resets the image's.
    pub entrypoint: Option<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: String,
    pub host_network: bool,
    pub volumes: Vec<Volume>,
    pub readonly: bool,
    pub tty: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    /// None: the default profile; Some(None): unconfined; Some(Some(f)): a file.
    pub seccomp: Option<Option<PathBuf>>,
    pub memory: Option<u64>,
    pub memory_swap: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpus: Option<f64>,
    pub cpuset_cpus: Option<String>,
    pub pids_limit: Option<i64>,
    pub ulimits: Vec<(String, u64, u64)>,
    pub devices: Vec<String>,
    pub annotations: Vec<(String, String)>,
    pub stop_signal: Option<String>,
    /// --init: the static berth-init to run the command under.
    pub init: Option<PathBuf>,
    /// Files the container dir holds for /etc/hosts, /etc/hostname and
    /// /etc/resolv.conf.
    pub etc_files: Vec<(PathBuf, String)>,
    pub cgroups_path: String,
}

/// config.json for a container of `image` whose rootfs is mounted at
/// `rootfs`; also the argv it will run.
pub fn from_image(image: &ImageConfig, rootfs: &Path, i: &Inputs) -> Result<Value, SpecError> {
    let mut image = image.clone();
    let c = &mut image.config;
    if let Some(ep) = &i.entrypoint {
        // docker: --entrypoint replaces the image's and drops its Cmd.
        c.entrypoint = if ep.is_empty() {
            None
        } else {
            Some(vec![ep.clone()])
        };
        c.cmd = None;
    }
    if let Some(u) = &i.user {
        c.user = Some(u.clone());
    }
    let args = (!i.args.is_empty()).then(|| i.args.clone());
    let mut spec = bundle::spec_from_image(&image, rootfs, args)?;
    if let Some(init) = &i.init {
        let target = crate::init::TARGET.to_string();
        spec.args.splice(0..0, [target.clone(), "--".into()]);
        spec.binds.push(Bind {
            source: init.clone(),
            destination: target,
            readonly: true,
        });
    }
    spec.env = merge_env(&spec.env, &i.env);
    if let Some(w) = &i.workdir {
        spec.cwd = w.clone();
    }
    spec.hostname = i.hostname.clone();
    spec.network = if i.host_network {
        Network::Host
    } else {
        Network::None
    };
    spec.readonly_rootfs = i.readonly;
    spec.terminal = i.tty;
    spec.caps = capabilities(&spec.caps, i)?;
    spec.seccomp = !i.privileged && i.seccomp.is_none();
    for (src, dst) in &i.etc_files {
        spec.binds.push(Bind {
            source: src.clone(),
            destination: dst.clone(),
            readonly: false,
        });
    }
    for v in &i.volumes {
        spec.binds.push(Bind {
            source: v.source.clone(),
            destination: v.destination.clone(),
            readonly: v.readonly,
        });
    }
    if let Some(sig) = &i.stop_signal {
        spec.annotations
            .retain(|(k, _)| k != bundle::STOP_SIGNAL_ANNOTATION);
        spec.annotations
            .push((bundle::STOP_SIGNAL_ANNOTATION.into(), sig.clone()));
    }
    spec.annotations.extend(i.annotations.iter().cloned());
    let mut config = bundle::runtime_config(&spec);
    apply_host(&mut config, i)?;
    Ok(config)
}

/// The image's env with `extra` (K=V) replacing same-named entries.
pub fn merge_env(base: &[String], extra: &[String]) -> Vec<String> {
    let key = |e: &str| e.split_once('=').map_or(e, |(k, _)| k).to_string();
    let mut out: Vec<String> = base.to_vec();
    for e in extra {
        let k = key(e);
        match out.iter_mut().find(|b| key(b) == k) {
            Some(slot) => *slot = e.clone(),
            None => out.push(e.clone()),
        }
    }
    out
}

fn cap_name(c: &str) -> String {
    let up = c.to_ascii_uppercase();
    if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    }
}

/// Every capability this process may grant (its bounding set): what
/// --privileged and --cap-add ALL give (this host lacks CAP_SYS_RESOURCE).
pub fn bounding_caps() -> Vec<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or(0);
    (0..64)
        .filter(|b| mask & (1 << b) != 0)
        .filter_map(|b| CAP_NAMES.get(b).map(|n| n.to_string()))
        .collect()
}

const CAP_NAMES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

fn capabilities(default: &[String], i: &Inputs) -> Result<Vec<String>, SpecError> {
    let all = bounding_caps();
    if i.privileged {
        return Ok(all);
    }
    for c in i.cap_add.iter().chain(&i.cap_drop) {
        let n = cap_name(c);
        if n != "CAP_ALL" && !CAP_NAMES.contains(&n.as_str()) {
            return Err(SpecError::Bad(format!("unknown capability: {c:?}")));
        }
    }
    let mut caps: Vec<String> = default.to_vec();
    if i.cap_drop.iter().any(|c| cap_name(c) == "CAP_ALL") {
        caps.clear();
    }
    caps.retain(|c| !i.cap_drop.iter().any(|d| cap_name(d) == *c));
    for a in &i.cap_add {
        let n = cap_name(a);
        let add = if n == "CAP_ALL" { all.clone() } else { vec![n] };
        for c in add {
            if !caps.contains(&c) {
                caps.push(c);
            }
        }
    }
    Ok(caps)
}

/// The HostConfig parts config.json has no RunSpec field for.
fn apply_host(config: &mut Value, i: &Inputs) -> Result<(), SpecError> {
    let linux = &mut config["linux"];
    linux["cgroupsPath"] = json!(i.cgroups_path);
    if i.privileged {
        // dockerd: no masked or read-only paths, every device allowed, /sys rw.
        linux["maskedPaths"] = json!([]);
        linux["readonlyPaths"] = json!([]);
        linux["resources"]["devices"] = json!([{"allow": true, "access": "rwm"}]);
        if let Some(mounts) = config["mounts"].as_array_mut() {
            for m in mounts.iter_mut() {
                if m["destination"] == "/sys" || m["destination"] == "/sys/fs/cgroup" {
                    if let Some(opts) = m["options"].as_array_mut() {
                        opts.retain(|o| o != "ro");
                        opts.push(json!("rw"));
                    }
                }
            }
        }
    }
    if let Some(Some(file)) = &i.seccomp {
        if !i.privileged {
            config["linux"]["seccomp"] = seccomp_file(file)?;
        }
    }
    resources(&mut config["linux"]["resources"], i);
    rlimits(&mut config["process"]["rlimits"], &i.ulimits);
    devices(config, &i.devices)?;
    Ok(())
}

fn resources(r: &mut Value, i: &Inputs) {
    if let Some(m) = i.memory {
        r["memory"]["limit"] = json!(m);
        if let Some(s) = i.memory_swap {
            // docker: --memory-swap is memory + swap; -1 is unlimited swap.
            r["memory"]["swap"] = json!(s);
        } else {
            r["memory"]["swap"] = json!(m.saturating_mul(2));
        }
    }
    if let Some(s) = i.cpu_shares {
        r["cpu"]["shares"] = json!(s);
    }
    if let Some(c) = i.cpus {
        r["cpu"]["period"] = json!(100_000u64);
        r["cpu"]["quota"] = json!((c * 100_000.0).round() as i64);
    }
    if let Some(c) = &i.cpuset_cpus {
        r["cpu"]["cpus"] = json!(c);
    }
    if let Some(p) = i.pids_limit {
        r["pids"]["limit"] = json!(p);
    }
}

fn rlimits(r: &mut Value, ulimits: &[(String, u64, u64)]) {
    let Some(list) = r.as_array_mut() else {
        return;
    };
    for (kind, soft, hard) in ulimits {
        list.retain(|l| l["type"] != json!(kind));
        list.push(json!({"type": kind, "soft": soft, "hard": hard}));
    }
}

/// `--device HOST[:CONTAINER[:PERMS]]`: the node made in the container and
/// allowed in the device cgroup.
fn devices(config: &mut Value, specs: &[String]) -> Result<(), SpecError> {
    for s in specs {
        let parts: Vec<&str> = s.split(':').collect();
        let (host, ctr, perms) = match parts.as_slice() {
            [h] => (*h, *h, "rwm"),
            [h, c] if c.chars().all(|ch| "rwm".contains(ch)) => (*h, *h, *c),
            [h, c] => (*h, *c, "rwm"),
            [h, c, p] => (*h, *c, *p),
            _ => return Err(SpecError::Bad(format!("invalid device {s:?}"))),
        };
        let bad = |why: String| SpecError::Bad(format!("--device {s}: {why}"));
        let md = std::fs::metadata(host).map_err(|e| bad(format!("{host}: {e}")))?;
        let kind = if md.file_type().is_char_device() {
            "c"
        } else if md.file_type().is_block_device() {
            "b"
        } else {
            return Err(bad(format!("{host} is not a device")));
        };
        let (major, minor) = (libc::major(md.rdev()), libc::minor(md.rdev()));
        let dev = json!({
            "path": ctr, "type": kind, "major": major, "minor": minor,
            "fileMode": md.mode() & 0o7777, "uid": md.uid(), "gid": md.gid(),
        });
        let linux = &mut config["linux"];
        match linux["devices"].as_array_mut() {
            Some(list) => list.push(dev),
            None => linux["devices"] = json!([dev]),
        }
        if let Some(rules) = linux["resources"]["devices"].as_array_mut() {
            rules.push(json!({"allow": true, "type": kind, "major": major, "minor": minor, "access": perms}));
        }
    }
    Ok(())
}

/// --security-opt seccomp=FILE: an OCI `linux.seccomp` object, or a docker
/// profile (its archMap reduced to the host's architectures).
fn seccomp_file(path: &Path) -> Result<Value, SpecError> {
    let bad = |why: String| SpecError::Bad(format!("seccomp profile {}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let mut v: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if !v["defaultAction"].is_string() {
        return Err(bad("no defaultAction".into()));
    }
    if let Some(map) = v.get("archMap").and_then(Value::as_array).cloned() {
        let host = match std::env::consts::ARCH {
            "x86_64" => "SCMP_ARCH_X86_64",
            "aarch64" => "SCMP_ARCH_AARCH64",
            other => other,
        };
        let mut arches = Vec::new();
        for m in &map {
            if m["architecture"] == host {
                arches.push(json!(host));
                arches.extend(
                    m["subArchitectures"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                );
            }
        }
        v["architectures"] = json!(arches);
        if let Some(o) = v.as_object_mut() {
            o.remove("archMap");
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_and_capabilities_follow_docker() {
        let base = vec!["PATH=/bin".to_string(), "A=1".to_string()];
        assert_eq!(
            merge_env(&base, &["A=2".into(), "B=3".into()]),
            ["PATH=/bin", "A=2", "B=3"]
        );
        let default: Vec<String> = ["CAP_CHOWN", "CAP_KILL"].map(String::from).to_vec();
        let i = Inputs {
            cap_add: vec!["net_admin".into()],
            cap_drop: vec!["CHOWN".into()],
            ..Default::default()
        };
        assert_eq!(
            capabilities(&default, &i).unwrap(),
            ["CAP_KILL", "CAP_NET_ADMIN"]
        );
        let i = Inputs {
            cap_drop: vec!["ALL".into()],
            cap_add: vec!["kill".into()],
            ..Default::default()
        };
        assert_eq!(capabilities(&default, &i).unwrap(), ["CAP_KILL"]);
        let i = Inputs {
            cap_add: vec!["FLY".into()],
            ..Default::default()
        };
        assert!(capabilities(&default, &i)
            .unwrap_err()
            .to_string()
            .contains("FLY"));
    }

    #[test]
    fn resources_land_where_the_runtime_reads_them() {
        let mut r = json!({});
        let i = Inputs {
            memory: Some(128 << 20),
            cpus: Some(1.5),
            cpu_shares: Some(512),
            pids_limit: Some(100),
            cpuset_cpus: Some("0".into()),
            ..Default::default()
        };
        resources(&mut r, &i);
        assert_eq!(r["memory"]["limit"], 128 << 20);
        assert_eq!(r["cpu"]["quota"], 150_000);
        assert_eq!(r["cpu"]["shares"], 512);
        assert_eq!(r["pids"]["limit"], 100);
        assert_eq!(r["cpu"]["cpus"], "0");
        let mut l = json!([{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}]);
        rlimits(&mut l, &[("RLIMIT_NOFILE".into(), 10, 20)]);
        assert_eq!(
            l,
            json!([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}])
        );
    }
}
