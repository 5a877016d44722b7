//! runc's command line: global flags, then one subcommand. Options may follow
//! the container id (`create ID --bundle B`), and Go-style single-dash long
//! options (`-root X`) are accepted, as runc's flag parser does.

mod args;

use std::io::Write;
use std::path::Path;

use berth_runtime::container::{self, create::CreateOpts, list::Format, run::RunOpts};
use berth_runtime::{console, features, logging, signal, Error};
use clap::Parser;

use args::{Cli, Command};

pub fn main() -> i32 {
    let cli = Cli::parse_from(args::normalize(std::env::args_os()));
    logging::init(
        cli.log.as_deref(),
        cli.log_format.as_deref() == Some("json"),
        cli.debug,
    );
    match dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            logging::error(&e.to_string());
            1
        }
    }
}

fn dispatch(cli: &Cli) -> Result<i32, Error> {
    if let Some(f) = cli.log_format.as_deref() {
        if f != "text" && f != "json" {
            return Err(Error::Other(format!(
                "--log-format: {f:?} is not one of text, json"
            )));
        }
    }
    if cli.rootless.as_deref() == Some("true") {
        return Err(Error::Other(
            "--rootless=true: rootless containers are not supported yet; run as root".into(),
        ));
    }
    let root = cli.root.as_path();
    match &cli.command {
        Command::Spec { bundle, .. } => {
            let path = bundle.join("config.json");
            if path.exists() {
                return Err(Error::Other(format!("{}: file exists", path.display())));
            }
            let data = serde_json::to_vec_pretty(&features::default_spec())
                .map_err(|e| Error::Other(e.to_string()))?;
            berth_runtime::state::write_atomic(&path, &data)?;
            Ok(0)
        }
        Command::Features => {
            println!(
                "{}",
                serde_json::to_string_pretty(&features::document()).unwrap_or_default()
            );
            Ok(0)
        }
        Command::Create(c) => {
            container::create::create(create_opts(cli, c)?)?;
            Ok(0)
        }
        Command::Run(r) => container::run::run(RunOpts {
            create: create_opts(cli, &r.create)?,
            detach: r.detach,
            keep: r.keep,
        }),
        Command::Start { id } => {
            container::start::start(root, id)?;
            Ok(0)
        }
        Command::State { id } => {
            println!("{}", container::list::state_json(root, id)?);
            Ok(0)
        }
        Command::Kill { id, signal, all } => {
            let sig = signal::parse(signal.as_deref().unwrap_or("SIGTERM"))?;
            container::kill::kill(root, id, sig, *all)?;
            Ok(0)
        }
        Command::Delete { id, force } => {
            container::delete::delete(root, id, *force)?;
            Ok(0)
        }
        Command::List { format, quiet } => {
            let f = if *quiet {
                Format::Quiet
            } else if format == "json" {
                Format::Json
            } else if format == "table" {
                Format::Table
            } else {
                return Err(Error::Other(format!(
                    "--format: {format:?} is not one of table, json"
                )));
            };
            let out = container::list::list(root, f)?;
            let _ = std::io::stdout().write_all(out.as_bytes());
            Ok(0)
        }
    }
}

fn create_opts(cli: &Cli, c: &args::CreateArgs) -> Result<CreateOpts, Error> {
    if cli.systemd_cgroup {
        return Err(Error::Other(
            "--systemd-cgroup: the systemd cgroup driver is not supported on this host (no systemd running); use the cgroupfs driver".into(),
        ));
    }
    let console = match &c.console_socket {
        Some(p) => Some(console::connect(Path::new(p))?),
        None => None,
    };
    Ok(CreateOpts {
        root: cli.root.clone(),
        id: c.id.clone(),
        bundle: c.bundle.clone(),
        console,
        pid_file: c.pid_file.clone(),
        no_pivot: c.no_pivot,
        no_new_keyring: c.no_new_keyring,
        preserve_fds: c.preserve_fds,
        systemd_cgroup: cli.systemd_cgroup,
    })
}
