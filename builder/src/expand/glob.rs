//! The shell patterns of `${VAR#p}`, `${VAR%p}` and `${VAR/p/r}`: `*`, `?`
//! and backslash escapes (no bracket expressions, as in BuildKit).
//!
//! BuildKit turns a pattern into a Go regular expression and lets it pick
//! the match; which match that is depends on Go's leftmost-first priorities
//! (a greedy `*` prefers the longest run, a lazy one the shortest, and `.`
//! never matches a newline). The matcher below reproduces those choices
//! with a table over (pattern position, text position), in linear space and
//! without recursion, so no value or pattern can blow the stack.

use super::ExpandError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `?`: one character, not a newline.
    One,
    /// `*`: a run of characters without a newline.
    Star,
}

/// Reads a pattern. The escape is always a backslash here (even under
/// `# escape=\``), because BuildKit's pattern reader hard-codes it; `\}` and
/// `\/` are how a pattern spells the delimiters and mean the bare character.
fn parse(pattern: &str) -> Result<Vec<Tok>, ExpandError> {
    let mut toks = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let tok = match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            '\\' => match chars.peek().copied() {
                Some('}' | '/') => continue,
                Some(e @ ('*' | '?' | '\\')) => {
                    chars.next();
                    Tok::Lit(e)
                }
                other => {
                    let why = match other {
                        Some(e) => format!("invalid escape '\\{e}'"),
                        None => "invalid escape '\\' at the end".to_string(),
                    };
                    return Err(ExpandError::InvalidPattern {
                        pattern: pattern.to_string(),
                        why,
                    });
                }
            },
            _ => Tok::Lit(c),
        };
        toks.push(tok);
    }
    Ok(toks)
}

/// For every start position in `text`, where the match that starts there
/// ends (the one Go's priorities pick), or `None` if none starts there.
fn match_ends(toks: &[Tok], text: &[char], greedy: bool) -> Vec<Option<usize>> {
    let n = text.len();
    // After the last token: the match ends wherever we are.
    let mut next: Vec<Option<usize>> = (0..=n).map(Some).collect();
    for tok in toks.iter().rev() {
        let mut cur = vec![None; n + 1];
        match *tok {
            Tok::Lit(c) => {
                for p in 0..n {
                    if text[p] == c {
                        cur[p] = next[p + 1];
                    }
                }
            }
            Tok::One => {
                for p in 0..n {
                    if text[p] != '\n' {
                        cur[p] = next[p + 1];
                    }
                }
            }
            Tok::Star => star_row(text, &next, &mut cur, greedy),
        }
        next = cur;
    }
    next
}

/// A `*` at `p` may stop at any `q` in `p..=run_end(p)` (no newline in
/// between). Greedy takes the first success trying `q` from the far end,
/// lazy from `p`; both are carried right to left in one sweep.
fn star_row(text: &[char], next: &[Option<usize>], cur: &mut [Option<usize>], greedy: bool) {
    let n = text.len();
    let mut carried = next[n];
    cur[n] = carried;
    for p in (0..n).rev() {
        carried = if text[p] == '\n' {
            next[p]
        } else if greedy {
            carried.or(next[p])
        } else {
            next[p].or(carried)
        };
        cur[p] = carried;
    }
}

/// `${VAR#p}` (shortest) / `${VAR##p}` (longest): drops a matching prefix.
pub(super) fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, ExpandError> {
    let toks = parse(pattern)?;
    let text: Vec<char> = value.chars().collect();
    Ok(match match_ends(&toks, &text, greedy)[0] {
        Some(end) => text[end..].iter().collect(),
        None => value.to_string(),
    })
}

/// `${VAR%p}` / `${VAR%%p}`: drops a matching suffix. BuildKit matches the
/// reversed pattern against the reversed value, so the same is done here.
pub(super) fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, ExpandError> {
    let mut toks = parse(pattern)?;
    toks.reverse();
    let mut text: Vec<char> = value.chars().collect();
    text.reverse();
    Ok(match match_ends(&toks, &text, greedy)[0] {
        Some(end) => text[end..].iter().rev().collect(),
        None => value.to_string(),
    })
}

