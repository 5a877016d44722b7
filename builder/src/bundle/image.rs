//! The image-spec conversion rules (image-spec conversion.md): an image
//! config to a [`RunSpec`] the way dockerd starts a container from it.
//!
//! Volumes and ExposedPorts are not converted: volumes are the caller's
//! mounts to make, and ports mean nothing without a network set up by the
//! caller.

use std::path::Path;

use super::{resolve_user, BundleError, Network, RunSpec};
use crate::image::ImageConfig;
use crate::seccomp::DEFAULT_CAPS;

/// Docker's PATH for an image whose Env sets none.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The annotation StopSignal becomes (conversion.md).
pub const STOP_SIGNAL_ANNOTATION: &str = "org.opencontainers.image.stopSignal";

/// The RunSpec of a container of the image `config` whose rootfs is at
/// `rootfs`, with `args` (when given) replacing the image's Cmd. The caller
/// sets the hostname, network, mounts and anything else it decides.
pub fn spec_from_image(
    config: &ImageConfig,
    rootfs: &Path,
    args: Option<Vec<String>>,
) -> Result<RunSpec, BundleError> {
    let c = &config.config;
    let argv = command(c.entrypoint.as_deref(), c.cmd.as_deref(), args)?;
    let user = resolve_user(rootfs, c.user.as_deref().unwrap_or(""))?;
    let home = user.home.as_deref().unwrap_or("/");
    let rootfs = std::path::absolute(rootfs).map_err(super::io_error(rootfs))?;
    Ok(RunSpec {
        args: argv,
        env: environment(c.env.as_deref().unwrap_or_default(), home),
        cwd: c
            .working_dir
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/".into()),
        uid: user.uid,
        gid: user.gid,
        additional_gids: user.additional_gids,
        hostname: String::new(),
        network: Network::None,
        rootfs,
        readonly_rootfs: false,
        binds: Vec::new(),
        tmpfs: Vec::new(),
        caps: DEFAULT_CAPS.iter().map(|c| c.to_string()).collect(),
        seccomp: true,
        terminal: false,
        annotations: annotations(config),
    })
}

/// Entrypoint followed by `args` when given (even empty: the caller said
/// "no arguments"), else by Cmd. Nothing at all is an error, as in Docker.
fn command(
    entrypoint: Option<&[String]>,
    cmd: Option<&[String]>,
    args: Option<Vec<String>>,
) -> Result<Vec<String>, BundleError> {
    let mut argv = entrypoint.unwrap_or_default().to_vec();
    match args {
        Some(a) => argv.extend(a),
        None => argv.extend_from_slice(cmd.unwrap_or_default()),
    }
    if argv.is_empty() {
        return Err(BundleError::NoCommand);
    }
    Ok(argv)
}

