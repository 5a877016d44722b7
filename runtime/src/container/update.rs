//! `update`: new resource limits for a running container, runc's flags or a
//! LinuxResources JSON (`--resources FILE`, `-` for stdin). Only the fields
//! given are written, through libcgroups; each group of fields is applied on
//! its own so that a refusal names the flag, memory first (the one the
//! kernel refuses most), so that a refused memory value changes nothing.
//!
//! As runc does, a refusal puts the groups already written back to the values
//! the container had (those it had: a field never set has no value to go back
//! to), and a success records the merged resources in state.json, so the next
//! update rolls back to them.

use std::io::Read;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxPidsBuilder, LinuxResources};
use serde_json::Value;

use crate::state::Status;
use crate::{cgroups, logging, Error, Result};

/// runc's update flags, as given (None: not given).
#[derive(Default)]
pub struct UpdateOpts {
    pub resources: Option<PathBuf>,
    pub memory: Option<String>,
    pub memory_reservation: Option<String>,
    pub memory_swap: Option<String>,
    pub kernel_memory: Option<String>,
    pub kernel_memory_tcp: Option<String>,
    pub cpu_shares: Option<String>,
    pub cpu_quota: Option<String>,
    pub cpu_period: Option<String>,
    pub cpu_rt_runtime: Option<String>,
    pub cpu_rt_period: Option<String>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<String>,
    pub blkio_weight: Option<String>,
    pub l3_cache_schema: Option<String>,
    pub mem_bw_schema: Option<String>,
}

/// One group of fields applied together, and the name an error carries.
struct Part {
    name: String,
    /// The raw --memory value, for the "below usage" message.
    memory: Option<String>,
    resources: LinuxResources,
}

pub fn update(root: &Path, id: &str, opts: &UpdateOpts) -> Result<()> {
    for (flag, v) in [
        ("--l3-cache-schema", &opts.l3_cache_schema),
        ("--mem-bw-schema", &opts.mem_bw_schema),
    ] {
        if v.is_some() {
            return Err(Error::field(
                flag,
                "intelRdt is not supported by this runtime (no resctrl)",
            ));
        }
    }
    let parts = parts(opts)?;
    let (dir, mut st, status) = super::load(root, id)?;
    if !matches!(status, Status::Created | Status::Running | Status::Paused) {
        return Err(Error::BadState {
            id: id.to_string(),
            status: status.to_string(),
            msg: "only a created, running or paused container can be updated".into(),
        });
    }
    let Some(cg) = &st.cgroup_path else {
        return Err(Error::BadState {
            id: id.to_string(),
            status: status.to_string(),
            msg: "it has no cgroup".into(),
        });
    };
    if parts.is_empty() {
        return Err(Error::Other(format!(
            "update {id}: nothing to change (give --resources or a resource flag)"
        )));
    }
    for p in &parts {
        cgroups::check_layout(&p.resources, cg)?;
    }
    let before = match &st.resources {
        Some(r) => to_json(r),
        None => configured_resources(&st.bundle),
    };
    for (i, p) in parts.iter().enumerate() {
        if let Err(e) = cgroups::update(cg, &p.resources) {
            roll_back(cg, &before, &parts[..=i]);
            return Err(refused(p, &e));
        }
    }
    let mut after = before;
    for p in &parts {
        merge(&mut after, to_json(&p.resources));
    }
    st.resources = Some(serde_json::from_value(after).map_err(|e| Error::Other(e.to_string()))?);
    dir.save(&st)
}

fn to_json(r: &LinuxResources) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

/// linux.resources of the bundle's config.json (for containers never updated).
fn configured_resources(bundle: &Path) -> Value {
    std::fs::read(bundle.join("config.json"))
        .ok()
        .and_then(|d| serde_json::from_slice::<Value>(&d).ok())
        .and_then(|v| v.pointer("/linux/resources").cloned())
        .unwrap_or(Value::Null)
}

