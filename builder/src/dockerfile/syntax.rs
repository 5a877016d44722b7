//! One logical line into keyword, flags and arguments: BuildKit's parser
//! dispatch (`splitCommand`, `extractBuilderFlags`, `parseWords`,
//! `parseNameVal`, `parseMaybeJSON`, ...). Errors found here are "parse"
//! errors, reported before any instruction is typed.

use super::error::{At, AtLocation};
use super::{Heredoc, Location};

/// A parsed logical line, before typing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// The keyword as written (`run`, `RUN`).
    pub keyword: String,
    /// The keyword lowercased.
    pub cmd: String,
    /// `--name[=value]` words before the arguments, quotes removed.
    pub flags: Vec<String>,
    /// The arguments as the dispatch function split them.
    pub args: Vec<String>,
    /// The arguments were a JSON array.
    pub json: bool,
    /// ONBUILD's trigger.
    pub sub: Option<Box<Node>>,
    pub heredocs: Vec<Heredoc>,
    /// The logical line, trimmed.
    pub original: String,
    pub location: Location,
}

impl Node {
    /// RUN, COPY and ADD in shell form (also as ONBUILD triggers) may carry
    /// heredocs.
    pub fn can_contain_heredoc(&self) -> bool {
        if let Some(sub) = &self.sub {
            return sub.can_contain_heredoc();
        }
        matches!(self.cmd.as_str(), "run" | "copy" | "add") && !self.json
    }
}

/// BuildKit's `[\t\v\f\r ]`, what instruction words are split on.
pub(crate) fn is_token_space(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Splits one logical line.
pub(crate) fn node(line: &str, location: Location, escape: char) -> Result<Node, At> {
    split(line, location, escape, true)
}

/// `trigger`: parse ONBUILD's trigger too. Only one level: a trigger that is
/// itself ONBUILD is an error anyway, and a chain must not recurse.
fn split(line: &str, location: Location, escape: char, trigger: bool) -> Result<Node, At> {
    let trimmed = line.trim();
    let (keyword, rest) = match trimmed.find(is_token_space) {
        Some(i) => (
            &trimmed[..i],
            trimmed[i..].trim_start_matches(is_token_space),
        ),
        None => (trimmed, ""),
    };
    let (rest, flags) = extract_flags(rest);
    let rest = rest.trim();
    let cmd = keyword.to_ascii_lowercase();
    let mut node = Node {
        keyword: keyword.to_string(),
        cmd,
        flags,
        args: Vec::new(),
        json: false,
        sub: None,
        heredocs: Vec::new(),
        original: trimmed.to_string(),
        location,
    };
    dispatch(&mut node, rest, escape).at(location)?;
    if trigger && node.cmd == "onbuild" && !rest.is_empty() {
        node.sub = Some(Box::new(split(rest, location, escape, false)?));
    }
    Ok(node)
}

fn dispatch(node: &mut Node, rest: &str, escape: char) -> Result<(), String> {
    let (args, json) = match node.cmd.as_str() {
        "add" | "copy" | "volume" => maybe_json_to_list(rest)?,
        "arg" => (parse_words(rest, escape), false),
        "cmd" | "entrypoint" | "run" | "shell" => maybe_json(rest)?,
        "env" => (name_val(rest, "ENV", escape)?, false),
        "label" => (name_val(rest, "LABEL", escape)?, false),
        "expose" | "from" => (whitespace_split(rest), false),
        "healthcheck" => health_config(rest)?,
        "maintainer" | "stopsignal" | "user" | "workdir" | "onbuild" => (string(rest), false),
        // Unknown instructions are reported when typed, as BuildKit does.
        _ => (Vec::new(), false),
    };
    node.args = args;
    node.json = json;
    Ok(())
}

/// Leading `--flag[=value]` words; returns the rest of the line and the flags.
/// Quotes and backslashes are removed from flag words (`--mount="a,b"`); a
/// lone `--` ends the flags.
pub(crate) fn extract_flags(line: &str) -> (&str, Vec<String>) {
    let mut flags = Vec::new();
    let mut rest = line;
    loop {
        let word_start = rest.trim_start();
        if !word_start.starts_with("--") {
            return (word_start, flags);
        }
        let (word, after) = flag_word(word_start);
        if word == "--" {
            return (after, flags);
        }
        flags.push(word);
        rest = after;
    }
}

/// One flag word: up to unquoted whitespace, quotes and `\` removed.
fn flag_word(s: &str) -> (String, &str) {
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => return (word, &s[i..]),
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                if let Some((_, next)) = chars.next() {
                    word.push(next);
                }
            }
            (_, c) => word.push(c),
        }
    }
    (word, "")
}

