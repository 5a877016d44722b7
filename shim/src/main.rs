//! `shim`: the per-container monitor and the container verbs of docker's
//! command line (run, ps, logs, stop, exec, rm, inspect ...), no daemon.

mod cgroup;
mod cleanup;
mod cli;
mod init;
mod logs;
mod monitor;
mod options;
mod proto;
mod records;
mod runtime;
mod spec;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The monitor skips the command-line parser: less of the binary is
    // touched, so less of it is resident for the container's whole life.
    if args.get(1).is_some_and(|a| a == "monitor") {
        std::process::exit(match monitor_args(&args[2..]) {
            Some(a) => monitor::main(a),
            None => {
                eprintln!(
                    "usage: shim monitor --root DIR --runtime PATH [--attach] [--winsize R,C] ID"
                );
                2
            }
        });
    }
    std::process::exit(cli::main());
}

fn monitor_args(args: &[std::ffi::OsString]) -> Option<monitor::Args> {
    let mut root = None;
    let mut runtime = None;
    let mut attach = false;
    let mut winsize = None;
    let mut id = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.to_str()? {
            "--root" => root = Some(it.next()?.into()),
            "--runtime" => runtime = Some(it.next()?.into()),
            "--attach" => attach = true,
            "--winsize" => {
                let (r, c) = it.next()?.to_str()?.split_once(',')?;
                winsize = Some((r.parse().ok()?, c.parse().ok()?));
            }
            other => id = Some(other.to_string()),
        }
    }
    Some(monitor::Args {
        root: root?,
        id: id?,
        runtime: runtime?,
        attach,
        winsize,
    })
}
