//! `.dockerignore` patterns (and COPY --exclude), as Docker's moby/patternmatcher
//! reads them (OWNER: expand helper).

#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    #[error("{file}:{line}: bad pattern {pattern:?}: {why}")]
    Pattern { file: String, line: usize, pattern: String, why: String },
}

/// A parsed pattern list.
#[derive(Debug, Default, Clone)]
pub struct Matcher {}

impl Matcher {
    /// Parses `.dockerignore` text; `file` names it in errors.
    pub fn parse(_text: &str, _file: &str) -> Result<Matcher, IgnoreError> {
        Ok(Matcher {})
    }

    /// Patterns given directly (COPY --exclude).
    pub fn from_patterns(_patterns: &[String]) -> Result<Matcher, IgnoreError> {
        Ok(Matcher {})
    }

    /// Whether `path` (relative to the context, `/`-separated, no leading `/`)
    /// is excluded.
    pub fn excluded(&self, _path: &str) -> bool {
        false
    }

    /// Whether anything under the excluded directory `dir` could be re-included
    /// by a `!` pattern (so the walk must still descend into it).
    pub fn may_include_below(&self, _dir: &str) -> bool {
        false
    }
}
