//! `builder save`, `load` and `import`.

use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::path::PathBuf;

use anyhow::Context;
use clap::ValueEnum;

use berth_builder::archive::{self, Format};
use berth_builder::store::Store;

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Oci,
    Docker,
}

#[derive(clap::Args)]
pub struct SaveArgs {
    /// The archive to write (default: stdout, when it is not a terminal).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// oci (an OCI image layout in a tar) or docker (`docker load`'s own format).
    #[arg(long, value_enum, default_value = "oci")]
    format: FormatArg,
    #[arg(required = true)]
    images: Vec<String>,
}

#[derive(clap::Args)]
pub struct LoadArgs {
    /// The archive (default: stdin).
    #[arg(short, long)]
    input: Option<PathBuf>,
    #[arg(short, long)]
    quiet: bool,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// A rootfs tarball, or `-` for stdin.
    file: String,
    /// Name[:tag] of the new image.
    name: Option<String>,
    /// A Dockerfile instruction for the config: CMD, ENTRYPOINT, ENV,
    /// WORKDIR, USER or LABEL (repeatable), as `docker import -c`.
    #[arg(short = 'c', long = "change")]
    changes: Vec<String>,
}

pub fn save(store: &Store, a: SaveArgs) -> anyhow::Result<i32> {
    let mut images = Vec::new();
    for name in &a.images {
        let img = store.resolve(name)?;
        let tags = match berth_builder::reference::Reference::parse(name)
            .ok()
            .and_then(|r| r.tagged())
        {
            Some(t) if img.tags.contains(&t) => vec![t],
            _ => img.tags.clone(),
        };
        images.push((img, tags));
    }
    let format = match a.format {
        FormatArg::Oci => Format::Oci,
        FormatArg::Docker => Format::Docker,
    };
    match &a.output {
        Some(path) => archive::save(store, &images, format, path)?,
        None => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                anyhow::bail!(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                );
            }
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            archive::save_to(store, &images, format, &mut w)?;
        }
    }
    Ok(0)
}

pub fn load(store: &Store, a: LoadArgs) -> anyhow::Result<i32> {
    let names = match &a.input {
        Some(p) => {
            let f = File::open(p).with_context(|| format!("open {}", p.display()))?;
            let mut r =
                berth_builder::layer::decompress(Box::new(BufReader::with_capacity(1 << 20, f)))?;
            archive::load(store, &mut r)?
        }
        None => {
            let mut r =
                berth_builder::layer::decompress(Box::new(BufReader::new(std::io::stdin())))?;
            archive::load(store, &mut r)?
        }
    };
    if !a.quiet {
        for n in names {
            if n.starts_with("sha256:") {
                println!("Loaded image ID: {n}");
            } else {
                println!("Loaded image: {n}");
            }
        }
    }
    Ok(0)
}

pub fn import(store: &Store, a: ImportArgs) -> anyhow::Result<i32> {
    let tags = a
        .name
        .iter()
        .map(|n| super::tag_of(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let img = if a.file == "-" {
        let mut r = BufReader::new(std::io::stdin());
        archive::import(store, &mut r, &tags, "-", &a.changes)?
    } else {
        let f = File::open(&a.file).with_context(|| format!("open {}", a.file))?;
        let mut r = BufReader::with_capacity(1 << 20, f);
        archive::import(store, &mut r, &tags, &a.file, &a.changes)?
    };
    println!("{}", img.id());
    Ok(0)
}
