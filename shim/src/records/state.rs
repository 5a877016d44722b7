//! What a container is doing: state.json, written by its monitor and the
//! verbs, and what a reader makes of it when the monitor is gone.

use serde::{Deserialize, Serialize};

use super::Root;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
    Removing,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Exited => "exited",
            Status::Removing => "removing",
            Status::Dead => "dead",
        }
    }

    /// A process exists (or is about to, restarting).
    pub fn is_live(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    /// The container's init process on the host (0 when none).
    pub pid: i32,
    /// /proc/PID/stat's start time of `pid`: a pid reused by another
    /// process after the monitor died is not mistaken for the container.
    #[serde(default)]
    pub pid_start: u64,
    pub monitor_pid: i32,
    pub started_at: String,
    pub finished_at: String,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub restart_count: u32,
    /// The user stopped it (stop, kill by stop): no restart policy applies,
    /// and unless-stopped stays down.
    #[serde(default)]
    pub stopped_by_user: bool,
    #[serde(default)]
    pub error: String,
    /// The kernel boot the state was written in: after a reboot nothing
    /// of it is running.
    #[serde(default)]
    pub boot_id: String,
    /// Bytes of output the log could not hold (full disk).
    #[serde(default)]
    pub log_lost_bytes: u64,
}

pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Field 22 of /proc/PID/stat (start time in clock ticks), 0 if gone.
pub fn pid_start_time(pid: i32) -> u64 {
    if pid <= 0 {
        return 0;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // comm may hold spaces and parens: fields count from the last ')'.
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    // A zombie has ended; only its parent has not reaped it yet.
    if after.split_whitespace().next() == Some("Z") {
        return 0;
    }
    after
        .split_whitespace()
        .nth(19)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

/// Whether the recorded process still runs (same pid, same start time).
pub fn process_alive(s: &State) -> bool {
    s.pid > 0 && s.pid_start != 0 && pid_start_time(s.pid) == s.pid_start
}

/// The state as it is now: a live status whose monitor is gone is checked
/// against the process itself (kill -9 of a monitor, a reboot).
pub fn observe(root: &Root, id: &str, mut s: State) -> State {
    if !s.status.is_live() || root.monitor_alive(id) {
        return s;
    }
    if s.boot_id == boot_id() && process_alive(&s) {
        if s.error.is_empty() {
            s.error = "the container's monitor is gone (its logs are no longer written)".into();
        }
        return s;
    }
    s.status = Status::Exited;
    s.pid = 0;
    if s.error.is_empty() {
        s.error = "the container's monitor is gone: its exit status is unknown".into();
        s.exit_code = 255;
    }
    s
}
