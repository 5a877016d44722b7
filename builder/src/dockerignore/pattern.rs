//! One cleaned pattern: how it reads and what it matches.
//!
//! Docker turns a pattern into a Go regular expression (`*` -> `[^/]*`,
//! `?` -> `[^/]`, `**/` -> `(.*/)?`, a final `**` -> `.*`), with two
//! shortcuts that behave differently from that regex and are kept here:
//! a literal pattern ending in `**` is a plain prefix test, and one that
//! starts with `**` and is literal after it is a plain suffix test (so
//! `**.log` matches `a.log` and `dir/xa.log`).

use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `?`: one character but `/`.
    One,
    /// `*`: a run without `/`.
    Star,
    /// `[...]`: inclusive ranges; like the regex Docker builds, it may
    /// match `/`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `**` followed by more: nothing, or anything ending in `/`.
    AnyDirs,
    /// `**` at the end: anything.
    Rest,
}

#[derive(Debug, Clone)]
enum Kind {
    Tokens(Vec<Tok>),
    /// `**` then literal text (the text as written, `/` included).
    Suffix(String),
}

#[derive(Debug, Clone)]
pub(super) struct Pattern {
    kind: Kind,
}

impl Pattern {
    /// Reads a cleaned pattern (no `!`), refusing what Go's filepath.Match
    /// refuses: an unclosed or empty `[...]`, a bad range, a trailing `\`.
    pub(super) fn parse(pattern: &str) -> Result<Pattern, String> {
        let toks = tokens(pattern)?;
        if let Some(rest) = pattern.strip_prefix("**") {
            if !rest.contains(['*', '?', '[', ']', '\\']) {
                return Ok(Pattern {
                    kind: Kind::Suffix(rest.to_string()),
                });
            }
        }
        Ok(Pattern {
            kind: Kind::Tokens(toks),
        })
    }

    /// Whether the whole of `path` matches.
    pub(super) fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Suffix(s) => path.ends_with(s.as_str()) || s.strip_prefix('/') == Some(path),
            Kind::Tokens(toks) => matches_tokens(toks, &path.chars().collect::<Vec<_>>()),
        }
    }

    /// Whether the pattern could match some path strictly below `dir`
    /// (a string `dir/x...`). May say yes too often, never too rarely.
    pub(super) fn can_match_below(&self, dir: &str) -> bool {
        let Kind::Tokens(toks) = &self.kind else {
            // `**<literal>`: `dir/<literal>` always ends with it.
            return true;
        };
        let mut states = closure(toks, vec![State::At(0)]);
        for c in dir.chars().chain(['/']) {
            states = closure(toks, step(toks, &states, c));
            if states.is_empty() {
                return false;
            }
        }
        // Every token can take at least one more character and the rest can
        // then be satisfied; only the accepting end cannot go on.
        states.iter().any(|s| *s != State::At(toks.len()))
    }
}

/// The scanner behind `Pattern::parse`.
fn tokens(pattern: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let tok = match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                // `**/` is `**`: the slash is part of what it matches.
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    Tok::Rest
                } else {
                    Tok::AnyDirs
                }
            }
            '*' => Tok::Star,
            '?' => Tok::One,
            '\\' => Tok::Lit(chars.next().ok_or("trailing '\\'")?),
            '[' => class(&mut chars)?,
            _ => Tok::Lit(c),
        };
        toks.push(tok);
    }
    Ok(toks)
}

/// After `[`: `^` negates; items are characters or `lo-hi` ranges, `\`
/// escapes; `]` closes after at least one item. Characters inside are
/// literal (Docker's regex translation mangles `*` or `?` there; Go's
/// filepath.Match, which validates the pattern, reads them literally).
fn class(chars: &mut std::iter::Peekable<std::str::Chars>) -> Result<Tok, String> {
    let negated = chars.next_if_eq(&'^').is_some();
    let mut ranges = Vec::new();
    loop {
        if !ranges.is_empty() && chars.next_if_eq(&']').is_some() {
            return Ok(Tok::Class { negated, ranges });
        }
        let lo = class_char(chars)?;
        let hi = if chars.next_if_eq(&'-').is_some() {
            class_char(chars)?
        } else {
            lo
        };
        if hi < lo {
            return Err(format!("invalid character class range {lo}-{hi}"));
        }
        ranges.push((lo, hi));
    }
}

