//! Runtime spec, "Linux: Namespaces".

use serde_json::json;
use spec_tests::*;
use std::process::Command;

#[test]
fn each_new_namespace_differs_from_host() {
    let mut c = Container::new("ns-new");
    c.set_namespace("cgroup", None);
    let r = c.check(&[]);
    for ns in ["pid", "net", "ipc", "uts", "mnt", "cgroup"] {
        assert_ne!(
            r["namespaces"][ns],
            host_ns(ns),
            "{ns} namespace not new: {}",
            r["namespaces"]
        );
    }
    // user was not asked for: shared with the host
    assert_eq!(r["namespaces"]["user"], host_ns("user"));
    // cgroup ns: the container sees itself at its cgroup root
    for line in r["cgroup"].as_str().unwrap().lines() {
        assert!(
            line.ends_with(":/"),
            "cgroup ns root should be /: {}",
            r["cgroup"]
        );
    }
}

#[test]
fn omitted_namespaces_are_shared_with_host() {
    let mut c = Container::new("ns-shared");
    c.remove_namespace("network").remove_namespace("ipc");
    let r = c.check(&[]);
    assert_eq!(r["namespaces"]["net"], host_ns("net"));
    assert_eq!(r["namespaces"]["ipc"], host_ns("ipc"));
    assert_ne!(r["namespaces"]["pid"], host_ns("pid"));
}

