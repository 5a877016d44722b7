//! `builder images` and `builder tag`.

use serde_json::json;

use berth_builder::store::{Image, Store};

#[derive(clap::Args)]
pub struct Args {
    /// Only image ids.
    #[arg(short, long)]
    quiet: bool,
    /// Show the manifest digests.
    #[arg(long)]
    digests: bool,
    /// Full ids.
    #[arg(long)]
    no_trunc: bool,
    /// Also intermediate images (untagged parents of present images).
    #[arg(short, long)]
    all: bool,
    /// `json`: one JSON object per image and tag, as docker prints them.
    #[arg(long)]
    format: Option<String>,
    /// Only this repository (and tag).
    filter: Option<String>,
}

struct Row {
    repo: String,
    tag: String,
    id: String,
    digest: String,
    created: i64,
    size: u64,
}

/// Whether `img` is an intermediate image: untagged, and the parent of a
/// present image (docker lists those only with -a).
fn intermediate(img: &Image, images: &[Image]) -> bool {
    img.tags.is_empty()
        && images
            .iter()
            .any(|i| i.parent() == Some(img.id()) && i.id() != img.id())
}

fn rows(images: &[Image], all: bool) -> Vec<Row> {
    let mut out = Vec::new();
    for img in images {
        if !all && intermediate(img, images) {
            continue;
        }
        let created = img
            .config
            .created
            .as_deref()
            .and_then(berth_builder::clock::parse)
            .unwrap_or(0);
        let base = |repo: String, tag: String| Row {
            repo,
            tag,
            id: img.id().to_string(),
            digest: img.manifest_desc.digest.to_string(),
            created,
            size: img.blob_size(),
        };
        if img.tags.is_empty() {
            out.push(base("<none>".into(), "<none>".into()));
        }
        for t in &img.tags {
            let (r, tag) = t.rsplit_once(':').unwrap_or((t, "latest"));
            out.push(base(r.into(), tag.into()));
        }
    }
    out.sort_by(|a, b| {
        b.created
            .cmp(&a.created)
            .then(a.repo.cmp(&b.repo))
            .then(a.tag.cmp(&b.tag))
    });
    out
}

pub fn run(store: &Store, a: Args) -> anyhow::Result<i32> {
    let mut rows = rows(&store.images()?, a.all);
    if let Some(f) = &a.filter {
        let (repo, tag) = match f.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
            Some((r, t)) => (r.to_string(), Some(t.to_string())),
            None => (f.clone(), None),
        };
        rows.retain(|r| r.repo == repo && tag.as_ref().is_none_or(|t| *t == r.tag));
    }
    let short = |id: &str| {
        if a.no_trunc {
            id.to_string()
        } else {
            id.trim_start_matches("sha256:")[..12].to_string()
        }
    };
    if a.quiet {
        let mut seen = Vec::new();
        for r in &rows {
            let id = short(&r.id);
            if !seen.contains(&id) {
                println!("{id}");
                seen.push(id);
            }
        }
        return Ok(0);
    }
    if let Some(f) = &a.format {
        for r in &rows {
            let v = json!({
                "Containers": "N/A", "CreatedAt": berth_builder::clock::format(r.created, 0),
                "CreatedSince": berth_builder::clock::ago(r.created), "Digest": r.digest, "ID": short(&r.id),
                "Repository": r.repo, "SharedSize": "N/A", "Size": super::human_size(r.size), "Tag": r.tag,
                "UniqueSize": "N/A", "VirtualSize": super::human_size(r.size),
            });
            if f == "json" || f == "{{json .}}" {
                println!("{v}");
            } else {
                println!("{}", berth_builder::template::render(f, &v)?);
            }
        }
        return Ok(0);
    }
    let mut table = vec![];
    let mut head = vec!["REPOSITORY", "TAG"];
    if a.digests {
        head.push("DIGEST");
    }
    head.extend(["IMAGE ID", "CREATED", "SIZE"]);
    table.push(head.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    for r in &rows {
        let mut row = vec![r.repo.clone(), r.tag.clone()];
        if a.digests {
            row.push(r.digest.clone());
        }
        row.extend([
            short(&r.id),
            berth_builder::clock::ago(r.created),
            super::human_size(r.size),
        ]);
        table.push(row);
    }
    print_table(&table);
    Ok(0)
}

/// Columns padded to the widest cell plus three spaces, as docker's tabwriter.
pub fn print_table(rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}   ", w = widths[i]));
            }
        }
        println!("{}", line.trim_end());
    }
}

pub fn tag(store: &Store, source: &str, target: &str) -> anyhow::Result<i32> {
    let img = store.resolve(source)?;
    let t = super::tag_of(target)?;
    store.tag(&img, &t)?;
    Ok(0)
}
