//! `builder unpack`, `mount` and `umount`.

use std::path::PathBuf;

use berth_builder::store::Store;

#[derive(clap::Args)]
pub struct UnpackArgs {
    image: String,
    /// The bundle dir (absent or empty): DIR/rootfs and DIR/config.json.
    dir: PathBuf,
    /// The command, in place of the image's CMD (as `docker run IMAGE CMD...`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

#[derive(clap::Args)]
pub struct MountArgs {
    image: String,
    /// Where the image's filesystem appears.
    dir: PathBuf,
}

#[derive(clap::Args)]
pub struct UmountArgs {
    dir: PathBuf,
}

pub fn unpack(store: &Store, a: UnpackArgs) -> anyhow::Result<i32> {
    let img = store.resolve(&a.image)?;
    let args = (!a.command.is_empty()).then_some(a.command);
    berth_builder::unpack::unpack(store, &img, &a.dir, args)?;
    Ok(0)
}

pub fn mount(store: &Store, a: MountArgs) -> anyhow::Result<i32> {
    let img = store.resolve(&a.image)?;
    let upper = berth_builder::unpack::mount(store, &img, &a.dir)?;
    println!("{}", upper.display());
    Ok(0)
}

pub fn umount(store: &Store, a: UmountArgs) -> anyhow::Result<i32> {
    berth_builder::unpack::umount(store, &a.dir)?;
    Ok(0)
}
