//! `builder inspect`: docker's image inspect JSON (Id, RepoTags,
//! RepoDigests, Created, Author, Config, Architecture, Os, Size, RootFS,
//! History) plus the OCI Manifest; -f renders a template per image.

use serde_json::{json, Value};

use berth_builder::store::{Image, Store};

#[derive(clap::Args)]
pub struct Args {
    /// A Go-template-like format: '{{.Config.Env}}', '{{json .Config}}'.
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    images: Vec<String>,
}

pub fn view(img: &Image) -> Value {
    let c = &img.config;
    let repo_digests: Vec<String> = img
        .tags
        .iter()
        .map(|t| {
            format!(
                "{}@{}",
                t.rsplit_once(':').map_or(t.as_str(), |(r, _)| r),
                img.manifest_desc.digest
            )
        })
        .collect();
    json!({
        "Id": img.id().to_string(),
        "RepoTags": img.tags,
        "RepoDigests": repo_digests,
        "Parent": img.parent().map(|p| p.to_string()).unwrap_or_default(),
        "Comment": "buildkit.dockerfile.v0",
        "Created": c.created.clone().unwrap_or_default(),
        "Author": c.author.clone().unwrap_or_default(),
        "Config": serde_json::to_value(&c.config).unwrap_or(Value::Null),
        "Architecture": c.architecture,
        "Os": c.os,
        "Size": img.blob_size(),
        "RootFS": {"Type": c.rootfs.kind, "Layers": c.rootfs.diff_ids},
        "History": c.history,
        "Manifest": img.manifest,
        "Descriptor": img.manifest_desc,
    })
}

pub fn run(store: &Store, a: Args) -> anyhow::Result<i32> {
    let mut views = Vec::new();
    let mut failed = false;
    for name in &a.images {
        match store.resolve(name) {
            Ok(img) => views.push(view(&img)),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    match &a.format {
        Some(f) => {
            for v in &views {
                println!("{}", berth_builder::template::render(f, v)?);
            }
        }
        None => println!("{}", serde_json::to_string_pretty(&views)?),
    }
    Ok(if failed { 1 } else { 0 })
}
