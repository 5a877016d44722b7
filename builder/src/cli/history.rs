//! `builder history`: one row per instruction, newest first, the image id
//! on the top row and `<missing>` below (as docker shows BuildKit images).

use serde_json::json;

use berth_builder::store::Store;

#[derive(clap::Args)]
pub struct Args {
    /// Do not truncate CREATED BY.
    #[arg(long)]
    no_trunc: bool,
    /// Only the ids.
    #[arg(short, long)]
    quiet: bool,
    /// `json`: one object per row.
    #[arg(long)]
    format: Option<String>,
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set)]
    human: bool,
    image: String,
}

pub fn run(store: &Store, a: Args) -> anyhow::Result<i32> {
    let img = store.resolve(&a.image)?;
    let mut layers = img.manifest.layers.iter();
    let mut rows = Vec::new();
    for h in &img.config.history {
        let size = if h.empty_layer {
            0
        } else {
            layers.next().map_or(0, |l| l.size)
        };
        rows.push((h, size));
    }
    rows.reverse();
    let id = if a.no_trunc {
        img.id().to_string()
    } else {
        img.id().short()
    };
    if a.quiet {
        for (i, _) in rows.iter().enumerate() {
            println!("{}", if i == 0 { id.as_str() } else { "<missing>" });
        }
        return Ok(0);
    }
    let mut table = vec![["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
        .map(String::from)
        .to_vec()];
    for (i, (h, size)) in rows.iter().enumerate() {
        let created = h
            .created
            .as_deref()
            .and_then(berth_builder::clock::parse)
            .unwrap_or(0);
        let by = h.created_by.clone().unwrap_or_default();
        let by = if a.no_trunc { by } else { truncate(&by, 45) };
        let shown_id = if i == 0 {
            id.clone()
        } else {
            "<missing>".into()
        };
        let size_s = if a.human {
            super::human_size(*size)
        } else {
            size.to_string()
        };
        if let Some(f) = &a.format {
            let v = json!({"ID": shown_id, "CreatedAt": h.created, "CreatedSince": berth_builder::clock::ago(created),
                           "CreatedBy": by, "Size": size_s, "Comment": h.comment.clone().unwrap_or_default()});
            if f == "json" || f == "{{json .}}" {
                println!("{v}");
            } else {
                println!("{}", berth_builder::template::render(f, &v)?);
            }
            continue;
        }
        table.push(vec![
            shown_id,
            berth_builder::clock::ago(created),
            by,
            size_s,
            h.comment.clone().unwrap_or_default(),
        ]);
    }
    if a.format.is_none() {
        super::images::print_table(&table);
    }
    Ok(0)
}

fn truncate(s: &str, n: usize) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() <= n {
        return s;
    }
    let mut t: String = s.chars().take(n - 1).collect();
    t.push('…');
    t
}
