//! `inspect`: docker's container JSON (Id, Name, State, Config, HostConfig,
//! Mounts, LogPath ...) or a --format template over it.

use anyhow::bail;
use clap::Args;
use serde_json::{json, Value};

use super::{Ctx, Outcome};
use crate::records::{state, Record, State, Status};

#[derive(Args)]
pub struct InspectArgs {
    /// A Go template: {{.State.Pid}}, {{json .Config}} ...
    #[arg(short, long)]
    format: Option<String>,
    /// Accepted for docker's scripts (sizes are not computed).
    #[arg(short, long)]
    size: bool,
    #[arg(long = "type")]
    kind: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn time_or_zero(t: &str) -> &str {
    if t.is_empty() {
        ZERO_TIME
    } else {
        t
    }
}

pub fn document(ctx: &Ctx, r: &Record, s: &State) -> Value {
    let dir = ctx.root.dir(&r.id);
    let file = |n: &str| {
        if r.rootfs_mount.is_some() {
            dir.join(n).display().to_string()
        } else {
            String::new()
        }
    };
    let mounts: Vec<Value> = r
        .host
        .binds
        .iter()
        .filter_map(|b| crate::options::parse_volume(b).ok())
        .map(|v| {
            json!({
                "Type": "bind", "Source": v.source, "Destination": v.destination,
                "Mode": if v.readonly { "ro" } else { "" }, "RW": !v.readonly,
                "Propagation": "rprivate",
            })
        })
        .collect();
    let (path, args) = r
        .args
        .split_first()
        .map_or(("", &[][..]), |(p, a)| (p.as_str(), a));
    let h = &r.host;
    json!({
        "Id": r.id,
        "Created": r.created,
        "Path": path,
        "Args": args,
        "State": {
            "Status": s.status.as_str(),
            "Running": matches!(s.status, Status::Running | Status::Paused),
            "Paused": s.status == Status::Paused,
            "Restarting": s.status == Status::Restarting,
            "OOMKilled": s.oom_killed,
            "Dead": s.status == Status::Dead,
            "Pid": s.pid,
            "ExitCode": s.exit_code,
            "Error": s.error,
            "StartedAt": time_or_zero(&s.started_at),
            "FinishedAt": time_or_zero(&s.finished_at),
            "MonitorPid": s.monitor_pid,
            "MonitorAlive": ctx.root.monitor_alive(&r.id),
            "LogLostBytes": s.log_lost_bytes,
        },
        "Image": r.image_id,
        "ResolvConfPath": file("resolv.conf"),
        "HostnamePath": file("hostname"),
        "HostsPath": file("hosts"),
        "LogPath": r.log_path(&dir),
        "Name": format!("/{}", r.name),
        "RestartCount": s.restart_count,
        "Driver": "overlay",
        "Platform": "linux",
        "HostConfig": host_config(h),
        "GraphDriver": {
            "Name": "overlay",
            "Data": {
                "UpperDir": dir.join("upper"),
                "WorkDir": dir.join("work"),
                "MergedDir": r.rootfs_mount,
            },
        },
        "Mounts": mounts,
        "Config": config_json(&r.config),
        "NetworkSettings": {"Networks": {}, "Ports": {}},
        "Bundle": r.bundle,
        "AppArmorProfile": "",
        "ExecIDs": null,
        "MountLabel": "",
        "ProcessLabel": "",
    })
}

/// docker inspect's HostConfig: what was asked, and docker's fixed values
/// for what this shim does not vary.
fn host_config(h: &crate::records::HostConfig) -> Value {
    let mut v = json!({
        "Binds": h.binds,
        "LogConfig": h.log_config,
        "NetworkMode": h.network_mode,
        "RestartPolicy": h.restart_policy,
        "AutoRemove": h.auto_remove,
        "CapAdd": h.cap_add,
        "CapDrop": h.cap_drop,
        "Privileged": h.privileged,
        "ReadonlyRootfs": h.readonly_rootfs,
        "SecurityOpt": h.security_opt,
        "Init": h.init,
        "Memory": h.memory,
        "MemorySwap": h.memory_swap,
        "CpuShares": h.cpu_shares,
        "NanoCpus": h.nano_cpus,
        "CpusetCpus": h.cpuset_cpus,
        "PidsLimit": h.pids_limit,
        "Ulimits": h.ulimits,
        "Devices": h.devices,
        "Runtime": h.runtime,
        "ContainerIDFile": h.container_id_file,
        "ShmSize": 67108864,
        "IpcMode": "private",
        "PidMode": "",
        "UTSMode": "",
        "Dns": [],
        "DnsOptions": [],
        "DnsSearch": [],
        "ExtraHosts": null,
        "OomKillDisable": false,
        "MaskedPaths": berth_builder::bundle::MASKED_PATHS,
        "ReadonlyPaths": berth_builder::bundle::READONLY_PATHS,
    });
    if let (Some(m), Value::Object(fixed)) = (v.as_object_mut(), docker_defaults()) {
        m.extend(fixed);
    }
    v
}

/// Config as docker prints it: absent lists are null, not [].
fn config_json(c: &crate::records::Config) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        for k in ["Env", "Cmd", "Entrypoint", "Volumes"] {
            if m.get(k)
                .and_then(Value::as_array)
                .is_some_and(|a| a.is_empty())
            {
                m.insert(k.into(), Value::Null);
            }
        }
    }
    v
}

/// HostConfig fields docker always shows, at the values a container that
/// did not ask for them has (block I/O, realtime, user namespaces, ports:
/// none of them set by this shim).
fn docker_defaults() -> Value {
    json!({
        "BlkioWeight": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [],
        "Cgroup": "", "CgroupParent": "", "CgroupnsMode": "host", "ConsoleSize": [0, 0],
        "CpuCount": 0, "CpuPercent": 0, "CpuPeriod": 0, "CpuQuota": 0,
        "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetMems": "",
        "DeviceCgroupRules": null, "DeviceRequests": null, "GroupAdd": null,
        "IOMaximumBandwidth": 0, "IOMaximumIOps": 0, "Isolation": "", "KernelMemory": 0,
        "KernelMemoryTCP": 0, "Links": null, "MemoryReservation": 0, "MemorySwappiness": null,
        "OomScoreAdj": 0, "PortBindings": {}, "PublishAllPorts": false, "UsernsMode": "",
        "VolumeDriver": "", "VolumesFrom": null,
    })
}

pub fn inspect(ctx: &Ctx, a: InspectArgs) -> Outcome {
    if a.kind.as_deref().is_some_and(|k| k != "container") {
        bail!("images are inspected with `builder inspect`");
    }
    let mut docs = Vec::new();
    let mut code = 0;
    for n in &a.names {
        match ctx.root.resolve(n) {
            Ok(id) => {
                let r = ctx.root.record(&id)?;
                let s = state::observe(&ctx.root, &id, ctx.root.state(&id)?);
                docs.push(document(ctx, &r, &s));
            }
            Err(e) => {
                eprintln!("shim: {e}");
                code = 1;
            }
        }
    }
    match &a.format {
        Some(f) => {
            for d in &docs {
                println!("{}", berth_builder::template::render(f, d)?);
            }
        }
        None => println!("{}", serde_json::to_string_pretty(&Value::Array(docs))?),
    }
    Ok(code)
}
