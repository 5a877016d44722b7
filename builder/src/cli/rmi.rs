//! `builder rmi`: untags; deletes the image when no tag is left. An id that
//! several tags name needs -f; an image that is the parent of a present
//! image is kept (docker's "image has dependent child images").

use berth_builder::store::Store;

#[derive(clap::Args)]
pub struct Args {
    /// Remove an image that several tags name, by id.
    #[arg(short, long)]
    force: bool,
    #[arg(required = true)]
    images: Vec<String>,
}

pub fn run(store: &Store, a: Args) -> anyhow::Result<i32> {
    let mut failed = false;
    for name in &a.images {
        if let Err(e) = remove(store, name, a.force) {
            eprintln!("Error response: {e}");
            failed = true;
        }
    }
    // Layers nothing else needs go now; the build cache keeps its own.
    let _ = store.collect(false);
    Ok(if failed { 1 } else { 0 })
}

fn remove(store: &Store, name: &str, force: bool) -> anyhow::Result<()> {
    let img = store.resolve(name)?;
    let by_tag = berth_builder::reference::Reference::parse(name)
        .ok()
        .and_then(|r| r.tagged())
        .filter(|t| img.tags.contains(t));
    let children = store
        .images()?
        .into_iter()
        .filter(|i| i.parent() == Some(img.id()) && i.id() != img.id())
        .count();
    match by_tag {
        Some(tag) if img.tags.len() > 1 => {
            store.untag(&tag)?;
            println!("Untagged: {tag}");
        }
        _ => {
            if img.tags.len() > 1 && !force {
                anyhow::bail!(
                    "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                    img.id().short()
                );
            }
            if children > 0 && !force {
                anyhow::bail!(
                    "conflict: unable to delete {} (cannot be forced) - image has dependent child images",
                    img.id().short()
                );
            }
            for t in &img.tags {
                println!("Untagged: {t}");
            }
            store.remove_image(&img)?;
            println!("Deleted: {}", img.id());
        }
    }
    Ok(())
}
