//! `ps`: docker's container table (or ids, or JSON lines, or a template)
//! from the records and states on disk; newest first.

use std::collections::BTreeMap;

use clap::Args;
use serde_json::{json, Value};

use super::{Ctx, Outcome};
use crate::records::{Record, State, Status};
use berth_builder::clock;

#[derive(Args)]
pub struct PsArgs {
    /// Show every container (default: running ones).
    #[arg(short, long)]
    all: bool,
    /// Only ids.
    #[arg(short, long)]
    quiet: bool,
    /// The last N created containers (any state).
    #[arg(short = 'n', long)]
    last: Option<usize>,
    /// The latest created container (any state).
    #[arg(short, long)]
    latest: bool,
    #[arg(long)]
    no_trunc: bool,
    /// status=, name=, label=K[=V], id=, exited=N.
    #[arg(short, long)]
    filter: Vec<String>,
    /// json, table, or a Go template ({{.Names}}, {{.Status}} ...).
    #[arg(long)]
    format: Option<String>,
}

/// docker's STATUS column.
pub fn status_text(s: &State) -> String {
    let since =
        |t: &str| clock::parse(t).map_or_else(|| "?".into(), |t| clock::human(clock::now().0 - t));
    match s.status {
        Status::Created => "Created".into(),
        Status::Running | Status::Paused => {
            let mut t = format!("Up {}", since(&s.started_at));
            if s.status == Status::Paused {
                t.push_str(" (Paused)");
            }
            if !s.error.is_empty() {
                t.push_str(" (monitor gone)");
            }
            t
        }
        Status::Restarting => format!("Restarting ({}) {} ago", s.exit_code, since(&s.finished_at)),
        Status::Exited => format!("Exited ({}) {} ago", s.exit_code, since(&s.finished_at)),
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
    }
}

/// The COMMAND column as docker prints it: the argv shell-quoted, cut to
/// 20 characters unless told, in double quotes.
fn command(r: &Record, no_trunc: bool) -> String {
    let cmd = r
        .args
        .iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    let cmd = if no_trunc || cmd.chars().count() <= 20 {
        cmd
    } else {
        cmd.chars().take(19).chain(['…']).collect()
    };
    serde_json::to_string(&cmd).expect("a string serializes")
}

/// An argument as a shell reads it back: as is when it is plain, else in
/// single quotes.
fn shell_quote(a: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !a.is_empty() && a.chars().all(plain) {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\"'\"'"))
    }
}

/// docker's CreatedAt: Go's time.String in UTC.
fn created_at(rfc3339: &str) -> String {
    let secs = clock::parse(rfc3339).unwrap_or(0);
    let t = clock::format(secs, 0);
    format!("{} +0000 UTC", t.get(..19).unwrap_or(&t).replace('T', " "))
}

