//! Container names: docker's rule for what a name may be, and random
//! two-word names (an adjective and a scientist) when none is given.

/// `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, as docker allows.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b.len() <= 253
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

const ADJECTIVES: &[&str] = &[
    "agile", "bold", "brave", "bright", "calm", "clever", "cool", "curious", "daring", "eager",
    "fervent", "focused", "gallant", "gentle", "happy", "hopeful", "jolly", "keen", "kind",
    "lucid", "merry", "modest", "nifty", "patient", "peaceful", "quiet", "quirky", "relaxed",
    "serene", "sharp", "steady", "sunny", "swift", "tender", "upbeat", "vibrant", "wise", "witty",
    "zealous", "zen",
];

const SURNAMES: &[&str] = &[
    "agnesi",
    "babbage",
    "bohr",
    "boole",
    "cannon",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "euler",
    "faraday",
    "fermi",
    "franklin",
    "galileo",
    "gauss",
    "goodall",
    "hamilton",
    "hawking",
    "hopper",
    "hypatia",
    "johnson",
    "kepler",
    "knuth",
    "lamarr",
    "lovelace",
    "maxwell",
    "meitner",
    "mendel",
    "newton",
    "noether",
    "pascal",
    "planck",
    "ramanujan",
    "ritchie",
    "sagan",
    "shannon",
    "tesla",
    "thompson",
    "turing",
    "wozniak",
    "yalow",
];

/// `adjective_surname`; with `digit`, a digit appended (after collisions).
pub fn random_name(digit: bool) -> String {
    let r = super::random_hex(6).unwrap_or_default();
    let n = u64::from_str_radix(&r, 16).unwrap_or(0);
    let a = ADJECTIVES[(n % ADJECTIVES.len() as u64) as usize];
    let s = SURNAMES[((n >> 16) % SURNAMES.len() as u64) as usize];
    if digit {
        format!("{a}_{s}{}", (n >> 32) % 10)
    } else {
        format!("{a}_{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        for ok in ["web", "a1", "my_box.v2-x", "A-"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "a", "-web", "_x", ".x", "we b", "a/b", "ä1"] {
            assert!(!valid_name(bad), "{bad}");
        }
        for _ in 0..50 {
            let n = random_name(true);
            assert!(valid_name(&n), "{n}");
        }
    }
}
