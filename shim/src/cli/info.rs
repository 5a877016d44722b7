//! `info` and `version`.

use super::{Ctx, Outcome};
use crate::records::Status;

fn os_name() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

pub fn info(ctx: &Ctx) -> Outcome {
    let all = ctx.root.all()?;
    let count = |f: &dyn Fn(Status) -> bool| all.iter().filter(|(_, s)| f(s.status)).count();
    let running = count(&|s| matches!(s, Status::Running | Status::Restarting));
    let paused = count(&|s| s == Status::Paused);
    let images = berth_builder::store::Store::open(&ctx.store)
        .and_then(|s| s.images())
        .map(|i| i.len())
        .unwrap_or(0);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = crate::cgroup::host_memory() as f64 / (1u64 << 30) as f64;
    println!("Client: Berth shim");
    println!(" Version:    {}", env!("CARGO_PKG_VERSION"));
    println!();
    println!("Containers: {}", all.len());
    println!(" Running: {running}");
    println!(" Paused: {paused}");
    println!(" Stopped: {}", all.len() - running - paused);
    println!("Images: {images}");
    println!("Storage Driver: overlay");
    println!("Logging Driver: k8s-file");
    println!("Cgroup Driver: cgroupfs");
    println!("Cgroup Version: {}", crate::cgroup::version());
    println!("Runtimes: {}", ctx.runtime.path.display());
    println!(
        "Default Runtime: {} ({})",
        ctx.runtime.path.display(),
        ctx.runtime.version()
    );
    println!("Kernel Version: {}", kernel());
    println!("Operating System: {}", os_name());
    println!("Architecture: {}", std::env::consts::ARCH);
    println!("CPUs: {cpus}");
    println!("Total Memory: {mem:.2}GiB");
    println!("Containers Root Dir: {}", ctx.root_path().display());
    println!("Image Store Dir: {}", ctx.store.display());
    Ok(0)
}

pub fn version(ctx: &Ctx) -> Outcome {
    println!("Client: Berth shim");
    println!(" Version:      {}", env!("CARGO_PKG_VERSION"));
    println!(" OS/Arch:      linux/{}", std::env::consts::ARCH);
    println!();
    println!("Runtime: {}", ctx.runtime.path.display());
    println!(" Version:      {}", ctx.runtime.version());
    Ok(0)
}
