//! Runtime spec 1.3, "Linux: Network Devices" (`linux.netDevices`), as runc 1.4 does it: a
//! device is moved into the container's network namespace (renamed to `name` if given), keeps
//! its MTU, MAC and permanent global addresses, and is up.
//!
//! These tests never touch the host's network. Each makes its own network namespace
//! (`ip netns add berth-nd-...`, deleted on drop, panics included) holding a veth pair, and
//! runs the runtime inside it with `nsenter --net` (not `ip netns exec`, which remounts /sys
//! and so hides the cgroup mounts from the runtime). Every device a config names exists only
//! there. Known to fail with runc 1.1 (Debian's 1.1.5 ignores `linux.netDevices`).

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use spec_tests::*;

/// The device moved by the tests and its peer, which stays in the test namespace.
const DEV: &str = "ndc0";
const PEER: &str = "ndp0";
const MTU: &str = "1400";

static SUBNET: AtomicU32 = AtomicU32::new(1);

fn ipv6() -> bool {
    Path::new("/proc/net/if_inet6").exists()
}

/// A private network namespace, deleted on drop.
struct TestNs {
    name: String,
}

impl TestNs {
    fn new() -> TestNs {
        let name = format!("berth-nd-{}", unique_id("").trim_start_matches('-'));
        let st = Command::new("ip").args(["netns", "add", &name]).status();
        assert!(
            matches!(st, Ok(s) if s.success()),
            "ip netns add {name}: {st:?}"
        );
        TestNs { name }
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// `ip -n NS ARGS...`; its output, or Err with its stderr.
    fn ip(&self, args: &[&str]) -> Result<String, String> {
        let o = Command::new("ip")
            .arg("-n")
            .arg(&self.name)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("ip: {e}"));
        if o.status.success() {
            Ok(String::from_utf8_lossy(&o.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&o.stderr).into_owned())
        }
    }

    #[track_caller]
    fn ip_ok(&self, args: &[&str]) -> String {
        self.ip(args)
            .unwrap_or_else(|e| panic!("ip -n {} {}: {e}", self.name, args.join(" ")))
    }

    /// A veth pair `DEV`/`PEER`, both up; `DEV` gets MTU 1400, 10.200.N.1/24 and
    /// 2001:db8:200:N::1/64 (where the host has IPv6). Returns N.
    fn veth(&self) -> u32 {
        let n = SUBNET.fetch_add(1, Ordering::SeqCst) % 250 + 1;
        self.ip_ok(&["link", "add", DEV, "type", "veth", "peer", "name", PEER]);
        self.ip_ok(&["link", "set", DEV, "mtu", MTU]);
        self.ip_ok(&["addr", "add", &v4(n), "dev", DEV]);
        if ipv6() {
            self.ip_ok(&["addr", "add", &v6(n), "dev", DEV]);
        }
        self.ip_ok(&["link", "set", DEV, "up"]);
        self.ip_ok(&["link", "set", PEER, "up"]);
        n
    }

    fn has_link(&self, name: &str) -> bool {
        self.ip(&["link", "show", "dev", name]).is_ok()
    }

    fn mac(&self, name: &str) -> String {
        let out = self.ip_ok(&["-o", "link", "show", "dev", name]);
        let w: Vec<&str> = out.split_whitespace().collect();
        let i = w
            .iter()
            .position(|x| *x == "link/ether")
            .expect("link/ether");
        w[i + 1].to_string()
    }

