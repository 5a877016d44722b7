//! Errors: every one carries file:line:column.

use super::Location;

/// A Dockerfile that could not be parsed; Display is `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// An error before the file name is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct At {
    pub location: Location,
    pub message: String,
}

impl At {
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        At {
            location,
            message: message.into(),
        }
    }

    pub fn into_error(self, file: &str) -> ParseError {
        ParseError {
            file: file.to_string(),
            line: self.location.line,
            column: self.location.column,
            message: self.message,
        }
    }
}

/// Attaches a location to a message-only result.
pub(crate) trait AtLocation<T> {
    fn at(self, location: Location) -> Result<T, At>;
}

impl<T> AtLocation<T> for Result<T, String> {
    fn at(self, location: Location) -> Result<T, At> {
        self.map_err(|m| At::new(location, m))
    }
}