/// The image's Env with Docker's additions: PATH first when the image has
/// none, HOME from passwd at the end when the image has none.
fn environment(env: &[String], home: &str) -> Vec<String> {
    let has = |key: &str| {
        env.iter()
            .any(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
    };
    let mut out = Vec::with_capacity(env.len() + 2);
    if !has("PATH") {
        out.push(DEFAULT_PATH.to_string());
    }
    out.extend_from_slice(env);
    if !has("HOME") {
        out.push(format!("HOME={home}"));
    }
    out
}

/// Labels as annotations (sorted, as the image stores them), then StopSignal.
fn annotations(config: &ImageConfig) -> Vec<(String, String)> {
    let c = &config.config;
    let mut out: Vec<(String, String)> = c
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(sig) = c.stop_signal.as_ref().filter(|s| !s.is_empty()) {
        out.retain(|(k, _)| k != STOP_SIGNAL_ANNOTATION);
        out.push((STOP_SIGNAL_ANNOTATION.into(), sig.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ContainerConfig;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// (Entrypoint, Cmd, args override, the argv wanted).
    type Case = (
        Option<Vec<String>>,
        Option<Vec<String>>,
        Option<Vec<String>>,
        &'static [&'static str],
    );

    fn image(c: ContainerConfig) -> ImageConfig {
        ImageConfig {
            config: c,
            ..ImageConfig::scratch()
        }
    }

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:www:/var/www:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("etc/group"), "www:x:33:\nlog:x:4:web\n").unwrap();
        dir
    }

    #[test]
    fn entrypoint_and_cmd_interplay() {
        let ep = Some(s(&["/entry", "-v"]));
        let cmd = Some(s(&["serve", "--port=80"]));
        let cases: &[Case] = &[
            (
                ep.clone(),
                cmd.clone(),
                None,
                &["/entry", "-v", "serve", "--port=80"],
            ),
            (
                ep.clone(),
                cmd.clone(),
                Some(s(&["debug"])),
                &["/entry", "-v", "debug"],
            ),
            (ep.clone(), cmd.clone(), Some(vec![]), &["/entry", "-v"]),
            (ep.clone(), None, None, &["/entry", "-v"]),
            (None, cmd.clone(), None, &["serve", "--port=80"]),
            (None, cmd.clone(), Some(s(&["sh"])), &["sh"]),
            (None, None, Some(s(&["true"])), &["true"]),
        ];
        let dir = rootfs();
        for (entrypoint, cmd, args, want) in cases {
            let c = ContainerConfig {
                entrypoint: entrypoint.clone(),
                cmd: cmd.clone(),
                ..Default::default()
            };
            let spec = spec_from_image(&image(c), dir.path(), args.clone()).unwrap();
            assert_eq!(spec.args, s(want), "{entrypoint:?} {cmd:?} {args:?}");
        }
    }

    #[test]
    fn no_command_is_an_error() {
        let dir = rootfs();
        let empty = ContainerConfig {
            cmd: Some(vec![]),
            ..Default::default()
        };
        for c in [ContainerConfig::default(), empty] {
            let err = spec_from_image(&image(c), dir.path(), None).unwrap_err();
            assert!(matches!(err, BundleError::NoCommand));
            assert!(err.to_string().starts_with("no command specified"), "{err}");
        }
        let c = ContainerConfig::default();
        assert!(spec_from_image(&image(c), dir.path(), Some(vec![])).is_err());
    }

    #[test]
    fn env_path_default_home_and_cwd() {
        let dir = rootfs();
        let c = ContainerConfig {
            cmd: Some(s(&["sh"])),
            env: Some(s(&["A=1"])),
            ..Default::default()
        };
        let spec = spec_from_image(&image(c), dir.path(), None).unwrap();
        assert_eq!(spec.env, s(&[DEFAULT_PATH, "A=1", "HOME=/root"]));
        assert_eq!(spec.cwd, "/");

        let c = ContainerConfig {
            cmd: Some(s(&["sh"])),
            env: Some(s(&["PATH=/opt/bin", "HOME=/data"])),
            working_dir: Some("/srv".into()),
            ..Default::default()
        };
        let spec = spec_from_image(&image(c), dir.path(), None).unwrap();
        assert_eq!(spec.env, s(&["PATH=/opt/bin", "HOME=/data"]));
        assert_eq!(spec.cwd, "/srv");
        // A variable merely named like PATH is not PATH.
        assert_eq!(environment(&s(&["PATHS=x"]), "/")[0], DEFAULT_PATH);
    }

    #[test]
    fn user_is_resolved_in_the_rootfs() {
        let dir = rootfs();
        let with = |user: &str| ContainerConfig {
            cmd: Some(s(&["sh"])),
            user: Some(user.into()),
            ..Default::default()
        };
        let spec = spec_from_image(&image(with("web")), dir.path(), None).unwrap();
        assert_eq!(
            (spec.uid, spec.gid, spec.additional_gids.clone()),
            (33, 33, vec![4])
        );
        assert!(spec.env.contains(&"HOME=/var/www".to_string()));

        let spec = spec_from_image(&image(with("1234:5678")), dir.path(), None).unwrap();
        assert_eq!((spec.uid, spec.gid), (1234, 5678));
        assert!(spec.env.contains(&"HOME=/".to_string()));

        let err = spec_from_image(&image(with("ghost")), dir.path(), None).unwrap_err();
        assert!(
            err.to_string().contains("unable to find user ghost"),
            "{err}"
        );
    }

    #[test]
    fn labels_stop_signal_and_defaults() {
        let dir = rootfs();
        let c = ContainerConfig {
            cmd: Some(s(&["sh"])),
            labels: Some([("b".to_string(), "2".to_string()), ("a".into(), "1".into())].into()),
            stop_signal: Some("SIGQUIT".into()),
            ..Default::default()
        };
        let spec = spec_from_image(&image(c), dir.path(), None).unwrap();
        let want = [("a", "1"), ("b", "2"), (STOP_SIGNAL_ANNOTATION, "SIGQUIT")];
        assert_eq!(
            spec.annotations,
            want.map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(spec.seccomp && !spec.terminal && !spec.readonly_rootfs);
        assert_eq!(spec.network, Network::None);
        assert_eq!(spec.hostname, "");
        assert_eq!(spec.caps.len(), DEFAULT_CAPS.len());
        assert!(spec.rootfs.is_absolute());
    }
}
