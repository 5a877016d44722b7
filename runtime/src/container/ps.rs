//! `ps`: the container's processes, from its cgroup. `--format json` is the
//! JSON array of host pids containerd reads; table mode filters the rows of
//! the host's `ps` (default `ps -ef`) to those pids, as runc does.

use std::path::Path;
use std::process::Command;

use crate::{cgroups, Error, Result};

pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>> {
    let cg = {
        // Hold the container's lock only while reading its state.
        let (_dir, st, _status) = super::load(root, id)?;
        st.cgroup_path.clone()
    };
    let Some(cg) = cg else {
        return Ok(Vec::new());
    };
    let mut pids = cgroups::pids(&cg)?;
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

pub fn json(root: &Path, id: &str) -> Result<String> {
    let pids = pids(root, id)?;
    Ok(serde_json::to_string(&pids).unwrap_or_else(|_| "[]".into()))
}

/// `ps ARGS` on the host (default `-ef`), keeping the header and the rows
/// whose PID column is one of the container's pids.
pub fn table(root: &Path, id: &str, ps_args: &[String]) -> Result<String> {
    let pids = pids(root, id)?;
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Error::io("ps", e))?;
    if !out.status.success() {
        return Err(Error::Other(format!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    filter(&String::from_utf8_lossy(&out.stdout), &pids)
}

fn filter(text: &str, pids: &[i32]) -> Result<String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Error::Other("ps: its output has no PID column".into()))?;
    let mut out = format!("{header}\n");
    for l in lines {
        let pid = l.split_whitespace().nth(col).and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(l);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_by_pid_column() {
        let text = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 init\n\
                    root 42 1 0 10:00 ? 00:00:00 sleep 9\nroot 43 42 0 10:00 ? 00:00:00 sh\n";
        let out = super::filter(text, &[42]).unwrap();
        assert_eq!(
            out,
            "UID PID PPID C STIME TTY TIME CMD\nroot 42 1 0 10:00 ? 00:00:00 sleep 9\n"
        );
        assert!(super::filter("USER COMMAND\n", &[1]).is_err());
    }
}
