//! Go's `time.ParseDuration` ("30s", "1m30s", "1.5h", "500ms", "-2us"), in
//! nanoseconds: HEALTHCHECK's flags use it.

const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a duration like Go does; errors read like Go's.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (ns, after) = component(rest, s)?;
        total = total.checked_add(ns).ok_or_else(invalid)?;
        rest = after;
    }
    let limit = if neg { 1u128 << 63 } else { (1u128 << 63) - 1 };
    if total > limit {
        return Err(invalid());
    }
    let magnitude = i128::try_from(total).map_err(|_| invalid())?;
    let signed = if neg { -magnitude } else { magnitude };
    i64::try_from(signed).map_err(|_| invalid())
}

/// One `<number>[.<fraction>]<unit>`; returns its nanoseconds and the rest.
fn component<'a>(rest: &'a str, whole: &str) -> Result<(u128, &'a str), String> {
    let invalid = || format!("time: invalid duration {whole:?}");
    let int_len = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (int, after) = rest.split_at(int_len);
    let (frac, after) = match after.strip_prefix('.') {
        Some(a) => a.split_at(a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len())),
        None => ("", after),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(invalid());
    }
    let unit_len = after
        .find(|c: char| c == '.' || c.is_ascii_digit())
        .unwrap_or(after.len());
    let (unit, after) = after.split_at(unit_len);
    if unit.is_empty() {
        return Err(format!("time: missing unit in duration {whole:?}"));
    }
    let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!("time: unknown unit {unit:?} in duration {whole:?}"));
    };
    let int_value: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| invalid())?
    };
    let mut ns = int_value.checked_mul(scale).ok_or_else(invalid)?;
    // Fractions beyond nanoseconds are dropped, like Go.
    let mut place = scale;
    for d in frac.bytes() {
        place /= 10;
        if place == 0 {
            break;
        }
        ns = ns.saturating_add(u128::from(d - b'0') * place);
    }
    if ns > 1u128 << 63 {
        return Err(invalid());
    }
    Ok((ns, after))
}
