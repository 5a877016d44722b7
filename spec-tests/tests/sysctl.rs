//! Runtime spec, "Linux: Sysctl".

use serde_json::json;
use spec_tests::*;

fn host_sysctl(name: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/{}", name.replace('.', "/")))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn ip_forward_in_new_netns() {
    let host_before = host_sysctl("net.ipv4.ip_forward");
    for want in ["0", "1"] {
        let mut c = Container::new(&format!("sysctl-ipf{want}"));
        c.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": want});
        let r = c.check(&["sysctl", "net.ipv4.ip_forward"]);
        assert_eq!(probe(&r, 0)["value"], want, "{}", brief(&r));
        assert_ne!(r["namespaces"]["net"], host_ns("net"));
    }
    assert_eq!(
        host_sysctl("net.ipv4.ip_forward"),
        host_before,
        "host value changed"
    );
}

#[test]
fn ipc_sysctl_in_new_ipcns() {
    let host_before = host_sysctl("kernel.msgmax");
    let mut c = Container::new("sysctl-msgmax");
    c.config["linux"]["sysctl"] = json!({"kernel.msgmax": "4321", "net.core.somaxconn": "77"});
    let r = c.check(&["sysctl", "kernel.msgmax", "sysctl", "net.core.somaxconn"]);
    assert_eq!(probe(&r, 0)["value"], "4321", "{}", brief(&r));
    assert_eq!(probe(&r, 1)["value"], "77", "{}", brief(&r));
    assert_eq!(host_sysctl("kernel.msgmax"), host_before);
}

#[test]
fn net_sysctl_without_netns_is_rejected() {
    // Setting a net.* sysctl while sharing the host netns would change the host: runc refuses
    // ("sysctl ... not allowed in host network namespace").
    let host_before = host_sysctl("net.ipv4.ip_forward");
    let mut c = Container::new("sysctl-hostnet");
    c.remove_namespace("network");
    let other = if host_before == "1" { "0" } else { "1" };
    c.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": other});
    let o = c.run();
    o.assert_fail();
    assert!(o.stderr.contains("net.ipv4.ip_forward"), "{o}");
    assert_eq!(host_sysctl("net.ipv4.ip_forward"), host_before);
}

#[test]
fn unknown_sysctl_fails() {
    let mut c = Container::new("sysctl-unknown");
    c.config["linux"]["sysctl"] = json!({"net.ipv4.no_such_knob": "1"});
    let o = c.run();
    o.assert_fail();
    assert!(o.stdout.is_empty(), "{o}");
}