    /// `runtime --root <state> ARGS...` inside this namespace.
    fn runtime(&self, c: &Container, args: &[&str]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.path()))
            .arg("--")
            .arg(runtime_bin())
            .arg("--root")
            .arg(c.state_root())
            .args(args);
        cmd
    }

    /// The harness's `run` (config written, `run --bundle B ID`), inside this namespace.
    fn run(&self, c: &Container) -> Output {
        c.write_config();
        let b = c.bundle();
        let cmd = self.runtime(c, &["run", "--bundle", b.to_str().unwrap(), &c.id]);
        c.exec_cmd(cmd, Spawn::default())
    }

    /// The harness's `create`: the container's stdio go to its ctr_stdout/ctr_stderr.
    fn create(&self, c: &Container) -> Output {
        c.write_config();
        let b = c.bundle();
        let cmd = self.runtime(c, &["create", "--bundle", b.to_str().unwrap(), &c.id]);
        let mut o = c.exec_cmd(
            cmd,
            Spawn {
                stdout: Some(fs::File::create(c.ctr_stdout()).unwrap()),
                stderr: Some(fs::File::create(c.ctr_stderr()).unwrap()),
                ..Default::default()
            },
        );
        o.stdout = fs::read_to_string(c.ctr_stdout()).unwrap_or_default();
        o.stderr = fs::read_to_string(c.ctr_stderr()).unwrap_or_default();
        o
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn v4(n: u32) -> String {
    format!("10.200.{n}.1/24")
}

fn v6(n: u32) -> String {
    format!("2001:db8:200:{n}::1/64")
}

/// A container whose process prints what it sees of `name`: its entries in /sys/class/net,
/// then mtu, flags and MAC, then `ip addr show`.
fn shows(c: &mut Container, name: &str, devices: serde_json::Value) {
    c.config["linux"]["netDevices"] = devices;
    let script = format!(
        "ls /sys/class/net; echo ---; cat /sys/class/net/{name}/mtu /sys/class/net/{name}/flags \
         /sys/class/net/{name}/address; echo ---; ip addr show dev {name}"
    );
    c.args(&["/bin/sh", "-c", &script]);
}

struct Seen {
    links: Vec<String>,
    mtu: String,
    flags: u32,
    mac: String,
    addrs: String,
}

#[track_caller]
fn parse_seen(out: &str) -> Seen {
    let parts: Vec<&str> = out.split("---\n").collect();
    assert_eq!(parts.len(), 3, "unexpected output: {out}");
    let links = parts[0].split_whitespace().map(String::from).collect();
    let l: Vec<&str> = parts[1].lines().collect();
    assert_eq!(l.len(), 3, "mtu/flags/address: {out}");
    let flags = u32::from_str_radix(l[1].trim_start_matches("0x"), 16)
        .unwrap_or_else(|e| panic!("flags {:?}: {e}", l[1]));
    Seen {
        links,
        mtu: l[0].to_string(),
        flags,
        mac: l[2].to_string(),
        addrs: parts[2].to_string(),
    }
}

#[track_caller]
fn assert_moved(seen: &Seen, name: &str, mac: &str, n: u32) {
    assert!(
        seen.links.iter().any(|l| l == name),
        "{name} missing inside: {:?}",
        seen.links
    );
    assert_eq!(seen.mtu, MTU, "MTU kept");
    assert_eq!(seen.mac, mac, "MAC kept");
    assert!(
        seen.flags & 1 != 0,
        "{name} is not up: flags {:#x}",
        seen.flags
    );
    assert!(
        seen.addrs.contains(&format!("inet {}", v4(n))),
        "IPv4 address: {}",
        seen.addrs
    );
    if ipv6() {
        assert!(
            seen.addrs.contains(&format!("inet6 {}", v6(n))),
            "IPv6 address: {}",
            seen.addrs
        );
    }
}

/// The device's peer goes when the container's namespace is destroyed (asynchronously).
fn wait_gone(ns: &TestNs, name: &str) -> bool {
    let t = Instant::now();
    while ns.has_link(name) {
        if t.elapsed() > Duration::from_secs(10) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn device_moves_with_mtu_mac_and_addresses_and_is_up() {
    let ns = TestNs::new();
    let n = ns.veth();
    let mac = ns.mac(DEV);
    let mut c = Container::new("nd-move");
    shows(&mut c, DEV, json!({ DEV: {} }));
    let o = ns.run(&c);
    o.assert_ok();
    assert_moved(&parse_seen(&o.stdout), DEV, &mac, n);
    assert!(!ns.has_link(DEV), "{DEV} still in the test namespace");
    // A veth dies with the container's namespace, and takes its peer with it.
    assert!(wait_gone(&ns, PEER), "{PEER} outlived the container");
}

#[test]
fn device_is_renamed_at_create_before_the_process_runs() {
    let ns = TestNs::new();
    let n = ns.veth();
    let mac = ns.mac(DEV);
    let mut c = Container::new("nd-rename");
    shows(&mut c, "eth7", json!({ DEV: { "name": "eth7" } }));
    ns.create(&c).assert_ok();
    // Moved by create: in the init's namespace already, up, before start.
    let pid = c.state()["pid"].as_i64().unwrap();
    let o = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .args(["--", "ip", "-o", "link", "show", "dev", "eth7"])
        .output()
        .unwrap();
    let link = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && link.contains(",UP"),
        "after create: {link}"
    );
    assert!(!ns.has_link(DEV));
    c.start().assert_ok();
    c.wait_status("stopped", 20);
    let seen = parse_seen(&c.container_stdout());
    assert_moved(&seen, "eth7", &mac, n);
    assert!(
        !seen.links.iter().any(|l| l == DEV),
        "old name inside: {:?}",
        seen.links
    );
    c.delete(false).assert_ok();
    assert!(!ns.has_link(DEV) && !ns.has_link("eth7"));
}

/// The container's network namespace belongs to its new user namespace; the runtime, root
/// on the host, still moves the device there and works inside it.
#[test]
fn device_moves_into_a_container_with_its_own_user_namespace() {
    let ns = TestNs::new();
    let n = ns.veth();
    let mac = ns.mac(DEV);
    let mut c = Container::new("nd-userns");
    c.set_namespace("user", None);
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.config["linux"]["uidMappings"] = map.clone();
    c.config["linux"]["gidMappings"] = map;
    // A cgroup mount needs privileges over the host's (as in namespaces.rs).
    c.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "cgroup");
    shows(&mut c, "eth5", json!({ DEV: { "name": "eth5" } }));
    let o = ns.run(&c);
    o.assert_ok();
    assert_moved(&parse_seen(&o.stdout), "eth5", &mac, n);
    assert!(!ns.has_link(DEV));
}

/// A namespace joined by path keeps the device after the container is gone (runc's too).
#[test]
fn device_moves_into_a_joined_namespace_and_stays_there() {
    let ns = TestNs::new();
    let n = ns.veth();
    let mac = ns.mac(DEV);
    let pod = TestNs::new();
    let mut c = Container::new("nd-join");
    c.set_namespace("network", Some(&pod.path()));
    shows(&mut c, "eth3", json!({ DEV: { "name": "eth3" } }));
    let o = ns.run(&c);
    o.assert_ok();
    assert_moved(&parse_seen(&o.stdout), "eth3", &mac, n);
    assert!(!ns.has_link(DEV));
    let link = pod.ip_ok(&["-o", "link", "show", "dev", "eth3"]);
    assert!(link.contains(",UP") && link.contains("mtu 1400"), "{link}");
    let addrs = pod.ip_ok(&["-o", "addr", "show", "dev", "eth3"]);
    assert!(addrs.contains(&v4(n)), "{addrs}");
}

#[test]
fn without_a_network_namespace_fails_before_anything_exists() {
    let ns = TestNs::new();
    let n = ns.veth();
    let mut c = Container::new("nd-nonet");
    c.remove_namespace("network");
    c.config["linux"]["netDevices"] = json!({ DEV: {} });
    let o = ns.run(&c);
    o.assert_fail();
    assert!(
        o.stderr
            .contains("linux.netDevices: moving network devices needs a network namespace"),
        "{o}"
    );
    assert!(
        !c.has_state_dir(),
        "state left behind: {:?}",
        c.state_entries()
    );
    untouched(&ns, n);
}

/// The device as set up by `veth`: still in the test namespace, up, with its address.
#[track_caller]
fn untouched(ns: &TestNs, n: u32) {
    let link = ns.ip_ok(&["-o", "link", "show", "dev", DEV]);
    assert!(link.contains(",UP"), "{link}");
    let addrs = ns.ip_ok(&["-o", "addr", "show", "dev", DEV]);
    assert!(addrs.contains(&v4(n)), "{addrs}");
}

#[test]
fn a_missing_host_device_fails_naming_it() {
    let ns = TestNs::new();
    let n = ns.veth();
    let mut c = Container::new("nd-missing");
    c.config["linux"]["netDevices"] = json!({ DEV: {}, "ndnone9": {} });
    let o = ns.run(&c);
    o.assert_fail();
    assert!(
        o.stderr
            .contains("linux.netDevices[ndnone9]: no such network device on the host"),
        "{o}"
    );
    assert!(!c.has_state_dir());
    untouched(&ns, n);
}

#[test]
fn bad_names_fail_naming_them() {
    let ns = TestNs::new();
    let n = ns.veth();
    for (devices, want) in [
        (
            json!({ DEV: { "name": "a/b" } }),
            format!(r#"linux.netDevices[{DEV}]: invalid network device name "a/b""#),
        ),
        (
            json!({ "a/b": {} }),
            r#"linux.netDevices[a/b]: invalid network device name "a/b""#.to_string(),
        ),
        (
            json!({ DEV: { "name": "a-name-too-long-for-linux" } }),
            format!(
                r#"linux.netDevices[{DEV}]: invalid network device name "a-name-too-long-for-linux""#
            ),
        ),
    ] {
        let mut c = Container::new("nd-badname");
        c.config["linux"]["netDevices"] = devices;
        let o = ns.run(&c);
        o.assert_fail();
        assert!(o.stderr_text().contains(&want), "want {want}: {o}");
        assert!(!c.has_state_dir());
    }
    untouched(&ns, n);
}

/// The kernel renames a device after moving it, so a name already taken inside (a new
/// namespace always has `lo`) is refused first: the device is left as it was, no state is left.
#[test]
fn a_name_taken_inside_fails_and_leaves_the_device_untouched() {
    let ns = TestNs::new();
    let n = ns.veth();
    let mut c = Container::new("nd-taken");
    c.config["linux"]["netDevices"] = json!({ DEV: { "name": "lo" } });
    let o = ns.run(&c);
    o.assert_fail();
    assert!(
        o.stderr_text().contains(&format!(
            r#"linux.netDevices[{DEV}]: "lo" already exists in the container's network namespace"#
        )),
        "{o}"
    );
    assert!(
        !c.has_state_dir(),
        "state left behind: {:?}",
        c.state_entries()
    );
    untouched(&ns, n);
    if ipv6() {
        let addrs = ns.ip_ok(&["-o", "addr", "show", "dev", DEV]);
        assert!(addrs.contains(&v6(n)), "{addrs}");
    }
}

/// A move the kernel refuses (lo is bound to its namespace) fails naming the device and
/// leaves it where it was, up again; no state is left.
#[test]
fn a_device_the_kernel_will_not_move_stays_up_where_it_was() {
    let ns = TestNs::new();
    ns.ip_ok(&["link", "set", "lo", "up"]);
    let mut c = Container::new("nd-refused");
    c.config["linux"]["netDevices"] = json!({ "lo": { "name": "ctrlo" } });
    let o = ns.run(&c);
    o.assert_fail();
    assert!(
        o.stderr
            .contains("linux.netDevices[lo]: move to the container's network namespace: EINVAL"),
        "{o}"
    );
    assert!(
        !c.has_state_dir(),
        "state left behind: {:?}",
        c.state_entries()
    );
    let link = ns.ip_ok(&["-o", "link", "show", "dev", "lo"]);
    assert!(link.contains(",UP"), "{link}");
}

#[test]
fn features_report_net_devices() {
    let c = Container::new("nd-features");
    let o = c.runtime(&["features"]);
    o.assert_ok();
    let f: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(f["linux"]["netDevices"]["enabled"], true, "{f}");
}
