//! The command line: docker's image verbs with docker's flags. One file per
//! verb; errors end here as one line and a non-zero exit.

mod build;
mod history;
mod images;
mod inspect;
mod prune;
mod rmi;
mod transfer;
mod unpack;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use berth_builder::store::{Store, DEFAULT_ROOT};

#[derive(Parser)]
#[command(
    name = "builder",
    version,
    about = "Berth's image builder: Dockerfile -> OCI image, no daemon"
)]
pub struct Cli {
    /// The image store (an OCI image layout plus unpacked layers and the build cache).
    #[arg(long, global = true, default_value = DEFAULT_ROOT)]
    root: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build an image from a Dockerfile and a context (a dir, `-`, or a git URL).
    Build(Box<build::Args>),
    /// List images.
    Images(images::Args),
    /// Give an image another name: SOURCE TARGET.
    Tag { source: String, target: String },
    /// Remove images (untag; delete when no tag is left).
    Rmi(rmi::Args),
    /// Show the history of an image.
    History(history::Args),
    /// Print image config and manifest as JSON.
    Inspect(inspect::Args),
    /// Remove dangling images, unreferenced content and (with -a) the build cache.
    Prune(prune::Args),
    /// Write images to an OCI archive (or a docker archive with --format docker).
    Save(transfer::SaveArgs),
    /// Load images from an OCI or docker archive (plain or gzip'd).
    Load(transfer::LoadArgs),
    /// Make an image from a flat rootfs tarball (as docker import).
    Import(transfer::ImportArgs),
    /// Write an OCI runtime bundle (rootfs + config.json) of an image.
    Unpack(unpack::UnpackArgs),
    /// Mount an image (its layers, a fresh upper dir) at DIR without copying.
    Mount(unpack::MountArgs),
    /// Unmount what `mount` mounted, and remove its upper dir.
    Umount(unpack::UmountArgs),
}

pub fn main() -> i32 {
    let cli = Cli::parse();
    // A build's overlays live in a mount namespace of its own: set it up
    // before any thread exists.
    if let Cmd::Build(_) = cli.command {
        if let Err(e) = berth_builder::snapshot::private_mount_namespace() {
            eprintln!("error: {e}");
            return 1;
        }
        berth_builder::solver::install_interrupt_handler();
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_line(&chain(&e)));
            if berth_builder::solver::interrupted() {
                130
            } else {
                1
            }
        }
    }
}

/// The error and its causes, each said once (a library error often
/// already names its cause in its own message).
fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if !out.contains(&c) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&c);
        }
    }
    out
}

/// Keeps the error on one line where it carries several.
fn one_line(s: &str) -> String {
    s.trim_end().to_string()
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let open = || Store::open(&cli.root);
    match cli.command {
        Cmd::Build(a) => build::run(&cli.root, *a),
        Cmd::Images(a) => images::run(&open()?, a),
        Cmd::Tag { source, target } => images::tag(&open()?, &source, &target),
        Cmd::Rmi(a) => rmi::run(&open()?, a),
        Cmd::History(a) => history::run(&open()?, a),
        Cmd::Inspect(a) => inspect::run(&open()?, a),
        Cmd::Prune(a) => prune::run(&open()?, a),
        Cmd::Save(a) => transfer::save(&open()?, a),
        Cmd::Load(a) => transfer::load(&open()?, a),
        Cmd::Import(a) => transfer::import(&open()?, a),
        Cmd::Unpack(a) => unpack::unpack(&open()?, a),
        Cmd::Mount(a) => unpack::mount(&open()?, a),
        Cmd::Umount(a) => unpack::umount(&open()?, a),
    }
}

/// Docker's sizes: decimal units, three significant digits (`1.23MB`).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let s = format!("{v:.4}");
    let digits: String = {
        let prec = if v >= 100.0 {
            0
        } else if v >= 10.0 {
            1
        } else {
            2
        };
        let t = format!("{v:.prec$}");
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t
        }
    };
    let _ = s;
    format!("{digits}{}", UNITS[i])
}

/// A familiar tag from user input (`web` -> `web:latest`), refused when bad.
pub fn tag_of(text: &str) -> anyhow::Result<String> {
    let r = berth_builder::reference::Reference::parse(text)?;
    if r.digest.is_some() {
        anyhow::bail!("refusing to create a tag with a digest reference: {text}");
    }
    Ok(r.tagged().expect("parse adds latest"))
}