/// Writes back, newest first, the values `before` holds for the fields the
/// applied groups touched. Best effort: what can't be restored is a warning.
fn roll_back(cg: &Path, before: &Value, applied: &[Part]) {
    for p in applied.iter().rev() {
        let Some(old) = restrict(before, &to_json(&p.resources)) else {
            continue;
        };
        let restored = serde_json::from_value::<LinuxResources>(old)
            .map_err(|e| e.to_string())
            .and_then(|r| cgroups::update(cg, &r));
        if let Err(e) = restored {
            logging::warn(&format!("{}: could not restore the old value: {e}", p.name));
        }
    }
}

/// The parts of `old` at the paths `shape` has (objects recursed, anything
/// else taken whole); None where `old` has nothing there.
fn restrict(old: &Value, shape: &Value) -> Option<Value> {
    match (old, shape) {
        (Value::Object(o), Value::Object(s)) => {
            let m: serde_json::Map<String, Value> = s
                .iter()
                .filter_map(|(k, sv)| Some((k.clone(), restrict(o.get(k)?, sv)?)))
                .collect();
            (!m.is_empty()).then_some(Value::Object(m))
        }
        (Value::Null, _) => None,
        (o, _) => Some(o.clone()),
    }
}

/// `new` over `into`: objects merged key by key, anything else replaced.
fn merge(into: &mut Value, new: Value) {
    match (into, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

fn refused(p: &Part, err: &str) -> Error {
    if let (Some(m), Some(i)) = (&p.memory, err.find("current usage: ")) {
        if err.contains("unable to set memory limit") {
            let usage: String = err[i + 15..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            return Error::field(
                "--memory",
                format!("{m} is below the container's current usage ({usage} bytes)"),
            );
        }
    }
    Error::field(&p.name, format!("the kernel refused it: {err}"))
}

fn read_resources(file: &Path) -> Result<LinuxResources> {
    let mut data = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| Error::io("--resources: stdin", e))?;
    } else {
        data = std::fs::read(file)
            .map_err(|e| Error::io(format!("--resources {}", file.display()), e))?;
    }
    serde_json::from_slice(&data).map_err(|e| Error::Config {
        file: file.to_path_buf(),
        msg: format!("not a LinuxResources object: {e}"),
    })
}

/// The flags over `--resources`, split into groups applied one by one.
fn parts(o: &UpdateOpts) -> Result<Vec<Part>> {
    let base = match &o.resources {
        Some(f) => read_resources(f)?,
        None => LinuxResources::default(),
    };
    for (flag, v) in [
        ("--kernel-memory", &o.kernel_memory),
        ("--kernel-memory-tcp", &o.kernel_memory_tcp),
    ] {
        if let Some(v) = v {
            logging::warn(&format!(
                "{flag} {v}: ignored, this kernel does not limit kernel memory"
            ));
        }
    }
    let mut parts = Vec::new();
    let mut names = Vec::new();

    // Memory.
    let mut mem = base.memory().unwrap_or_default();
    let had_mem = base.memory().is_some();
    mem.set_kernel(None);
    mem.set_kernel_tcp(None);
    if let Some(v) = &o.memory {
        mem.set_limit(Some(mem_bytes("--memory", v)?));
        names.push("--memory");
    }
    if let Some(v) = &o.memory_reservation {
        mem.set_reservation(Some(mem_bytes("--memory-reservation", v)?));
        names.push("--memory-reservation");
    }
    if let Some(v) = &o.memory_swap {
        mem.set_swap(Some(mem_bytes("--memory-swap", v)?));
        names.push("--memory-swap");
    }
    if mem.limit() == Some(-1) && mem.swap().is_none() {
        // "unlimited" memory with a swap limit left in place fails on v1.
        mem.set_swap(Some(-1));
    }
    if had_mem || !names.is_empty() {
        if names.is_empty() {
            names.push("memory");
        }
        parts.push(Part {
            name: names.join(", "),
            memory: o.memory.clone(),
            resources: with(|r| {
                r.set_memory(Some(mem));
            }),
        });
    }

    // CPU: cpu controller fields, then cpuset.
    let cpu = base.cpu().clone().unwrap_or_default();
    let mut sched = LinuxCpu::default();
    sched.set_shares(cpu.shares());
    sched.set_quota(cpu.quota());
    sched.set_period(cpu.period());
    sched.set_realtime_runtime(cpu.realtime_runtime());
    sched.set_realtime_period(cpu.realtime_period());
    let mut names = Vec::new();
    if let Some(v) = &o.cpu_shares {
        sched.set_shares(Some(num("--cpu-shares", v)?));
        names.push("--cpu-shares");
    }
    if let Some(v) = &o.cpu_quota {
        sched.set_quota(Some(num("--cpu-quota", v)?));
        names.push("--cpu-quota");
    }
    if let Some(v) = &o.cpu_period {
        sched.set_period(Some(num("--cpu-period", v)?));
        names.push("--cpu-period");
    }
    if let Some(v) = &o.cpu_rt_runtime {
        sched.set_realtime_runtime(Some(num("--cpu-rt-runtime", v)?));
        names.push("--cpu-rt-runtime");
    }
    if let Some(v) = &o.cpu_rt_period {
        sched.set_realtime_period(Some(num("--cpu-rt-period", v)?));
        names.push("--cpu-rt-period");
    }
    if sched.shares().is_some()
        || sched.quota().is_some()
        || sched.period().is_some()
        || sched.realtime_runtime().is_some()
        || sched.realtime_period().is_some()
    {
        if names.is_empty() {
            names.push("cpu");
        }
        parts.push(Part {
            name: names.join(", "),
            memory: None,
            resources: with(|r| {
                r.set_cpu(Some(sched.clone()));
            }),
        });
    }
    let mut set = LinuxCpu::default();
    set.set_cpus(o.cpuset_cpus.clone().or(cpu.cpus().clone()));
    set.set_mems(o.cpuset_mems.clone().or(cpu.mems().clone()));
    if set.cpus().is_some() || set.mems().is_some() {
        let mut names = Vec::new();
        if o.cpuset_cpus.is_some() {
            names.push("--cpuset-cpus");
        }
        if o.cpuset_mems.is_some() {
            names.push("--cpuset-mems");
        }
        if names.is_empty() {
            names.push("cpu.cpus/cpu.mems");
        }
        parts.push(Part {
            name: names.join(", "),
            memory: None,
            resources: with(|r| {
                r.set_cpu(Some(set.clone()));
            }),
        });
    }

    // Pids.
    let pids = match &o.pids_limit {
        Some(v) => Some(("--pids-limit", num::<i64>("--pids-limit", v)?)),
        None => base.pids().as_ref().map(|p| ("pids", p.limit())),
    };
    if let Some((name, limit)) = pids {
        let p = LinuxPidsBuilder::default()
            .limit(limit)
            .build()
            .map_err(|e| Error::field(name, e.to_string()))?;
        parts.push(Part {
            name: name.into(),
            memory: None,
            resources: with(|r| {
                r.set_pids(Some(p));
            }),
        });
    }

    // Block IO.
    let mut bio: LinuxBlockIo = base.block_io().clone().unwrap_or_default();
    let mut bio_name = "blockIO";
    if let Some(v) = &o.blkio_weight {
        bio.set_weight(Some(num("--blkio-weight", v)?));
        bio_name = "--blkio-weight";
    }
    if base.block_io().is_some() || o.blkio_weight.is_some() {
        parts.push(Part {
            name: bio_name.into(),
            memory: None,
            resources: with(|r| {
                r.set_block_io(Some(bio.clone()));
            }),
        });
    }

    // The rest of a --resources file, in one go.
    let mut rest = base.clone();
    rest.set_memory(None);
    rest.set_cpu(None);
    rest.set_pids(None);
    rest.set_block_io(None);
    if rest != LinuxResources::default() {
        parts.push(Part {
            name: "--resources".into(),
            memory: None,
            resources: rest,
        });
    }
    Ok(parts)
}

fn with(f: impl FnOnce(&mut LinuxResources)) -> LinuxResources {
    let mut r = LinuxResources::default();
    f(&mut r);
    r
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T> {
    v.trim()
        .parse()
        .map_err(|_| Error::field(flag, format!("{v:?} is not a valid number")))
}

/// runc's memory sizes (docker's RAMInBytes): bytes or a number with a
/// binary unit (`128m`, `1.5g`, `512KiB`); `-1` is unlimited.
pub fn mem_bytes(flag: &str, v: &str) -> Result<i64> {
    let bad = || {
        Error::field(
            flag,
            format!("{v:?} is not a memory size (e.g. 134217728, 128m, 1g, -1)"),
        )
    };
    let s = v.trim();
    if s == "-1" {
        return Ok(-1);
    }
    let mut t = s;
    if let Some(x) = t.strip_suffix(['b', 'B']) {
        t = x;
    }
    let had_i = t.ends_with(['i', 'I']);
    if had_i {
        t = &t[..t.len() - 1];
    }
    let mult: i64 = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            t = &t[..t.len() - 1];
            match c.to_ascii_lowercase() {
                'k' => 1 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                't' => 1 << 40,
                'p' => 1 << 50,
                _ => return Err(bad()),
            }
        }
        _ if had_i => return Err(bad()),
        _ => 1,
    };
    let t = t.strip_suffix(' ').unwrap_or(t);
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    let n: f64 = t.parse().map_err(|_| bad())?;
    Ok((n * mult as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roll_back_takes_old_values_of_touched_fields_only() {
        let old = serde_json::json!({"memory": {"limit": 64, "swap": 128}, "pids": {"limit": 5}});
        let shape = serde_json::json!({"memory": {"limit": 96, "reservation": 32}});
        assert_eq!(
            restrict(&old, &shape),
            Some(serde_json::json!({"memory": {"limit": 64}}))
        );
        // Nothing there before: nothing to restore.
        assert_eq!(
            restrict(&old, &serde_json::json!({"cpu": {"shares": 2}})),
            None
        );
        assert_eq!(restrict(&Value::Null, &shape), None);
    }

    #[test]
    fn merge_records_new_values_over_old() {
        let mut v = serde_json::json!({"memory": {"limit": 64, "swap": 128}, "pids": {"limit": 5}});
        merge(
            &mut v,
            serde_json::json!({"memory": {"limit": 96}, "cpu": {"cpus": "0"}}),
        );
        assert_eq!(
            v,
            serde_json::json!({"memory": {"limit": 96, "swap": 128}, "pids": {"limit": 5},
                "cpu": {"cpus": "0"}})
        );
        let mut none = Value::Null;
        merge(&mut none, serde_json::json!({"pids": {"limit": 1}}));
        assert_eq!(none, serde_json::json!({"pids": {"limit": 1}}));
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(mem_bytes("m", "-1").unwrap(), -1);
        assert_eq!(mem_bytes("m", "4096").unwrap(), 4096);
        assert_eq!(mem_bytes("m", "128m").unwrap(), 128 << 20);
        assert_eq!(mem_bytes("m", "1g").unwrap(), 1 << 30);
        assert_eq!(mem_bytes("m", "1.5G").unwrap(), 3 << 29);
        assert_eq!(mem_bytes("m", "64MiB").unwrap(), 64 << 20);
        assert_eq!(mem_bytes("m", "64 MB").unwrap(), 64 << 20);
        for bad in ["", "m", "12x", "-5", "1i", "abc"] {
            assert!(mem_bytes("--memory", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_given_fields() {
        let o = UpdateOpts {
            memory: Some("64m".into()),
            pids_limit: Some("10".into()),
            ..Default::default()
        };
        let p = parts(&o).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name, "--memory");
        let m = p[0].resources.memory().unwrap();
        assert_eq!(m.limit(), Some(64 << 20));
        assert_eq!(m.swap(), None);
        assert!(p[0].resources.cpu().is_none());
        assert_eq!(p[1].resources.pids().as_ref().unwrap().limit(), 10);
    }
}