/// `${VAR/p/r}` (first match) and `${VAR//p/r}` (every match); `*` is
/// greedy and the match unanchored.
pub(super) fn replace(
    pattern: &str,
    value: &str,
    repl: &str,
    all: bool,
) -> Result<String, ExpandError> {
    let toks = parse(pattern)?;
    let text: Vec<char> = value.chars().collect();
    let ends = match_ends(&toks, &text, true);
    let find = |from: usize| (from..=text.len()).find_map(|s| ends[s].map(|e| (s, e)));
    if !all {
        return Ok(match find(0) {
            Some((s, e)) => {
                let mut out: String = text[..s].iter().collect();
                out.push_str(repl);
                out.extend(&text[e..]);
                out
            }
            None => value.to_string(),
        });
    }
    // Go's ReplaceAllString: no second replacement for an empty match right
    // after a match, always advance, and `$` in the replacement is a
    // template (see `expand_template`).
    let mut out = String::new();
    let (mut last_end, mut search) = (0, 0);
    while search <= text.len() {
        let Some((s, e)) = find(search) else { break };
        out.extend(&text[last_end..s]);
        if e > last_end || s == 0 {
            let matched: String = text[s..e].iter().collect();
            out.push_str(&expand_template(repl, &matched));
        }
        last_end = e;
        search = if search + 1 > e { search + 1 } else { e };
    }
    out.extend(&text[last_end.min(text.len())..]);
    Ok(out)
}

/// BuildKit hands `${VAR//p/r}`'s replacement to Go's ReplaceAllString,
/// which reads `$` in it as a group reference: `$$` is `$`, `$0`/`${0}` the
/// whole match, any other `$name`/`${name}` nothing (the pattern has no
/// groups), and a `$` that starts no reference stays. Only reachable with
/// a `$` that survived expansion (escaped, or inside a variable's value).
fn expand_template(template: &str, matched: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        match group_ref(rest) {
            Some((is_whole, r)) => {
                if is_whole {
                    out.push_str(matched);
                }
                rest = r;
            }
            None => out.push('$'),
        }
    }
    out.push_str(rest);
    out
}

/// After a `$`: `name` or `{name}` (letters, digits, `_`). Returns whether
/// it names group 0 and what follows; `None` if no reference starts here.
fn group_ref(s: &str) -> Option<(bool, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let len = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if len == 0 {
        return None;
    }
    let (name, mut rest) = body.split_at(len);
    if braced {
        rest = rest.strip_prefix('}')?;
    }
    Some((name == "0", rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_escapes() {
        assert_eq!(parse(r"a\*").unwrap(), vec![Tok::Lit('a'), Tok::Lit('*')]);
        assert_eq!(parse(r"\}\/").unwrap(), vec![Tok::Lit('}'), Tok::Lit('/')]);
        assert_eq!(parse(r"\\?").unwrap(), vec![Tok::Lit('\\'), Tok::One]);
        for bad in [r"\", r"\x", r"\\\"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn priorities() {
        let t = |p: &str, v: &str, g| trim_prefix(p, v, g).unwrap();
        assert_eq!(t("*x", "axbx", false), "bx");
        assert_eq!(t("*x", "axbx", true), "");
        assert_eq!(t("*", "abc", false), "abc");
        assert_eq!(t("*", "abc", true), "");
        // `*` stops at a newline, like Go's `.`.
        assert_eq!(t("*", "ab\ncd", true), "\ncd");
        assert_eq!(t("?", "\nx", true), "\nx");
        let s = |p: &str, v: &str, g| trim_suffix(p, v, g).unwrap();
        assert_eq!(s("x*", "axbx", false), "axb");
        assert_eq!(s("x*", "axbx", true), "a");
        assert_eq!(s("", "abc", true), "abc");
    }

    #[test]
    fn replace_all_like_go() {
        let r = |p: &str, v: &str, x: &str| replace(p, v, x, true).unwrap();
        assert_eq!(r("", "ab", "-"), "-a-b-");
        assert_eq!(r("*", "ab", "-"), "-");
        // glob `*` is any run, not "more a"s
        assert_eq!(r("a*", "baaac", "X"), "bX");
        assert_eq!(r("a", "aXa", "[$0]"), "[a]X[a]");
        assert_eq!(r("a", "a", "$$-${0}-$x-${x-$"), "$-a--${x-$");
        assert_eq!(replace("a", "aa", "$0", false).unwrap(), "$0a");
    }
}
