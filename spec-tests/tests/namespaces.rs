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
