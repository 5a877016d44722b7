//! The scanner behind `Lexer::word` / `Lexer::words`: one left-to-right pass
//! that removes quotes, applies the escape character and expands `$`.
//!
//! Both results come out of the same pass because they differ only in where
//! whitespace splits: text from quotes, escapes and `${...}` defaults is
//! kept whole, text from an unquoted expansion is split like any other.

use std::collections::BTreeSet;

use super::{glob, ExpandError, Vars};

/// `${` nested deeper than this is refused: the scanner recurses per level
/// and a hostile Dockerfile line must not overflow the stack.
const MAX_DEPTH: usize = 256;

/// What one pass produced: the word (whitespace kept) and the same text
/// split on unquoted whitespace.
pub(super) struct Output {
    pub word: String,
    pub words: Vec<String>,
}

/// Expands `text`; returns the output and the names looked up and found.
pub(super) fn process(
    text: &str,
    escape: char,
    vars: &dyn Vars,
) -> Result<(Output, BTreeSet<String>), ExpandError> {
    let mut scanner = Scanner {
        chars: text.chars().collect(),
        pos: 0,
        escape,
        vars,
        used: BTreeSet::new(),
        depth: 0,
    };
    let out = scanner.until(None, false)?;
    Ok((out, scanner.used))
}

/// Accumulates the split words. An empty quoted string adds no word, as in
/// BuildKit (`a "" b` is two words).
#[derive(Default)]
struct Split {
    words: Vec<String>,
    cur: String,
}

impl Split {
    /// A character that whitespace-splits.
    fn push_char(&mut self, c: char) {
        if !c.is_whitespace() {
            self.cur.push(c);
        } else if !self.cur.is_empty() {
            self.words.push(std::mem::take(&mut self.cur));
        }
    }

    /// A character kept as it is (escaped).
    fn push_raw_char(&mut self, c: char) {
        self.cur.push(c);
    }

    fn push_str(&mut self, s: &str) {
        s.chars().for_each(|c| self.push_char(c));
    }

    /// Text kept whole (quoted).
    fn push_raw_str(&mut self, s: &str) {
        self.cur.push_str(s);
    }

    fn finish(mut self) -> Vec<String> {
        if !self.cur.is_empty() {
            self.words.push(self.cur);
        }
        self.words
    }
}

