//! Signal names and numbers as runc's `kill` accepts them: KILL, SIGKILL, 9.

use nix::sys::signal::Signal;

use crate::{Error, Result};

/// Parses a signal given by name (with or without SIG) or number.
pub fn parse(s: &str) -> Result<i32> {
    let bad = || Error::Other(format!("invalid signal {s:?}"));
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=64).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(rt) = name.strip_prefix("RTMIN") {
        return realtime(libc::SIGRTMIN(), rt, 1).ok_or_else(bad);
    }
    if let Some(rt) = name.strip_prefix("RTMAX") {
        return realtime(libc::SIGRTMAX(), rt, -1).ok_or_else(bad);
    }
    format!("SIG{name}")
        .parse::<Signal>()
        .map(|s| s as i32)
        .map_err(|_| bad())
}

fn realtime(base: i32, offset: &str, sign: i32) -> Option<i32> {
    if offset.is_empty() {
        return Some(base);
    }
    let n: i32 = offset
        .strip_prefix(if sign > 0 { '+' } else { '-' })?
        .parse()
        .ok()?;
    let sig = base + sign * n;
    (libc::SIGRTMIN()..=libc::SIGRTMAX())
        .contains(&sig)
        .then_some(sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("KILL").unwrap(), 9);
        assert_eq!(parse("SIGKILL").unwrap(), 9);
        assert_eq!(parse("sigterm").unwrap(), 15);
        assert_eq!(parse("9").unwrap(), 9);
        assert_eq!(parse("RTMIN+1").unwrap(), libc::SIGRTMIN() + 1);
        assert!(parse("NOPE").is_err());
        assert!(parse("0").is_err());
        assert!(parse("65").is_err());
    }
}