fn matches(r: &Record, s: &State, filters: &[(String, String)]) -> anyhow::Result<bool> {
    // Same key: any value matches (or); different keys: all must (and).
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in filters {
        by_key.entry(k.as_str()).or_default().push(v.as_str());
    }
    for (k, vals) in by_key {
        let ok = vals.iter().any(|v| match k {
            "status" => s.status.as_str() == *v,
            "name" => r.name.contains(v),
            "id" => r.id.starts_with(v),
            "exited" => s.status == Status::Exited && s.exit_code.to_string() == *v,
            "ancestor" => r.image == *v || r.image_id.contains(v),
            "label" => match v.split_once('=') {
                Some((lk, lv)) => r.config.labels.get(lk).is_some_and(|x| x == lv),
                None => r.config.labels.contains_key(*v),
            },
            _ => false,
        });
        if !matches!(
            k,
            "status" | "name" | "id" | "exited" | "ancestor" | "label"
        ) {
            anyhow::bail!("invalid filter {k:?}: use status, name, id, label, exited or ancestor");
        }
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The fields docker's --format sees.
fn row(r: &Record, s: &State, no_trunc: bool) -> Value {
    let id = if no_trunc {
        r.id.clone()
    } else {
        r.id[..12].to_string()
    };
    let created = clock::parse(&r.created).unwrap_or(0);
    let labels: Vec<String> = r
        .config
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    json!({
        "Command": command(r, no_trunc),
        "CreatedAt": created_at(&r.created),
        "ID": id,
        "Image": if r.image.is_empty() { "(bundle)".to_string() } else { r.image.clone() },
        "Labels": labels.join(","),
        "LocalVolumes": "0",
        "Mounts": r.host.binds.iter().map(|b| b.split(':').next().unwrap_or("")).collect::<Vec<_>>().join(","),
        "Names": r.name,
        "Networks": r.host.network_mode,
        "Platform": null,
        "Ports": "",
        "RunningFor": clock::ago(created),
        "Size": "0B",
        "State": s.status.as_str(),
        "Status": status_text(s),
    })
}

pub fn ps(ctx: &Ctx, a: PsArgs) -> Outcome {
    let filters: Vec<(String, String)> = a
        .filter
        .iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value): {f}"))
        })
        .collect::<Result<_, _>>()?;
    let mut all = ctx.root.all()?;
    all.sort_by(|a, b| b.0.created.cmp(&a.0.created));
    let limit = if a.latest { Some(1) } else { a.last };
    let show_all = a.all || limit.is_some() || filters.iter().any(|(k, _)| k == "status");
    let mut rows = Vec::new();
    for (r, s) in &all {
        if !show_all && !s.status.is_live() {
            continue;
        }
        if !matches(r, s, &filters)? {
            continue;
        }
        rows.push((r, s));
    }
    if let Some(n) = limit {
        rows.truncate(n);
    }
    let mut out = String::new();
    if a.quiet {
        for (r, _) in &rows {
            let id = if a.no_trunc { &r.id[..] } else { &r.id[..12] };
            out.push_str(id);
            out.push('\n');
        }
    } else {
        match a.format.as_deref() {
            Some("json") => {
                for (r, s) in &rows {
                    out.push_str(&row(r, s, a.no_trunc).to_string());
                    out.push('\n');
                }
            }
            Some(f) if f != "table" => {
                let f = f.strip_prefix("table ").unwrap_or(f);
                for (r, s) in &rows {
                    out.push_str(&berth_builder::template::render(f, &row(r, s, a.no_trunc))?);
                    out.push('\n');
                }
            }
            _ => out = table(&rows, a.no_trunc),
        }
    }
    print!("{out}");
    Ok(0)
}

const HEADERS: [&str; 7] = [
    "CONTAINER ID",
    "IMAGE",
    "COMMAND",
    "CREATED",
    "STATUS",
    "PORTS",
    "NAMES",
];

fn table(rows: &[(&Record, &State)], no_trunc: bool) -> String {
    let mut cells: Vec<Vec<String>> = vec![HEADERS.iter().map(|h| h.to_string()).collect()];
    for (r, s) in rows {
        let v = row(r, s, no_trunc);
        let get = |k: &str| v[k].as_str().unwrap_or("").to_string();
        cells.push(vec![
            get("ID"),
            get("Image"),
            get("Command"),
            get("RunningFor"),
            get("Status"),
            get("Ports"),
            get("Names"),
        ]);
    }
    render_table(&cells)
}

/// Columns padded to their widest cell plus three spaces, as docker's
/// tabwriter does; the last column unpadded.
pub fn render_table(cells: &[Vec<String>]) -> String {
    let cols = cells.first().map_or(0, Vec::len);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in cells {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < cols {
                let pad = width[c] - cell.chars().count() + 3;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_dockers() {
        let now = clock::now().0;
        let t = |ago: i64| clock::format(now - ago, 0);
        let s = |status, started: i64, finished: i64, code| State {
            status,
            started_at: t(started),
            finished_at: t(finished),
            exit_code: code,
            ..Default::default()
        };
        assert_eq!(status_text(&s(Status::Running, 180, 0, 0)), "Up 3 minutes");
        assert_eq!(
            status_text(&s(Status::Exited, 300, 120, 0)),
            "Exited (0) 2 minutes ago"
        );
        assert_eq!(
            status_text(&s(Status::Restarting, 5, 5, 1)),
            "Restarting (1) 5 seconds ago"
        );
        assert_eq!(
            status_text(&s(Status::Paused, 7200, 0, 0)),
            "Up 2 hours (Paused)"
        );
        assert_eq!(status_text(&State::default()), "Created");
        let r = Record {
            args: vec![
                "sh".into(),
                "-c".into(),
                "while true; do echo hi; done".into(),
            ],
            ..Default::default()
        };
        // Shell-quoted, then cut, as docker's CLI does.
        assert_eq!(command(&r, false), "\"sh -c 'while true; …\"");
        assert_eq!(shell_quote("it's"), "'it'\"'\"'s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("/bin/sh"), "/bin/sh");
        let cells = vec![
            vec!["A".to_string(), "BB".into()],
            vec!["CCCC".into(), "D".into()],
        ];
        assert_eq!(render_table(&cells), "A      BB\nCCCC   D\n");
    }
}
