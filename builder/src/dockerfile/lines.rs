//! Text into logical instructions, BuildKit's way: parser directives at the
//! top; each instruction starts on a non-blank, non-comment line, its leading
//! whitespace dropped; a trailing escape character continues it on the next
//! line (comment lines and blank lines in between are skipped, continuation
//! lines keep their leading whitespace); heredoc bodies follow the logical
//! line, one after another.

use super::directives::Directives;
use super::error::{At, AtLocation};
use super::syntax::{self, Node};
use super::{heredoc, Heredoc, Location};

/// The nodes of a file and its directives.
#[derive(Debug)]
pub(crate) struct Doc {
    pub escape: char,
    pub syntax: Option<String>,
    pub check: Option<String>,
    pub nodes: Vec<Node>,
}

/// Physical lines with a cursor; numbers are 1-based.
struct Reader<'a> {
    lines: Vec<&'a str>,
    next: usize,
}

impl<'a> Reader<'a> {
    /// Takes the next line (with its newline) and its number.
    fn take(&mut self) -> Option<(&'a str, usize)> {
        let line = *self.lines.get(self.next)?;
        self.next += 1;
        Some((line, self.next))
    }
}

pub(crate) fn split(text: &str) -> Result<Doc, At> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut r = Reader {
        lines: text.split_inclusive('\n').collect(),
        next: 0,
    };
    let mut d = Directives::new();
    let mut nodes = Vec::new();
    while let Some((raw, number)) = r.take() {
        let at = Location {
            line: number,
            column: 1,
        };
        let body = trim_newline(raw);
        let left = body.trim_start();
        d.line(left).at(at)?;
        let location = Location {
            line: number,
            column: body.chars().count() - left.chars().count() + 1,
        };
        let (first, end) = trim_continuation(strip_comment(left), d.escape);
        if end && first.is_empty() {
            continue;
        }
        let line = continued(&mut r, &mut d, first, end)?;
        let mut node = syntax::node(&line, location, d.escape)?;
        if node.can_contain_heredoc() {
            let docs = heredoc::from_line(&line).at(location)?;
            node.heredocs = read_bodies(&mut r, docs, location)?;
        }
        nodes.push(node);
    }
    if nodes.is_empty() {
        let line = r.lines.len().max(1);
        return Err(At::new(
            Location { line, column: 1 },
            "file with no instructions",
        ));
    }
    Ok(Doc {
        escape: d.escape,
        syntax: d.syntax,
        check: d.check,
        nodes,
    })
}

/// Joins continuation lines onto `line` until one does not end in the escape.
fn continued(
    r: &mut Reader<'_>,
    d: &mut Directives,
    first: &str,
    mut end: bool,
) -> Result<String, At> {
    let mut line = first.to_string();
    while !end {
        let Some((raw, number)) = r.take() else { break };
        let body = trim_newline(raw);
        d.line(body).at(Location {
            line: number,
            column: 1,
        })?;
        let left = body.trim_start();
        if left.starts_with('#') || left.is_empty() {
            continue;
        }
        let (part, e) = trim_continuation(body, d.escape);
        line.push_str(part);
        end = e;
    }
    Ok(line)
}

/// Reads each heredoc's body, in order, up to its terminator line.
fn read_bodies(r: &mut Reader<'_>, docs: Vec<Heredoc>, at: Location) -> Result<Vec<Heredoc>, At> {
    let mut out = Vec::with_capacity(docs.len());
    for mut doc in docs {
        let mut terminated = false;
        while let Some((raw, _)) = r.take() {
            let mut candidate = trim_newline(raw);
            if doc.chomp {
                candidate = candidate.trim_start_matches('\t');
            }
            if candidate == doc.name {
                terminated = true;
                break;
            }
            doc.content.push_str(raw);
        }
        if !terminated {
            let msg = format!(
                "unterminated heredoc {} started on line {}",
                doc.name, at.line
            );
            return Err(At::new(at, msg));
        }
        if doc.chomp {
            doc.content = heredoc::chomp(&doc.content);
        }
        out.push(doc);
    }
    Ok(out)
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

/// A line starting with `#` is a comment: nothing of it is kept.
fn strip_comment(s: &str) -> &str {
    if s.starts_with('#') {
        ""
    } else {
        s
    }
}

/// Strips a trailing escape (and blanks after it); false when it continues.
/// An escaped escape (`\\` at the end) does not continue the line.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let t = line.trim_end_matches([' ', '\t']);
    if let Some(before) = t.strip_suffix(escape) {
        if !before.ends_with(escape) {
            return (before, false);
        }
    }
    (line, true)
}
