//! Parsing docker's option values: sizes, signals, restart policies, -v
//! specs, ulimits, env files, --since times. Each error names the value.

use std::path::{Path, PathBuf};

use crate::records::RestartPolicy;

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct BadValue(pub String);

type Result<T> = std::result::Result<T, BadValue>;

/// `128m`, `1g`, `512k`, `100b`, `1024` (bytes), as docker's RAMInBytes.
pub fn parse_bytes(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| BadValue(format!("invalid size: {s:?}")))?;
    Ok((n * mult as f64) as u64)
}

/// A signal by name (`TERM`, `SIGTERM`, `sigkill`) or number.
pub fn parse_signal(s: &str) -> Result<i32> {
    let bad = || BadValue(format!("invalid signal: {s}"));
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=64).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(rt) = name.strip_prefix("RTMIN") {
        let off: i32 = if rt.is_empty() {
            0
        } else {
            rt.strip_prefix('+')
                .and_then(|n| n.parse().ok())
                .ok_or_else(bad)?
        };
        return Ok(libc::SIGRTMIN() + off);
    }
    format!("SIG{name}")
        .parse::<nix::sys::signal::Signal>()
        .map(|s| s as i32)
        .map_err(|_| bad())
}

/// `no`, `always`, `unless-stopped`, `on-failure[:N]`.
pub fn parse_restart(s: &str) -> Result<RestartPolicy> {
    let (name, count) = match s.split_once(':') {
        Some((n, c)) => (n, Some(c)),
        None => (s, None),
    };
    let bad = |why: &str| BadValue(format!("invalid restart policy {s:?}: {why}"));
    match (name, count) {
        ("no" | "always" | "unless-stopped", None) | ("on-failure", None) => Ok(RestartPolicy {
            name: name.into(),
            maximum_retry_count: 0,
        }),
        ("on-failure", Some(c)) => Ok(RestartPolicy {
            name: name.into(),
            maximum_retry_count: c
                .parse()
                .map_err(|_| bad("the maximum retry count must be a number"))?,
        }),
        ("no" | "always" | "unless-stopped", Some(_)) => {
            Err(bad("a maximum retry count goes only with on-failure"))
        }
        _ => Err(bad("use no, always, unless-stopped or on-failure[:N]")),
    }
}

/// A bind mount from `-v SRC:DST[:ro|rw]` (SRC an absolute host path).
#[derive(Clone, Debug, PartialEq)]
pub struct Volume {
    pub source: PathBuf,
    pub destination: String,
    pub readonly: bool,
}

pub fn parse_volume(s: &str) -> Result<Volume> {
    let parts: Vec<&str> = s.split(':').collect();
    let bad = |why: &str| BadValue(format!("invalid volume specification {s:?}: {why}"));
    let (src, dst, mode) = match parts.as_slice() {
        [src, dst] => (*src, *dst, ""),
        [src, dst, mode] => (*src, *dst, *mode),
        [_] => {
            return Err(bad(
                "anonymous and named volumes come with the next release; use HOST:CONTAINER",
            ))
        }
        _ => return Err(bad("too many colons")),
    };
    if !src.starts_with('/') {
        return Err(bad(
            "named volumes come with the next release; the source must be an absolute host path",
        ));
    }
    if !dst.starts_with('/') {
        return Err(bad("the container path must be absolute"));
    }
    if dst == "/" {
        return Err(bad("the container path cannot be /"));
    }
    let mut readonly = false;
    for m in mode.split(',').filter(|m| !m.is_empty()) {
        match m {
            "ro" => readonly = true,
            "rw" => readonly = false,
            "z" | "Z" | "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" => {}
            other => return Err(bad(&format!("unknown mode {other:?}"))),
        }
    }
    if !Path::new(src).exists() {
        return Err(bad(&format!("{src} does not exist on the host")));
    }
    Ok(Volume {
        source: src.into(),
        destination: dst.into(),
        readonly,
    })
}

/// `--ulimit nofile=1024:2048` -> (RLIMIT_NOFILE, soft, hard).
pub fn parse_ulimit(s: &str) -> Result<(String, u64, u64)> {
    let bad = |why: &str| BadValue(format!("invalid ulimit {s:?}: {why}"));
    let (name, vals) = s
        .split_once('=')
        .ok_or_else(|| bad("use NAME=SOFT[:HARD]"))?;
    const NAMES: &[&str] = &[
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
        "as",
    ];
    if !NAMES.contains(&name) {
        return Err(bad(&format!("unknown limit {name:?}")));
    }
    let num = |v: &str| {
        if v == "-1" || v == "unlimited" {
            Ok(u64::MAX)
        } else {
            v.parse::<u64>()
                .map_err(|_| bad(&format!("{v:?} is not a number")))
        }
    };
    let (soft, hard) = match vals.split_once(':') {
        Some((s, h)) => (num(s)?, num(h)?),
        None => (num(vals)?, num(vals)?),
    };
    if soft > hard {
        return Err(bad("the soft limit is above the hard limit"));
    }
    Ok((format!("RLIMIT_{}", name.to_ascii_uppercase()), soft, hard))
}

