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
            eprintln!("error: {e}");
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
    let has_child = !store.children(&img)?.is_empty();
    if let Some(holder) = store.holders(&img).first().filter(|_| !force) {
        anyhow::bail!(
            "conflict: unable to remove repository reference \"{name}\" (must force) - {} is using its referenced image {}",
            holder.replace('-', " "),
            img.id().short()
        );
    }
    match by_tag {
        // By tag: the tag goes; the image stays while another tag or a
        // child needs it (docker keeps such a parent as an intermediate).
        Some(tag) => {
            store.untag(&tag)?;
            println!("Untagged: {tag}");
            if img.tags.len() > 1 || has_child {
                return Ok(());
            }
        }
        None if has_child => anyhow::bail!(
            "conflict: unable to delete {} (cannot be forced) - image has dependent child images",
            img.id().short()
        ),
        None if img.tags.len() > 1 && !force => anyhow::bail!(
            "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
            img.id().short()
        ),
        None => {
            for t in &img.tags {
                println!("Untagged: {t}");
            }
        }
    }
    store.remove_image(&img)?;
    println!("Deleted: {}", img.id());
    Ok(())
}
