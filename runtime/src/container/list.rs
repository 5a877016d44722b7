//! `list` and `state`: what runc prints, from the state dirs and the kernel.

use std::path::Path;

use crate::state::{self, Status};
use crate::Result;

pub fn state_json(root: &Path, id: &str) -> Result<String> {
    let (_dir, st, status) = super::load(root, id)?;
    Ok(serde_json::to_string_pretty(&st.report(status)).unwrap_or_default())
}

pub enum Format {
    Table,
    Json,
    Quiet,
}

pub fn list(root: &Path, format: Format) -> Result<String> {
    let mut rows = Vec::new();
    for id in state::list_ids(root)? {
        // A container deleted meanwhile is simply not listed.
        if let Ok((_dir, st, status)) = super::load(root, &id) {
            rows.push((st, status));
        }
    }
    Ok(match format {
        Format::Quiet => rows.iter().map(|(s, _)| format!("{}\n", s.id)).collect(),
        Format::Json => {
            let v: Vec<_> = rows.iter().map(|(s, st)| s.report(*st)).collect();
            serde_json::to_string(&v).unwrap_or_default() + "\n"
        }
        Format::Table => table(&rows),
    })
}

fn table(rows: &[(state::State, Status)]) -> String {
    let mut lines = vec![[
        "ID".to_string(),
        "PID".into(),
        "STATUS".into(),
        "BUNDLE".into(),
        "CREATED".into(),
        "OWNER".into(),
    ]];
    for (s, status) in rows {
        let pid = if *status == Status::Stopped { 0 } else { s.pid };
        lines.push([
            s.id.clone(),
            pid.to_string(),
            status.to_string(),
            s.bundle.display().to_string(),
            s.created.clone(),
            "root".into(),
        ]);
    }
    let mut width = [0usize; 6];
    for l in &lines {
        for (i, c) in l.iter().enumerate() {
            width[i] = width[i].max(c.len());
        }
    }
    let mut out = String::new();
    for l in &lines {
        for (i, c) in l.iter().enumerate() {
            if i == 5 {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}", w = width[i] + 3));
            }
        }
        out.push('\n');
    }
    out
}
