//! BuildKit-compatible word expansion for Dockerfile values (OWNER: expand helper).
//!
//! `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`, `${VAR+x}`, `${VAR:?msg}`,
//! `${VAR?msg}`, the pattern operators `${VAR#p}`, `${VAR##p}`, `${VAR%p}`,
//! `${VAR%%p}`, `${VAR/p/r}`, `${VAR//p/r}`, quotes and the escape character
//! (`\` or the `escape` directive's character) as BuildKit's shell lexer
//! (frontend/dockerfile/shell) does them. Its quirks are kept on purpose: a
//! Dockerfile must expand here exactly as it does under `docker build`.

mod glob;
mod lex;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

/// Variables visible to an instruction (ARG + ENV of the stage).
pub trait Vars {
    fn get(&self, name: &str) -> Option<String>;
}

/// A list of `(name, value)` pairs, as ENV/ARG accumulate them: a later
/// pair overrides an earlier one with the same name.
impl Vars for [(String, String)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

impl Vars for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<String> {
        Vars::get(self.as_slice(), name)
    }
}

impl Vars for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}

impl<S: BuildHasher> Vars for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl<T: Vars + ?Sized> Vars for &T {
    fn get(&self, name: &str) -> Option<String> {
        (**self).get(name)
    }
}

/// Why a word could not be expanded. The texts are BuildKit's, so a user
/// who searches for them finds the Docker documentation.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ExpandError {
    /// `${VAR?msg}` / `${VAR:?msg}` on an unset (or empty) variable; `message`
    /// is the user's text, or BuildKit's default.
    #[error("{name}: {message}")]
    Required { name: String, message: String },
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    #[error("syntax error: missing '/' in ${{}}")]
    MissingSlash,
    /// `${}`, `${:...}`, `${{...}`, `${}...`.
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    /// `${VAR=x}`, `${VAR:x}`, `${.}`, ...: the operator as written.
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(String),
    /// `"single-quote"` or `"double-quote"`.
    #[error("unexpected end of statement while looking for matching {0}")]
    UnterminatedQuote(&'static str),
    #[error("invalid pattern ({pattern}) in substitution: {why}")]
    InvalidPattern { pattern: String, why: String },
    /// Ours, not BuildKit's: `${` nested this deep is refused.
    #[error("syntax error: substitutions nested more than {0} deep")]
    TooDeep(usize),
}

/// The lexer; `escape` is the Dockerfile's escape character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    pub escape: char,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer::new('\\')
    }
}

/// What an expansion produced, and which variable names it looked up and
/// found (used build args go into the cache key).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Expanded<T> {
    pub value: T,
    pub used: BTreeSet<String>,
}

impl Lexer {
    pub fn new(escape: char) -> Self {
        Lexer { escape }
    }

    /// One word: quotes removed, variables expanded (ENV/ARG/LABEL values,
    /// WORKDIR, USER, COPY paths, ...). Whitespace is kept as it is.
    pub fn word(&self, text: &str, vars: &dyn Vars) -> Result<Expanded<String>, ExpandError> {
        let (out, used) = lex::process(text, self.escape, vars)?;
        Ok(Expanded {
            value: out.word,
            used,
        })
    }

    /// Words split on unquoted whitespace after expansion (EXPOSE, VOLUME in
    /// shell form, ...). Whitespace from an unquoted `$VAR` splits too, as in
    /// a shell; empty words (`""`) are dropped, as BuildKit does.
    pub fn words(&self, text: &str, vars: &dyn Vars) -> Result<Expanded<Vec<String>>, ExpandError> {
        let (out, used) = lex::process(text, self.escape, vars)?;
        Ok(Expanded {
            value: out.words,
            used,
        })
    }
}