/// An --env-file: KEY=VALUE lines; `#` comments and blank lines skipped; a
/// bare KEY takes the caller's value (or is left out when unset).
pub fn read_env_file(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadValue(format!("--env-file {}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let l = line.trim_start();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if l.contains(char::is_whitespace) && !l.contains('=') {
            return Err(BadValue(format!(
                "{}:{}: variable {l:?} contains whitespaces",
                path.display(),
                n + 1
            )));
        }
        out.extend(env_item(l));
    }
    Ok(out)
}

/// `-e K=V` as given, `-e K` from the caller's environment (or nothing).
pub fn env_item(item: &str) -> Option<String> {
    if item.contains('=') {
        return Some(item.to_string());
    }
    std::env::var(item).ok().map(|v| format!("{item}={v}"))
}

/// `--since`/`--until`: RFC 3339, a unix timestamp, or a duration before
/// now (`10m`, `1h30m`, `45s`); seconds since the epoch.
pub fn parse_time(s: &str) -> Result<i64> {
    if let Some(t) = berth_builder::clock::parse(s) {
        return Ok(t);
    }
    if let Ok(t) = s.split('.').next().unwrap_or("").parse::<i64>() {
        if !s.ends_with(['s', 'm', 'h']) {
            return Ok(t);
        }
    }
    let mut total = 0i64;
    let mut num = String::new();
    for c in s.chars() {
        match c {
            '0'..='9' => num.push(c),
            'h' | 'm' | 's' => {
                let n: i64 = num
                    .parse()
                    .map_err(|_| BadValue(format!("invalid time {s:?}")))?;
                total += n * match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                num.clear();
            }
            _ => return Err(BadValue(format!("invalid time {s:?}"))),
        }
    }
    if !num.is_empty() || s.is_empty() {
        return Err(BadValue(format!("invalid time {s:?}")));
    }
    Ok(berth_builder::clock::now().0 - total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_signals_and_policies() {
        assert_eq!(parse_bytes("128m").unwrap(), 128 << 20);
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("512kb").unwrap(), 512 << 10);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert!(parse_bytes("lots").is_err());
        assert_eq!(parse_signal("TERM").unwrap(), 15);
        assert_eq!(parse_signal("sigkill").unwrap(), 9);
        assert_eq!(parse_signal("1").unwrap(), 1);
        assert_eq!(parse_signal("HUP").unwrap(), 1);
        assert!(parse_signal("NOPE").unwrap_err().0.contains("NOPE"));
        assert!(parse_signal("99").is_err());
        assert_eq!(
            parse_restart("on-failure:5").unwrap().maximum_retry_count,
            5
        );
        assert_eq!(parse_restart("always").unwrap().name, "always");
        assert!(parse_restart("sometimes").is_err());
        assert!(parse_restart("always:3").is_err());
        assert!(parse_restart("on-failure:x").is_err());
    }

    #[test]
    fn volumes_ulimits_and_times() {
        let v = parse_volume("/tmp:/data:ro").unwrap();
        assert_eq!((v.destination.as_str(), v.readonly), ("/data", true));
        assert!(!parse_volume("/tmp:/data").unwrap().readonly);
        for bad in [
            "/tmp",
            "/tmp:data",
            "/tmp:/d:rx",
            "rel:/d",
            "/nonexistent-x:/d",
            "/a:/b:ro:x",
        ] {
            let e = parse_volume(bad).unwrap_err();
            assert!(e.0.contains(bad), "{e}");
        }
        assert_eq!(
            parse_ulimit("nofile=1024:2048").unwrap(),
            ("RLIMIT_NOFILE".into(), 1024, 2048)
        );
        assert!(parse_ulimit("nofile=9:1").is_err());
        assert!(parse_ulimit("bogus=1").is_err());
        let now = berth_builder::clock::now().0;
        assert!((parse_time("10m").unwrap() - (now - 600)).abs() <= 1);
        assert_eq!(parse_time("2026-01-01T00:00:00Z").unwrap(), 1_767_225_600);
        assert_eq!(parse_time("1767225600").unwrap(), 1_767_225_600);
        assert!(parse_time("soon").is_err());
    }
}