#[test]
fn join_netns_of_unshare_process_by_path() {
    let h = Helper::spawn(Command::new("unshare").args(["--net", "sleep", "60"]));
    // wait until the helper has its own netns
    let path = format!("/proc/{}/ns/net", h.pid());
    let t = std::time::Instant::now();
    while std::fs::metadata(&path)
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .ok()
        == Some(host_ns("net"))
    {
        assert!(
            t.elapsed().as_secs() < 10,
            "unshare --net did not take effect"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let want = dev_ino(std::path::Path::new(&path)).1;
    let mut c = Container::new("ns-join-proc");
    c.set_namespace("network", Some(&path));
    let r = c.check(&[]);
    assert_eq!(r["namespaces"]["net"], want);
    assert_ne!(r["namespaces"]["net"], host_ns("net"));
}

/// A named network namespace at /run/netns/NAME, made by `ip netns add` as
/// an admin does, or where iproute2 is missing by `unshare --net=FILE` (the
/// same bind mount of an nsfs file).
struct NetNs(String);
impl NetNs {
    fn add(name: &str) -> NetNs {
        let ns = NetNs(name.to_string());
        let ip = Command::new("ip").args(["netns", "add", name]).status();
        if matches!(ip, Ok(s) if s.success()) {
            return ns;
        }
        std::fs::create_dir_all("/run/netns").unwrap();
        std::fs::write(ns.path(), "").unwrap();
        let st = Command::new("unshare")
            .arg(format!("--net={}", ns.path()))
            .arg("true")
            .status();
        assert!(
            matches!(st, Ok(s) if s.success()),
            "neither `ip netns add {name}` ({ip:?}) nor `unshare --net={}` ({st:?}) worked",
            ns.path()
        );
        ns
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
}
impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("umount").args(["-l", &self.path()]).status();
        let _ = std::fs::remove_file(self.path());
    }
}

#[test]
fn join_named_netns_from_ip_netns_add() {
    let ns = NetNs::add(&format!("berth-spec-{}", std::process::id()));
    let want = dev_ino(std::path::Path::new(&ns.path())).1;
    let mut c = Container::new("ns-join-named");
    c.set_namespace("network", Some(&ns.path()));
    let r = c.check(&[]);
    assert_eq!(r["namespaces"]["net"], want);
}

#[test]
fn joining_a_non_namespace_path_fails() {
    let mut c = Container::new("ns-join-bad");
    let p = c.host_dir().join("not-a-ns");
    std::fs::write(&p, "").unwrap();
    c.set_namespace("network", Some(p.to_str().unwrap()));
    let o = c.run();
    o.assert_fail();
    assert!(o.stdout.is_empty(), "{o}");
}

#[test]
fn user_namespace_with_mappings() {
    let mut c = Container::new("ns-user");
    c.set_namespace("user", None);
    c.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    without_cgroup_mount(&mut c);
    let r = c.check(&["read", "/proc/self/uid_map", "read", "/proc/self/gid_map"]);
    assert_eq!(r["uid"], 0);
    assert_ne!(r["namespaces"]["user"], host_ns("user"));
    let norm = |s: &serde_json::Value| {
        s.as_str()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(norm(&probe(&r, 0)["content"]), "0 100000 65536");
    assert_eq!(norm(&probe(&r, 1)["content"]), "0 100000 65536");
}

#[test]
fn pid_namespace_hides_host_processes() {
    let mut c = Container::new("ns-pid");
    let r = c.check(&["exists", "/proc/2", "exists", "/proc/1"]);
    assert_eq!(r["pid"], 1);
    assert_eq!(
        probe(&r, 0)["exists"],
        false,
        "only the container's process is visible"
    );
    assert_eq!(probe(&r, 1)["exists"], true);
}

/// sysfs/cgroup mounts need privileges over the host's: no cgroup mount, as
/// runc's `spec --rootless` does.
fn without_cgroup_mount(c: &mut Container) {
    c.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "cgroup");
}

/// A created "pod" with a user namespace mapping 0 to `host_id`; its init's pid.
fn userns_pod(name: &str, host_id: u32) -> (Container, i64) {
    let mut pod = Container::new(name);
    pod.set_namespace("user", None);
    let map = json!([{"containerID": 0, "hostID": host_id, "size": 65536}]);
    pod.config["linux"]["uidMappings"] = map.clone();
    pod.config["linux"]["gidMappings"] = map;
    without_cgroup_mount(&mut pod);
    pod.args(&["/bin/sleep", "30"]);
    pod.create().assert_ok();
    let pid = pod.state()["pid"].as_i64().unwrap();
    (pod, pid)
}

/// Kubernetes' user namespaces: a container joins its pod's user namespace
/// by path and makes its own mount, pid and uts namespaces, which that user
/// namespace must own (else the init, root there, can't mount its rootfs).
#[test]
fn join_user_namespace_by_path_and_create_the_rest() {
    let (pod, pod_pid) = userns_pod("ns-userjoin-pod", 200000);
    let userns = format!("/proc/{pod_pid}/ns/user");
    let want = dev_ino(std::path::Path::new(&userns)).1;

    let mut c = Container::new("ns-userjoin");
    c.set_namespace("user", Some(&userns));
    c.config["hostname"] = json!("in-pod");
    without_cgroup_mount(&mut c);
    let r = c.check(&["read", "/proc/self/uid_map"]);
    assert_eq!(r["namespaces"]["user"], want, "{}", brief(&r));
    assert_eq!(r["uid"], 0);
    assert_eq!(r["pid"], 1);
    assert_eq!(r["hostname"], "in-pod");
    for ns in ["mnt", "pid", "uts"] {
        assert_ne!(r["namespaces"][ns], host_ns(ns), "{ns}");
    }
    let map: Vec<String> = probe(&r, 0)["content"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(map, ["0", "200000", "65536"]);
    pod.delete(true).assert_ok();
}

/// The same with the pod's pid namespace shared (shareProcessNamespace): the helper
/// joins it for the init, and the runtime still learns the init's host pid.
#[test]
fn join_user_and_pid_namespaces_by_path_and_create_the_rest() {
    let (pod, pod_pid) = userns_pod("ns-userpid-pod", 300000);

    let mut c = Container::new("ns-userpid");
    c.set_namespace("user", Some(&format!("/proc/{pod_pid}/ns/user")));
    c.set_namespace("pid", Some(&format!("/proc/{pod_pid}/ns/pid")));
    without_cgroup_mount(&mut c);
    c.args(&["/bin/sleep", "30"]);
    c.create().assert_ok();
    let pid = c.state()["pid"].as_i64().unwrap();
    // The state's pid is the host's view of our init, inside the pod's pid namespace.
    let ns = |p: i64, n: &str| dev_ino(std::path::Path::new(&format!("/proc/{p}/ns/{n}"))).1;
    assert_eq!(ns(pid, "pid"), ns(pod_pid, "pid"));
    assert_eq!(ns(pid, "user"), ns(pod_pid, "user"));
    assert_ne!(ns(pid, "mnt"), ns(pod_pid, "mnt"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert_eq!(
        nspid.split_whitespace().nth(1),
        Some(pid.to_string().as_str()),
        "{nspid}"
    );
    assert!(
        nspid.split_whitespace().count() == 3,
        "one pid per level: {nspid}"
    );
    c.start().assert_ok();
    c.delete(true).assert_ok();
    pod.delete(true).assert_ok();
}

/// `lo`'s interface flags as the container sees them (IFF_UP is 0x1).
fn lo_flags(c: &mut Container) -> u32 {
    c.args(&["cat", "/sys/class/net/lo/flags"]);
    let o = c.run();
    o.assert_ok();
    let hex = o.stdout.trim().trim_start_matches("0x");
    u32::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("flags: {o}"))
}

/// Berth before 2026-12 left it down; runc and crun bring it up.
#[test]
fn new_network_namespace_has_loopback_up() {
    let mut c = Container::new("ns-lo-up");
    assert_eq!(lo_flags(&mut c) & 1, 1, "lo is down in a new netns");
    // A server on 127.0.0.1 is reachable from inside: bind + connect.
    c.args(&["/bin/checker", "tcp", "127.0.0.1"]);
    let r = c.run();
    r.assert_ok();
    assert_eq!(probe(&r.json(), 0)["ok"], true, "{r}");
}

#[test]
fn joined_network_namespace_keeps_its_loopback_as_configured() {
    let ns = NetNs::add(&format!("berth-spec-lo-{}", std::process::id()));
    let mut c = Container::new("ns-lo-joined");
    c.set_namespace("network", Some(&ns.path()));
    assert_eq!(
        lo_flags(&mut c) & 1,
        0,
        "a joined netns is its owner's to configure"
    );
}

/// The mount points under `dir` in our (the host's) mount table.
fn host_mounts_under(dir: &std::path::Path) -> Vec<String> {
    read_or_empty(std::path::Path::new("/proc/self/mountinfo"))
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|mp| mp.starts_with(dir.to_str().unwrap()))
        .collect()
}

/// Known to fail with runc 1.1: it runs the config but leaves the
/// container's mounts (proc, dev, sys, cgroups) in the host's table.
#[test]
fn without_a_mount_namespace_runs_chrooted_and_leaves_the_host_table_as_it_was() {
    let mut c = Container::new("ns-no-mnt");
    c.remove_namespace("mount");
    // What needs a private mount table can't be asked for (runc refuses too).
    c.config["linux"]["maskedPaths"] = json!([]);
    c.config["linux"]["readonlyPaths"] = json!([]);
    let before = host_mounts_under(c.base());
    c.args(&["sleep", "1000"]);
    c.create().assert_ok();
    c.start().assert_ok();
    c.wait_status("running", 10);
    // The container sees its rootfs as / and its own /proc, in the host's mount namespace.
    let o = c.runtime(&[
        "exec",
        &c.id,
        "sh",
        "-c",
        "ls /bin/checker && cat /proc/1/comm",
    ]);
    o.assert_ok();
    assert!(
        o.stdout.contains("/bin/checker") && o.stdout.contains("sleep"),
        "{o}"
    );
    let pid = c.state()["pid"].as_i64().unwrap();
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    assert_eq!(theirs, std::fs::read_link("/proc/self/ns/mnt").unwrap());
    let root = std::fs::read_link(format!("/proc/{pid}/root")).unwrap();
    assert_eq!(root, std::fs::canonicalize(c.rootfs()).unwrap());
    assert!(
        !host_mounts_under(c.base()).is_empty(),
        "its /proc is in the host's table"
    );
    c.delete(true).assert_ok();
    assert_eq!(
        host_mounts_under(c.base()),
        before,
        "delete left mounts behind"
    );

    // A refused field is named, and nothing is mounted or left.
    let mut d = Container::new("ns-no-mnt-masked");
    d.remove_namespace("mount");
    let o = d.run();
    o.assert_fail();
    assert!(
        o.stderr.contains("linux.maskedPaths") && o.stderr.contains("mount namespace"),
        "{o}"
    );
    assert!(host_mounts_under(d.base()).is_empty());
    assert!(!d.has_state_dir());
}

#[test]
fn without_a_mount_namespace_a_failed_create_unmounts_what_it_mounted() {
    let mut c = Container::new("ns-no-mnt-fail");
    c.remove_namespace("mount");
    c.config["linux"]["maskedPaths"] = json!([]);
    c.config["linux"]["readonlyPaths"] = json!([]);
    // Fails after the mounts are made: args[0] is looked up at the end.
    c.args(&["/no/such/program"]);
    let o = c.run();
    o.assert_fail();
    assert!(
        host_mounts_under(c.base()).is_empty(),
        "{:?}",
        host_mounts_under(c.base())
    );
    assert!(!c.has_state_dir());
}
