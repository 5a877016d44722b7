//! `.dockerignore` patterns (and COPY --exclude), as Docker's moby/patternmatcher
//! and its ignorefile reader take them (OWNER: expand helper).
//!
//! One pattern a line; `#` at the very start of a line makes a comment;
//! whitespace around a pattern is dropped; patterns are cleaned like paths
//! (`/a`, `./a`, `a/`, `b/../a` are all `a`); `!` makes an exception. The
//! last pattern that matches a path decides, and a pattern matches a path
//! when it matches the path or any directory above it.

mod clean;
mod pattern;
#[cfg(test)]
mod tests;

use clean::clean;
use pattern::Pattern;

#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    /// `file` is the ignore file's name, or `--exclude` for patterns given
    /// directly (then `line` counts the patterns from 1).
    #[error("{file}:{line}: bad pattern {pattern:?}: {why}")]
    Pattern {
        file: String,
        line: usize,
        pattern: String,
        why: String,
    },
}

#[derive(Debug, Clone)]
struct Rule {
    exception: bool,
    pattern: Pattern,
}

/// A parsed pattern list.
#[derive(Debug, Default, Clone)]
pub struct Matcher {
    rules: Vec<Rule>,
}

impl Matcher {
    /// Parses `.dockerignore` text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Matcher, IgnoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // `lines` also drops the `\r` of CRLF line ends, as Go's reader does.
        let lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.starts_with('#'));
        Matcher::build(lines.map(|(i, l)| (i + 1, l)), file)
    }

    /// Patterns given directly (COPY --exclude).
    pub fn from_patterns(patterns: &[String]) -> Result<Matcher, IgnoreError> {
        let numbered = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| (i + 1, p.as_str()));
        Matcher::build(numbered, "--exclude")
    }

    fn build<'a>(
        lines: impl Iterator<Item = (usize, &'a str)>,
        file: &str,
    ) -> Result<Matcher, IgnoreError> {
        let mut rules = Vec::new();
        for (line, raw) in lines {
            let bad = |why: String| IgnoreError::Pattern {
                file: file.to_string(),
                line,
                pattern: raw.trim().to_string(),
                why,
            };
            let Some((exception, cleaned)) = normalize(raw).map_err(bad)? else {
                continue;
            };
            let pattern = Pattern::parse(&cleaned).map_err(bad)?;
            rules.push(Rule { exception, pattern });
        }
        Ok(Matcher { rules })
    }

    /// No patterns at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether any pattern is a `!` exception (without one, a walker can
    /// skip every excluded directory outright).
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|r| r.exception)
    }

    /// Whether `path` (relative to the context, `/`-separated, no leading `/`)
    /// is excluded. The context root itself never is.
    pub fn excluded(&self, path: &str) -> bool {
        let path = clean(path.trim_start_matches('/'));
        if path == "." {
            return false;
        }
        self.last_match(&path)
            .is_some_and(|i| !self.rules[i].exception)
    }

    /// Whether anything under the excluded directory `dir` could be re-included
    /// by a `!` pattern (so the walk must still descend into it). True for a
    /// directory that is not excluded at all: its contents may be wanted.
    pub fn may_include_below(&self, dir: &str) -> bool {
        let dir = clean(dir.trim_start_matches('/'));
        if dir == "." || !self.excluded(&dir) {
            return true;
        }
        // Every pattern that matches `dir` matches all below it too, so only
        // an exception after the last of those can win for a path below;
        // and it must be able to match such a path itself.
        let Some(last) = self.last_match(&dir) else {
            return true;
        };
        self.rules[last + 1..]
            .iter()
            .any(|r| r.exception && r.pattern.can_match_below(&dir))
    }

    /// The index of the last rule matching `path` or a directory above it.
    fn last_match(&self, path: &str) -> Option<usize> {
        let candidates: Vec<&str> = path
            .match_indices('/')
            .map(|(i, _)| &path[..i])
            .chain([path])
            .collect();
        self.rules
            .iter()
            .rposition(|r| candidates.iter().any(|c| r.pattern.matches(c)))
    }
}

/// A raw line as Docker's ignore-file reader leaves it: `None` for a blank
/// one, else whether it is an exception and the cleaned pattern.
fn normalize(raw: &str) -> Result<Option<(bool, String)>, String> {
    let p = raw.trim();
    if p.is_empty() {
        return Ok(None);
    }
    let (exception, p) = match p.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, p),
    };
    if exception && p.is_empty() {
        return Err("illegal exclusion pattern: \"!\"".into());
    }
    let mut cleaned = clean(p);
    // `/a` means `a` at the context root; `/` alone stays (and matches nothing).
    if cleaned.len() > 1 && cleaned.starts_with('/') {
        cleaned.remove(0);
    }
    Ok(Some((exception, cleaned)))
}
