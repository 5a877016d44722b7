//! `features` must tell the truth: every namespace, mount option, hook kind
//! and memory policy it lists is tried here on a real container and works.

use serde_json::{json, Value};
use spec_tests::*;

fn features() -> Value {
    let c = Container::new("features");
    let o = c.runtime(&["features"]);
    o.assert_ok();
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("features is not JSON ({e}): {o}"))
}

fn list(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_listed_namespace_can_be_created() {
    let f = features();
    for ns in list(&f["linux"]["namespaces"]) {
        let mut c = Container::new(&format!("features-ns-{ns}"));
        let typ = if ns == "net" { "network" } else { ns.as_str() };
        c.set_namespace(typ, None);
        if ns == "user" {
            c.config["linux"]["uidMappings"] =
                json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
            c.config["linux"]["gidMappings"] =
                json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
        }
        c.args(&["true"]);
        let o = c.run();
        assert!(o.success(), "namespace {ns} listed but fails: {o}");
    }
}

/// Every mount option on a mount of its kind: propagation, bind and
/// recursive options on a bind, the rest on a tmpfs; one container each
/// kind, one mount per option (an error names mounts[i]).
#[test]
fn every_listed_mount_option_is_accepted() {
    let f = features();
    let opts = list(&f["mountOptions"]);
    assert!(!opts.is_empty());
    let mut c = Container::new("features-mountopts");
    let src = c.host_dir().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for (i, o) in opts.iter().enumerate() {
        let on_bind = o.starts_with('r') && o != "rw" && o != "relatime"
            || [
                "bind",
                "private",
                "shared",
                "slave",
                "unbindable",
                "remount",
            ]
            .contains(&o.as_str());
        let dest = format!("/mnt/o{i}");
        if o == "idmap" || o == "ridmap" {
            // Idmapped binds (mountExtensions.idmap): with their own mappings.
            let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            c.add_mount(json!({"destination": dest, "type": "bind", "source": src,
                               "options": ["rbind", o], "uidMappings": map, "gidMappings": map}));
        } else if on_bind {
            c.add_mount(json!({"destination": dest, "type": "bind", "source": src,
                               "options": ["rbind", o]}));
        } else {
            c.add_mount(
                json!({"destination": dest, "type": "tmpfs", "source": "tmpfs",
                               "options": [o]}),
            );
        }
    }
    c.args(&["true"]);
    let o = c.run();
    assert!(o.success(), "a listed mount option fails ({opts:?}): {o}");
}

#[test]
fn every_listed_memory_policy_mode_and_flag_is_applied() {
    if !std::path::Path::new("/sys/devices/system/node/online").exists() {
        eprintln!("skipped: no NUMA on this host");
        return;
    }
    let f = features();
    let mp = &f["linux"]["memoryPolicy"];
    let flags = list(&mp["flags"]);
    for mode in list(&mp["modes"]) {
        let nodes = !matches!(mode.as_str(), "MPOL_DEFAULT" | "MPOL_LOCAL");
        let mut policy = json!({"mode": mode});
        if nodes {
            policy["nodes"] = json!("0");
        }
        let mut c = Container::new("features-mpol");
        c.config["linux"]["memoryPolicy"] = policy;
        c.args(&["true"]);
        let o = c.run();
        // MPOL_WEIGHTED_INTERLEAVE needs Linux 6.9: the kernel may refuse it.
        if !o.success()
            && o.stderr.contains("Invalid argument")
            && mode == "MPOL_WEIGHTED_INTERLEAVE"
        {
            continue;
        }
        assert!(o.success(), "mode {mode} listed but fails: {o}");
    }
    for flag in flags {
        let mut c = Container::new("features-mpol-flag");
        // NUMA balancing applies to MPOL_BIND only; the node flags to any mode with nodes.
        c.config["linux"]["memoryPolicy"] =
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": [flag]});
        c.args(&["true"]);
        let o = c.run();
        assert!(o.success(), "flag {flag} listed but fails: {o}");
    }
}

#[test]
fn listed_hooks_and_reported_extensions_match_what_is_built() {
    let f = features();
    assert_eq!(
        list(&f["hooks"]),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    // Proven by idmap.rs and netdev.rs (and the idmap options above).
    assert_eq!(f["linux"]["mountExtensions"]["idmap"]["enabled"], true);
    assert_eq!(f["linux"]["netDevices"]["enabled"], true);
    // What the host can't prove stays off.
    for k in ["apparmor", "selinux", "intelRdt"] {
        assert_eq!(f["linux"][k]["enabled"], false, "{k}");
    }
    assert_eq!(f["linux"]["cgroup"]["systemd"], false);
    let v2 = cgroup_v2();
    let key = if v2 { "v2" } else { "v1" };
    assert_eq!(
        f["linux"]["cgroup"][key], true,
        "this host's cgroup version"
    );
}
