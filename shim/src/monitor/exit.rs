//! Exits and restarts: a wait status as docker's exit code, the restart
//! policy's decision, and docker's back-off (100 ms doubling, back to 100 ms
//! after 10 s up, at most a minute).

use std::time::Duration;

use crate::records::{RestartPolicy, State};

pub const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
/// Up this long, the container counts as having started well.
const RESET_AFTER: Duration = Duration::from_secs(10);

/// The exit code: the status, or 128 + the signal that killed it.
pub fn code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

/// The cgroup the shim asks the runtime to put the container in.
pub fn cgroup_path(id: &str) -> String {
    format!("/berth/{id}")
}

/// Whether the policy restarts after this exit.
pub fn should_restart(policy: &RestartPolicy, state: &State, code: i32) -> bool {
    if state.stopped_by_user {
        return false;
    }
    let yes = match policy.name.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => {
            code != 0
                && (policy.maximum_retry_count == 0
                    || state.restart_count < policy.maximum_retry_count)
        }
        _ => false,
    };
    yes
}

/// The wait before this restart (`planned`, unless the last run was long
/// enough to start over) and the one planned after it.
pub fn delays(planned: Duration, ran: Duration) -> (Duration, Duration) {
    let now = if ran >= RESET_AFTER {
        FIRST_DELAY
    } else {
        planned
    };
    (now, (now * 2).min(MAX_DELAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_and_back_off() {
        let p = |name: &str, n| RestartPolicy {
            name: name.into(),
            maximum_retry_count: n,
        };
        let s = |count, stopped| State {
            restart_count: count,
            stopped_by_user: stopped,
            ..Default::default()
        };
        assert!(!should_restart(&p("no", 0), &s(0, false), 1));
        assert!(should_restart(&p("always", 0), &s(9, false), 0));
        assert!(!should_restart(&p("always", 0), &s(0, true), 0));
        assert!(should_restart(&p("on-failure", 5), &s(4, false), 1));
        assert!(!should_restart(&p("on-failure", 5), &s(5, false), 1));
        assert!(!should_restart(&p("on-failure", 5), &s(0, false), 0));
        assert!(should_restart(&p("on-failure", 0), &s(99, false), 2));
        let short = Duration::from_millis(5);
        let ms = Duration::from_millis;
        assert_eq!(delays(FIRST_DELAY, short), (ms(100), ms(200)));
        assert_eq!(delays(ms(200), short), (ms(200), ms(400)));
        assert_eq!(delays(Duration::from_secs(50), short).1, MAX_DELAY);
        assert_eq!(delays(Duration::from_secs(8), RESET_AFTER).0, FIRST_DELAY);
        assert_eq!(code(3 << 8), 3);
        assert_eq!(code(9), 137);
    }
}
