//! BuildKit-compatible word expansion for Dockerfile values (OWNER: expand helper).
//!
//! `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`, `${VAR+x}`, `${VAR:?msg}`,
//! `${VAR?msg}`, quotes and the escape character (`\` or the `escape` directive's
//! character) as BuildKit's shell lexer does them.

use std::collections::BTreeSet;

/// Variables visible to an instruction (ARG + ENV of the stage).
pub trait Vars {
    fn get(&self, name: &str) -> Option<String>;
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExpandError {
    #[error("{0}")]
    Message(String),
}

/// The lexer; `escape` is the Dockerfile's escape character.
pub struct Lexer {
    pub escape: char,
}

/// What an expansion produced, and which variable names it looked up (used
/// build args go into the cache key).
#[derive(Debug, Default, PartialEq)]
pub struct Expanded<T> {
    pub value: T,
    pub used: BTreeSet<String>,
}

impl Lexer {
    pub fn new(escape: char) -> Self {
        Lexer { escape }
    }

    /// One word: quotes removed, variables expanded (ENV/ARG/LABEL values,
    /// WORKDIR, USER, COPY paths, ...).
    pub fn word(&self, _text: &str, _vars: &dyn Vars) -> Result<Expanded<String>, ExpandError> {
        Err(ExpandError::Message("expand: not written yet".into()))
    }

    /// Words split on unquoted whitespace after expansion (EXPOSE, VOLUME in
    /// shell form, ...).
    pub fn words(&self, _text: &str, _vars: &dyn Vars) -> Result<Expanded<Vec<String>>, ExpandError> {
        Err(ExpandError::Message("expand: not written yet".into()))
    }
}
