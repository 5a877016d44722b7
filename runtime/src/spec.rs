//! Loading and validating config.json.
//!
//! oci-spec parses loosely (an index.json parses as a Spec), so the checks a
//! runtime must make before touching the kernel live here; each names the
//! field that is wrong.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::{Error, Result};

/// The spec version we implement and report.
pub const OCI_VERSION: &str = "1.3.0";

/// A loaded bundle: its directory, the parsed config and the absolute rootfs.
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    pub rootfs: PathBuf,
}

impl Bundle {
    pub fn load(dir: &Path) -> Result<Bundle> {
        let dir = std::path::absolute(dir)
            .map_err(|e| Error::io(format!("bundle {}", dir.display()), e))?;
        let file = dir.join("config.json");
        let data = std::fs::read(&file).map_err(|e| Error::io(file.display().to_string(), e))?;
        let spec = parse(&file, &data)?;
        let rootfs = validate(&file, &dir, &spec)?;
        Ok(Bundle { dir, spec, rootfs })
    }
}

/// Parses JSON, naming the file, line and column of a syntax or type error.
/// Unknown capability names are dropped with a warning, as the spec asks.
pub fn parse(file: &Path, data: &[u8]) -> Result<Spec> {
    let first = match serde_json::from_slice(data) {
        Ok(spec) => return Ok(spec),
        Err(e) => e,
    };
    let err = |e: &serde_json::Error| Error::Config {
        file: file.to_path_buf(),
        msg: e.to_string(),
    };
    let mut v: serde_json::Value = serde_json::from_slice(data).map_err(|e| err(&e))?;
    if let Some(e) = crate::seccomp::check_raw(&v) {
        return Err(e);
    }
    if !drop_unknown_caps(&mut v) {
        return Err(err(&first));
    }
    serde_json::from_value(v).map_err(|_| err(&first))
}

/// Removes capability names oci-spec doesn't know; true if any was removed.
fn drop_unknown_caps(v: &mut serde_json::Value) -> bool {
    let Some(caps) = v
        .pointer_mut("/process/capabilities")
        .and_then(|c| c.as_object_mut())
    else {
        return false;
    };
    let mut dropped = false;
    for (set, list) in caps.iter_mut() {
        if let Some(list) = list.as_array_mut() {
            list.retain(|c| {
                let known =
                    serde_json::from_value::<oci_spec::runtime::Capability>(c.clone()).is_ok();
                if !known {
                    crate::logging::warn(&format!(
                        "process.capabilities.{set}: unknown capability {c}, ignored"
                    ));
                    dropped = true;
                }
                known
            });
        }
    }
    dropped
}

fn config_err(file: &Path, msg: impl Into<String>) -> Error {
    Error::Config {
        file: file.to_path_buf(),
        msg: msg.into(),
    }
}

/// Checks what must hold before create starts; returns the absolute rootfs.
fn validate(file: &Path, bundle: &Path, spec: &Spec) -> Result<PathBuf> {
    check_version(spec.version()).map_err(|m| config_err(file, m))?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| config_err(file, "root: missing"))?;
    let rootfs = bundle.join(root.path());
    if !rootfs.is_dir() {
        return Err(config_err(
            file,
            format!("root.path: {} is not a directory", rootfs.display()),
        ));
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| config_err(file, "process: missing"))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(config_err(
            file,
            "process.args: must name the program to run",
        ));
    }
    if !process.cwd().is_absolute() {
        return Err(config_err(
            file,
            format!("process.cwd: {:?} is not an absolute path", process.cwd()),
        ));
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            return Err(config_err(
                file,
                format!(
                    "mounts[{i}].destination: {:?} is not an absolute path",
                    m.destination()
                ),
            ));
        }
    }
    if let Some(linux) = spec.linux() {
        let mut seen = Vec::new();
        for ns in linux.namespaces().iter().flatten() {
            if seen.contains(&ns.typ()) {
                return Err(config_err(
                    file,
                    format!("linux.namespaces: {:?} listed twice", ns.typ()),
                ));
            }
            seen.push(ns.typ());
        }
        let has_userns = seen.contains(&LinuxNamespaceType::User);
        if has_userns && linux.uid_mappings().as_ref().is_none_or(|m| m.is_empty()) {
            let joins = linux
                .namespaces()
                .iter()
                .flatten()
                .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_some());
            if !joins {
                return Err(config_err(
                    file,
                    "linux.uidMappings: required with a new user namespace",
                ));
            }
        }
    }
    Ok(rootfs)
}

/// Accepts any 1.x version; an unknown major is refused by name.
pub fn check_version(v: &str) -> std::result::Result<(), String> {
    let major = v.split('.').next().unwrap_or("");
    match major {
        "1" => Ok(()),
        "" => Err("ociVersion: missing".into()),
        _ => Err(format!(
            "ociVersion: {v:?} is not supported (this runtime implements {OCI_VERSION})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(check_version("1.0.2-dev").is_ok());
        assert!(check_version("1.2.0").is_ok());
        assert!(check_version("2.0.0").unwrap_err().contains("ociVersion"));
        assert!(check_version("").is_err());
    }

    #[test]
    fn truncated_json_names_line_and_column() {
        let err = parse(
            Path::new("b/config.json"),
            b"{\"ociVersion\": \"1.0.0\",\n \"root\": {",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.starts_with("b/config.json: "), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }
}
