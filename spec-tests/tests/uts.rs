//! Runtime spec: hostname and domainname (UTS namespace).

use serde_json::json;
use spec_tests::*;

#[test]
fn hostname_is_set() {
    let mut c = Container::new("hostname");
    c.config["hostname"] = json!("spec-host");
    let r = c.check(&["read", "/proc/sys/kernel/hostname"]);
    assert_eq!(r["hostname"], "spec-host");
    assert_eq!(
        probe(&r, 0)["content"].as_str().unwrap().trim(),
        "spec-host"
    );
    assert_ne!(r["namespaces"]["uts"], host_ns("uts"));
}

/// Known to fail with runc 1.1, which ignores `domainname` (support arrived in runc 1.2);
/// the runtime-spec (config.md, "Domainname") says it sets the container's NIS domain name.
#[test]
fn domainname_is_set() {
    let mut c = Container::new("domainname");
    c.config["hostname"] = json!("h");
    c.config["domainname"] = json!("example.test");
    let r = c.check(&[]);
    assert_eq!(r["domainname"], "example.test");
    assert_eq!(r["hostname"], "h");
}

#[test]
fn host_hostname_unchanged() {
    let before = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let mut c = Container::new("hostname-host");
    c.config["hostname"] = json!("not-the-host");
    assert_eq!(c.check(&[])["hostname"], "not-the-host");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        before
    );
}

#[test]
fn hostname_without_uts_namespace_is_rejected() {
    // runtime-spec: "If a new UTS namespace is not configured, setting hostname is an error".
    let mut c = Container::new("hostname-no-uts");
    c.remove_namespace("uts");
    c.config["hostname"] = json!("nope");
    let o = c.run();
    o.assert_fail();
    assert!(o.stdout.is_empty(), "{o}");
}
