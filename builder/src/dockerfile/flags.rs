//! Instruction flags (`--from=x`, `--link`, `--mount=...` repeated), checked
//! against what each instruction accepts, like BuildKit's BFlags.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `--x`, `--x=true|false`.
    Bool,
    /// `--x=value`, once.
    Str,
    /// `--x=value`, repeatable.
    List,
}

/// Flag values by name.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: HashMap<&'static str, Vec<String>>,
}

impl Flags {
    /// Checks `raw` (`--name[=value]` words) against `defs`.
    pub fn parse(raw: &[String], defs: &[(&'static str, Kind)]) -> Result<Flags, String> {
        let mut flags = Flags::default();
        for arg in raw {
            let Some(arg) = arg.strip_prefix("--") else {
                return Err(format!("arg should start with -- : {arg}"));
            };
            if arg.is_empty() {
                break;
            }
            let (name, value) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (arg, None),
            };
            let Some(&(key, kind)) = defs.iter().find(|(n, _)| *n == name) else {
                return Err(format!("unknown flag: --{name}"));
            };
            let slot = flags.values.entry(key).or_default();
            if !slot.is_empty() && kind != Kind::List {
                return Err(format!("duplicate flag specified: {name}"));
            }
            slot.push(value_of(name, kind, value)?);
        }
        Ok(flags)
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| v.last().cloned())
    }

    pub fn list(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    /// A bool flag's value; None when absent.
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.string(name).map(|v| v == "true")
    }
}

fn value_of(name: &str, kind: Kind, value: Option<&str>) -> Result<String, String> {
    match (kind, value) {
        (Kind::Bool, None) => Ok("true".into()),
        (Kind::Bool, Some("")) => Err(format!("missing a value on flag: {name}")),
        (Kind::Bool, Some(v)) => match v.to_ascii_lowercase().as_str() {
            b @ ("true" | "false") => Ok(b.to_string()),
            _ => Err(format!("expecting boolean value for flag {name}, not: {v}")),
        },
        (_, None) => Err(format!("missing a value on flag: {name}")),
        (_, Some(v)) => Ok(v.to_string()),
    }
}