/// BuildKit's `parseWords`: words split on whitespace outside quotes; quotes
/// and escapes are kept (they are removed later, when expanded).
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            if in_word && (blank_ok || !word.is_empty()) {
                words.push(std::mem::take(&mut word));
            }
            word.clear();
            in_word = false;
            blank_ok = false;
            continue;
        }
        in_word = true;
        match quote {
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                blank_ok = true;
            }
            Some(q) if c == q => quote = None,
            _ => {}
        }
        // The escape keeps the next character in the word, even a quote or
        // a space; a trailing escape is dropped. Inside '' it is literal.
        if c == escape && quote != Some('\'') {
            let Some(next) = chars.next() else { break };
            word.push(c);
            word.push(next);
            continue;
        }
        word.push(c);
    }
    if in_word && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// ENV and LABEL: `k=v k2=v2`, or the legacy `k v w` (one key, the rest is
/// the value). Returns key, value, key, value...
fn name_val(rest: &str, key: &str, escape: char) -> Result<Vec<String>, String> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.contains('=') {
        let Some(i) = rest.find(is_token_space) else {
            return Err(format!("{key} must have two arguments"));
        };
        let value = rest[i..].trim_start_matches(is_token_space);
        return Ok(vec![rest[..i].to_string(), value.to_string()]);
    }
    let mut out = Vec::with_capacity(words.len() * 2);
    for word in &words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {word:?}. Must be of the form: name=value"
            ));
        };
        out.push(k.to_string());
        out.push(v.to_string());
    }
    Ok(out)
}

fn whitespace_split(rest: &str) -> Vec<String> {
    rest.split(is_token_space)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn string(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        Vec::new()
    } else {
        vec![rest.to_string()]
    }
}

const NOT_STRINGS: &str = "when using JSON array syntax, arrays must be comprised of strings only";

/// `Ok(None)`: not JSON (shell form). A JSON array holding anything but
/// strings is an error, as in BuildKit.
fn parse_json(rest: &str) -> Result<Option<Vec<String>>, String> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Ok(None);
    }
    // Go's json.Decoder reads the first value and ignores what follows it.
    let Some(end) = json_array_end(rest) else {
        return Ok(None);
    };
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(&rest[..end]) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        match v {
            serde_json::Value::String(s) => out.push(s),
            _ => return Err(NOT_STRINGS.to_string()),
        }
    }
    Ok(Some(out))
}

/// The byte just past the `]` closing the array at the start of `s`.
fn json_array_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// CMD, ENTRYPOINT, RUN, SHELL: a JSON array, else the whole text.
fn maybe_json(rest: &str) -> Result<(Vec<String>, bool), String> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    Ok(match parse_json(rest)? {
        Some(args) => (args, true),
        None => (vec![rest.to_string()], false),
    })
}

/// COPY, ADD, VOLUME: a JSON array, else whitespace-separated words.
fn maybe_json_to_list(rest: &str) -> Result<(Vec<String>, bool), String> {
    Ok(match parse_json(rest)? {
        Some(args) => (args, true),
        None => (whitespace_split(rest), false),
    })
}

/// HEALTHCHECK: the type word (CMD, NONE), then CMD's arguments as for CMD.
fn health_config(rest: &str) -> Result<(Vec<String>, bool), String> {
    let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if sep == 0 {
        return Ok((Vec::new(), false));
    }
    let (mut cmd, json) = maybe_json(rest[sep..].trim_start())?;
    cmd.insert(0, rest[..sep].to_string());
    Ok((cmd, json))
}