struct Scanner<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    vars: &'a dyn Vars,
    used: BTreeSet<String>,
    depth: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    /// BuildKit reports any failure inside `${...}` that ran off the end of
    /// the text as the missing delimiter: that is the mistake to fix.
    fn at_end_means(&self, err: ExpandError, missing: ExpandError) -> ExpandError {
        if self.at_end() {
            missing
        } else {
            err
        }
    }

    /// Scans up to `stop` (consumed) or, with `None`, to the end of the text.
    /// `raw` keeps escape characters in the output: the pattern operators
    /// want them, to tell an escaped `*` from a wildcard.
    fn until(&mut self, stop: Option<char>, raw: bool) -> Result<Output, ExpandError> {
        let mut word = String::new();
        let mut split = Split::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.pos += 1;
                return Ok(Output {
                    word,
                    words: split.finish(),
                });
            }
            match ch {
                '$' => {
                    let v = self.dollar()?;
                    split.push_str(&v);
                    word.push_str(&v);
                }
                '\'' => {
                    let v = self.single_quote()?;
                    split.push_raw_str(&v);
                    word.push_str(&v);
                }
                '"' => {
                    let v = self.double_quote(raw)?;
                    split.push_raw_str(&v);
                    word.push_str(&v);
                }
                _ => {
                    self.pos += 1;
                    if ch != self.escape {
                        split.push_char(ch);
                        word.push(ch);
                        continue;
                    }
                    if raw {
                        split.push_raw_char(ch);
                        word.push(ch);
                    }
                    // A trailing escape is dropped (BuildKit: `hello\` -> `hello`).
                    let Some(next) = self.bump() else { break };
                    split.push_raw_char(next);
                    word.push(next);
                }
            }
        }
        match stop {
            None => Ok(Output {
                word,
                words: split.finish(),
            }),
            Some('/') => Err(ExpandError::MissingSlash),
            Some(_) => Err(ExpandError::MissingBrace),
        }
    }

    /// `'...'`: everything literal, no escapes at all (not even of `'`).
    fn single_quote(&mut self) -> Result<String, ExpandError> {
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.bump() {
                None => return Err(ExpandError::UnterminatedQuote("single-quote")),
                Some('\'') => return Ok(self.chars[start..self.pos - 1].iter().collect()),
                Some(_) => {}
            }
        }
    }

    /// `"..."`: `$` expands; the escape character escapes only `"`, `$` and
    /// itself, and is kept literally before anything else (`"a\tb"`).
    fn double_quote(&mut self, raw: bool) -> Result<String, ExpandError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(ExpandError::UnterminatedQuote("double-quote")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(mut ch) => {
                    self.pos += 1;
                    if ch == self.escape {
                        if raw {
                            out.push(ch);
                        }
                        match self.peek() {
                            // Dropped here; the missing quote is reported next.
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                ch = n;
                                self.pos += 1;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    /// At a `$`: `$NAME`, `${...}`, or a literal `$`.
    fn dollar(&mut self) -> Result<String, ExpandError> {
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(self.lookup(&name).unwrap_or_default());
        }
        self.pos += 1;
        if self.depth >= MAX_DEPTH {
            return Err(ExpandError::TooDeep(MAX_DEPTH));
        }
        self.depth += 1;
        let result = self.braced();
        self.depth -= 1;
        result
    }

    /// After `${`.
    fn braced(&mut self) -> Result<String, ExpandError> {
        match self.peek() {
            None => return Err(ExpandError::MissingBrace),
            Some('{' | '}' | ':') => return Err(ExpandError::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        match self.bump() {
            Some('}') => Ok(self.lookup(&name).unwrap_or_default()),
            Some(':') => {
                let op = self.bump();
                self.modifier(&name, op, true)
            }
            Some(op @ ('+' | '-' | '?' | '#' | '%')) => self.modifier(&name, Some(op), false),
            Some('/') => self.replace(&name),
            Some(c) => Err(ExpandError::UnsupportedModifier(c.to_string())),
            // BuildKit says "unsupported modifier" with a replacement
            // character here; the missing brace is the useful message.
            None => Err(ExpandError::MissingBrace),
        }
    }

    /// `${NAME<op>word}` and `${NAME:<op>word}` (`colon`: empty counts as unset).
    fn modifier(
        &mut self,
        name: &str,
        op: Option<char>,
        colon: bool,
    ) -> Result<String, ExpandError> {
        let raw = matches!(op, Some('#' | '%'));
        let word = self
            .until(Some('}'), raw)
            .map_err(|e| self.at_end_means(e, ExpandError::MissingBrace))?
            .word;
        // Looked up after the word, so names in an unused default still
        // count as used: BuildKit does the same, and the cache key follows.
        let value = self.lookup(name);
        let unset = value.as_ref().is_none_or(|v| colon && v.is_empty());
        match op {
            Some('-') => Ok(if unset {
                word
            } else {
                value.unwrap_or_default()
            }),
            Some('+') => Ok(if unset { String::new() } else { word }),
            Some('?') => required(name, value, colon, word),
            Some(c @ ('#' | '%')) => {
                let (greedy, pattern) = match word.strip_prefix(c) {
                    Some(rest) => (true, rest),
                    None => (false, word.as_str()),
                };
                let value = value.unwrap_or_default();
                if c == '#' {
                    glob::trim_prefix(pattern, &value, greedy)
                } else {
                    glob::trim_suffix(pattern, &value, greedy)
                }
            }
            _ => {
                let mut written = String::from(if colon { ":" } else { "" });
                written.extend(op);
                Err(ExpandError::UnsupportedModifier(written))
            }
        }
    }

    /// `${NAME/pattern/replacement}` and `${NAME//pattern/replacement}`.
    fn replace(&mut self, name: &str) -> Result<String, ExpandError> {
        let all = self.peek() == Some('/');
        if all {
            self.pos += 1;
        }
        let pattern = self
            .until(Some('/'), true)
            .map_err(|e| self.at_end_means(e, ExpandError::MissingSlash))?
            .word;
        let replacement = self
            .until(Some('}'), true)
            .map_err(|e| self.at_end_means(e, ExpandError::MissingBrace))?
            .word;
        let value = self.lookup(name).unwrap_or_default();
        glob::replace(&pattern, &value, &replacement, all)
    }

    /// A variable name: a run of digits (positional, never set in a
    /// Dockerfile), one special parameter character, or letters, digits and
    /// `_` (BuildKit takes Unicode letters too).
    fn name(&mut self) -> String {
        let mut name = String::new();
        match self.peek() {
            Some(c) if c.is_numeric() => {
                while let Some(c) = self.peek().filter(|c| c.is_numeric()) {
                    name.push(c);
                    self.pos += 1;
                }
                return name;
            }
            Some(c @ ('@' | '*' | '#' | '?' | '-' | '$' | '!')) => {
                self.pos += 1;
                name.push(c);
                return name;
            }
            _ => {}
        }
        while let Some(c) = self.peek().filter(|&c| c.is_alphanumeric() || c == '_') {
            name.push(c);
            self.pos += 1;
        }
        name
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        let value = self.vars.get(name);
        if value.is_some() {
            self.used.insert(name.to_string());
        }
        value
    }
}

/// `${NAME?msg}` / `${NAME:?msg}`.
fn required(
    name: &str,
    value: Option<String>,
    colon: bool,
    word: String,
) -> Result<String, ExpandError> {
    let default = match &value {
        None => "is not allowed to be unset",
        Some(v) if colon && v.is_empty() => "is not allowed to be empty",
        Some(_) => return Ok(value.unwrap_or_default()),
    };
    let message = if word.is_empty() {
        default.to_string()
    } else {
        word
    };
    Err(ExpandError::Required {
        name: name.to_string(),
        message,
    })
}
