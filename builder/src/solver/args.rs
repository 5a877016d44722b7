//! Build args: the global ones (before the first FROM), each stage's
//! declared ones, --build-arg values, the predefined proxy args (passed to
//! RUN but kept out of history and the cache key) and the platform args.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::graph::Plan;
use super::stage::BuildEnv;
use super::{BuildError, Result};
use crate::expand::{Lexer, Vars};

pub const PROXY_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Names and values of the automatic platform args (host = target here).
pub fn platform_args() -> Vec<(String, String)> {
    let p = crate::image::host_platform();
    let plat = format!("{}/{}", p.os, p.architecture);
    let mut out = Vec::new();
    for side in ["TARGET", "BUILD"] {
        out.push((format!("{side}PLATFORM"), plat.clone()));
        out.push((format!("{side}OS"), p.os.clone()));
        out.push((format!("{side}ARCH"), p.architecture.clone()));
        out.push((format!("{side}VARIANT"), String::new()));
    }
    out
}

/// Variables from a map.
pub struct MapVars<'a>(pub &'a BTreeMap<String, String>);

impl Vars for MapVars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// A --build-arg's value: `K=V`, or `K` alone takes the caller's env.
pub fn given(env: &BuildEnv, name: &str) -> Option<String> {
    let (_, v) = env.opts.build_args.iter().rev().find(|(k, _)| k == name)?;
    match v {
        Some(v) => Some(v.clone()),
        None => std::env::var(name).ok(),
    }
}

static CONSUMED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

pub fn consume(name: &str) {
    CONSUMED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(name.to_string());
}

/// The global args, expanded in order, with --build-arg values applied.
pub fn meta_args(env: &BuildEnv) -> Result<BTreeMap<String, String>> {
    let mut vals: BTreeMap<String, String> = platform_args().into_iter().collect();
    let lexer = Lexer::new(env.file.escape);
    for a in &env.file.meta_args {
        let v = match given(env, &a.name) {
            Some(v) => {
                consume(&a.name);
                Some(v)
            }
            None => match &a.default {
                Some(d) => Some(
                    lexer
                        .word(d, &MapVars(&vals))
                        .map_err(|e| {
                            BuildError::Usage(format!("{}: ARG {}: {e}", env.file.file, a.name))
                        })?
                        .value,
                ),
                None => None,
            },
        };
        if let Some(v) = v {
            vals.insert(a.name.clone(), v);
        }
    }
    Ok(vals)
}

/// Docker's warning for --build-arg values no ARG took.
pub fn warn_unused(env: &BuildEnv, _plan: &Plan) {
    let consumed = CONSUMED.lock().unwrap_or_else(|p| p.into_inner());
    let unused: Vec<&str> = env
        .opts
        .build_args
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !consumed.contains(*k) && !PROXY_ARGS.contains(k))
        .collect();
    if !unused.is_empty() {
        env.progress.line(&format!(
            "[Warning] One or more build-args [{}] were not consumed",
            unused.join(" ")
        ));
    }
}