fn class_char(chars: &mut std::iter::Peekable<std::str::Chars>) -> Result<char, String> {
    let c = match chars.next() {
        None => return Err("unclosed '['".into()),
        Some(c @ ('-' | ']')) => return Err(format!("unexpected '{c}' in character class")),
        Some('\\') => chars.next().ok_or("unclosed '['")?,
        Some(c) => c,
    };
    // The class must still be closed after this character.
    if chars.peek().is_none() {
        return Err("unclosed '['".into());
    }
    Ok(c)
}

fn class_matches(negated: bool, ranges: &[(char, char)], c: char) -> bool {
    ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != negated
}

/// Whole-string match by a table over (token, position), built from the
/// last token back; one row at a time, so memory stays linear.
fn matches_tokens(toks: &[Tok], text: &[char]) -> bool {
    let n = text.len();
    // After the last token only the end of the text matches.
    let mut next: Vec<bool> = (0..=n).map(|p| p == n).collect();
    for tok in toks.iter().rev() {
        let mut cur = vec![false; n + 1];
        cur[n] = next[n];
        match tok {
            Tok::Rest => cur.fill(true),
            Tok::Star => {
                // Stop here, or (not at a `/`) wherever a star from p+1 may.
                for p in (0..n).rev() {
                    cur[p] = next[p] || (text[p] != '/' && cur[p + 1]);
                }
            }
            Tok::AnyDirs => {
                // Stop here, or just after any later `/` where the rest matches.
                let mut after_slash = false;
                for p in (0..n).rev() {
                    after_slash |= text[p] == '/' && next[p + 1];
                    cur[p] = next[p] || after_slash;
                }
            }
            single => {
                for p in 0..n {
                    cur[p] = one_char(single, text[p]) && next[p + 1];
                }
                cur[n] = false;
            }
        }
        next = cur;
    }
    next[0]
}

/// Tokens that take exactly one character.
fn one_char(tok: &Tok, c: char) -> bool {
    match tok {
        Tok::Lit(l) => *l == c,
        Tok::One => c != '/',
        Tok::Class { negated, ranges } => class_matches(*negated, ranges, c),
        Tok::Star | Tok::AnyDirs | Tok::Rest => false,
    }
}

/// A position in the pattern while reading a prefix: before token `i`, or
/// inside the `.*/` of an `AnyDirs` token `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    At(usize),
    InDirs(usize),
}

/// Adds the states reachable without reading a character.
fn closure(toks: &[Tok], start: Vec<State>) -> Vec<State> {
    let mut seen = BTreeSet::new();
    let mut work = start;
    while let Some(s) = work.pop() {
        if !seen.insert(s) {
            continue;
        }
        if let State::At(t) = s {
            match toks.get(t) {
                Some(Tok::Star | Tok::Rest) => work.push(State::At(t + 1)),
                Some(Tok::AnyDirs) => work.extend([State::At(t + 1), State::InDirs(t)]),
                _ => {}
            }
        }
    }
    seen.into_iter().collect()
}

/// The states after reading `c`.
fn step(toks: &[Tok], states: &[State], c: char) -> Vec<State> {
    let mut out = Vec::new();
    for s in states {
        match *s {
            State::InDirs(t) => {
                out.push(State::InDirs(t));
                if c == '/' {
                    out.push(State::At(t + 1));
                }
            }
            State::At(t) => match toks.get(t) {
                None | Some(Tok::AnyDirs) => {}
                Some(Tok::Star) if c != '/' => out.push(State::At(t)),
                Some(Tok::Star) => {}
                Some(Tok::Rest) => out.push(State::At(t)),
                Some(tok) if one_char(tok, c) => out.push(State::At(t + 1)),
                Some(_) => {}
            },
        }
    }
    out
}
