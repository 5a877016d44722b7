//! `RUN --mount=type=...,key=value,...`: a CSV record of keys, as BuildKit
//! parses it. Values are not expanded; numeric values holding `$` are left
//! for the solver (see [`RunMount::spec`]).

use super::{MountKind, RunMount};

/// Parses one `--mount` value.
pub fn parse_mount(spec: &str) -> Result<RunMount, String> {
    let mut m = RunMount {
        kind: MountKind::Bind,
        target: None,
        source: None,
        from: None,
        readonly: true,
        id: None,
        sharing: None,
        mode: None,
        uid: None,
        gid: None,
        size: None,
        required: false,
        env: None,
        spec: spec.to_string(),
    };
    let mut ro_auto = true;
    for field in csv_fields(spec)? {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (field.to_ascii_lowercase(), None),
        };
        if matches!(key.as_str(), "ro" | "readonly" | "rw" | "readwrite") {
            ro_auto = false;
        }
        match value {
            None => flag_key(&mut m, &key, &field)?,
            Some(v) => value_key(&mut m, &key, v, &field)?,
        }
    }
    if ro_auto {
        m.readonly = !matches!(m.kind, MountKind::Cache | MountKind::Tmpfs);
    }
    check(&m)?;
    Ok(m)
}

fn kind_name(k: MountKind) -> &'static str {
    match k {
        MountKind::Bind => "bind",
        MountKind::Cache => "cache",
        MountKind::Tmpfs => "tmpfs",
        MountKind::Secret => "secret",
        MountKind::Ssh => "ssh",
    }
}

fn unexpected_for(key: &str, m: &RunMount) -> String {
    format!(
        "unexpected key '{key}' for mount type '{}'",
        kind_name(m.kind)
    )
}

/// A key without `=`.
fn flag_key(m: &mut RunMount, key: &str, field: &str) -> Result<(), String> {
    match key {
        "readonly" | "ro" => m.readonly = true,
        "readwrite" | "rw" => m.readonly = false,
        "required" if matches!(m.kind, MountKind::Secret | MountKind::Ssh) => m.required = true,
        "required" => return Err(unexpected_for(key, m)),
        _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
    }
    Ok(())
}

fn value_key(m: &mut RunMount, key: &str, value: &str, field: &str) -> Result<(), String> {
    let deferred = value.contains('$');
    match key {
        "type" => m.kind = kind(value)?,
        "from" if deferred => {
            return Err(format!(
                "'{key}' doesn't support variable expansion, define alias stage instead"
            ))
        }
        "from" => m.from = Some(value.into()),
        "source" | "src" => m.source = Some(value.into()),
        "target" | "dst" | "destination" => m.target = Some(value.into()),
        "readonly" | "ro" => m.readonly = parse_bool(key, value)?,
        "readwrite" | "rw" => m.readonly = !parse_bool(key, value)?,
        "required" if matches!(m.kind, MountKind::Secret | MountKind::Ssh) => {
            m.required = parse_bool(key, value)?
        }
        "required" => return Err(unexpected_for(key, m)),
        "id" => m.id = Some(value.into()),
        "sharing" => m.sharing = Some(sharing(value, deferred)?),
        "mode" | "uid" | "gid" if deferred => {}
        "mode" => m.mode = Some(number(key, value, 8)?),
        "uid" => m.uid = Some(number(key, value, 10)?),
        "gid" => m.gid = Some(number(key, value, 10)?),
        "size" if m.kind != MountKind::Tmpfs => return Err(unexpected_for(key, m)),
        "size" if deferred => {}
        "size" => m.size = Some(ram_in_bytes(value)?),
        "env" if m.kind != MountKind::Secret => return Err(unexpected_for(key, m)),
        "env" => m.env = Some(value.into()),
        _ => return Err(format!("unexpected key '{key}' in '{field}'")),
    }
    Ok(())
}

fn kind(value: &str) -> Result<MountKind, String> {
    Ok(match value.to_ascii_lowercase().as_str() {
        "bind" => MountKind::Bind,
        "cache" => MountKind::Cache,
        "tmpfs" => MountKind::Tmpfs,
        "secret" => MountKind::Secret,
        "ssh" => MountKind::Ssh,
        _ => return Err(format!("unsupported mount type {value:?}")),
    })
}

fn sharing(value: &str, deferred: bool) -> Result<String, String> {
    let lower = value.to_ascii_lowercase();
    match lower.as_str() {
        "shared" | "private" | "locked" => Ok(lower),
        _ if deferred => Ok(value.to_string()),
        _ => Err(format!("unsupported sharing value {value:?}")),
    }
}

/// Go's strconv.ParseBool.
fn parse_bool(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("invalid value for {key}: {value}")),
    }
}

fn number(key: &str, value: &str, radix: u32) -> Result<u32, String> {
    u32::from_str_radix(value, radix).map_err(|_| format!("invalid value {value} for {key}"))
}

/// go-units RAMInBytes: `64m`, `1g`, `1.5GiB`, `512` (bytes); powers of 1024.
fn ram_in_bytes(value: &str) -> Result<u64, String> {
    let bad = || format!("invalid size: '{value}'");
    let num_len = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (num, unit) = value.split_at(num_len);
    let number: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let power = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return Err(bad()),
    };
    let bytes = number * 1024f64.powi(power);
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(bad());
    }
    // Truncation is what go-units does (int64(size * multiplier)).
    Ok(bytes as u64)
}

/// Checks across keys, after all are read.
fn check(m: &RunMount) -> Result<(), String> {
    let t = kind_name(m.kind);
    let file_info = matches!(
        m.kind,
        MountKind::Secret | MountKind::Ssh | MountKind::Cache
    );
    for (key, set) in [
        ("mode", m.mode.is_some()),
        ("uid", m.uid.is_some()),
        ("gid", m.gid.is_some()),
    ] {
        if set && !file_info {
            return Err(format!("{key} not allowed for {t:?} type mounts"));
        }
    }
    if m.sharing.is_some() && m.kind != MountKind::Cache {
        return Err(format!("invalid cache sharing set for {t} mount"));
    }
    if m.kind == MountKind::Secret {
        if m.from.is_some() {
            return Err("secret mount should not have a from".into());
        }
        if m.source.is_none() && m.target.is_none() && m.id.is_none() && m.env.is_none() {
            return Err("invalid secret mount. one of source, target required".into());
        }
        if m.source.is_some() && m.id.is_some() {
            return Err("both source and id can't be set".into());
        }
    }
    Ok(())
}

/// One CSV record (Go's encoding/csv): commas split, `"..."` quotes a field,
/// `""` inside quotes is a quote.
fn csv_fields(s: &str) -> Result<Vec<String>, String> {
    let bad = |why: &str| format!("failed to parse csv mounts: {why}");
    let mut fields = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(bad("extraneous or missing \" in quoted-field")),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            if !matches!(chars.peek(), None | Some(',')) {
                return Err(bad("extraneous or missing \" in quoted-field"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '"' {
                    return Err(bad("bare \" in non-quoted-field"));
                }
                field.push(c);
                chars.next();
            }
        }
        fields.push(field);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}
