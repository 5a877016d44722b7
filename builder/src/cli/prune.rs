//! `builder prune`: dangling images (untagged, no child) go, then every blob
//! and layer dir nothing names; with -a the build cache first.

use berth_builder::store::Store;

#[derive(clap::Args)]
pub struct Args {
    /// Also drop the build cache.
    #[arg(short, long)]
    all: bool,
    /// Do not ask (there is no prompt; accepted for docker's sake).
    #[arg(short, long)]
    force: bool,
}

pub fn run(store: &Store, a: Args) -> anyhow::Result<i32> {
    let images = store.images()?;
    let mut removed = 0;
    for img in &images {
        let has_child = images
            .iter()
            .any(|i| i.parent() == Some(img.id()) && i.id() != img.id());
        if img.tags.is_empty() && !has_child && store.holders(img).is_empty() {
            store.remove_image(img)?;
            println!("deleted: {}", img.id());
            removed += 1;
        }
    }
    let c = store.collect(a.all)?;
    if !c.ran {
        eprintln!(
            "a build is running on this store: unreferenced content is kept until the next prune"
        );
    }
    println!(
        "Deleted Images: {removed}, blobs: {}, layer dirs: {}\nTotal reclaimed space: {}",
        c.blobs.len(),
        c.layer_dirs,
        super::human_size(c.bytes)
    );
    Ok(0)
}
