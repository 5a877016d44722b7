//! Parser directives (`# escape=`, `# syntax=`, `# check=`): only in the
//! comment lines at the very top; the first line that is not one (an
//! instruction, another comment, a blank line) ends them, as in BuildKit.

/// Directive state while the top of the file is read.
#[derive(Debug)]
pub(crate) struct Directives {
    pub escape: char,
    pub syntax: Option<String>,
    pub check: Option<String>,
    seen_escape: bool,
    done: bool,
}

impl Directives {
    pub fn new() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
            check: None,
            seen_escape: false,
            done: false,
        }
    }

    /// Looks at one line (newline and leading space trimmed); ends the
    /// directive block on anything that is not a known directive.
    pub fn line(&mut self, line: &str) -> Result<(), String> {
        if self.done {
            return Ok(());
        }
        let Some((key, value)) = split_directive(line) else {
            self.done = true;
            return Ok(());
        };
        match key.to_ascii_lowercase().as_str() {
            "escape" => {
                if self.seen_escape {
                    return Err(twice("escape"));
                }
                self.seen_escape = true;
                self.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(format!(
                            "invalid escape token '{value}' does not match ` or \\"
                        ))
                    }
                };
            }
            "syntax" => set_once(&mut self.syntax, value, "syntax")?,
            "check" => set_once(&mut self.check, value, "check")?,
            // An unknown directive reads as a comment, which ends the block.
            _ => self.done = true,
        }
        Ok(())
    }
}

fn set_once(slot: &mut Option<String>, value: &str, key: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(twice(key));
    }
    *slot = Some(value.to_string());
    Ok(())
}

fn twice(key: &str) -> String {
    format!("only one {key} parser directive can be used")
}

/// Go's `\s`: no vertical tab.
fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// `#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*` as key and value.
fn split_directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start_matches(is_go_space);
    let key_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let key = &rest[..key_len];
    if !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let rest = rest[key_len..]
        .trim_start_matches(is_go_space)
        .strip_prefix('=')?;
    let value = rest.trim_matches(is_go_space);
    if value.is_empty() {
        return None;
    }
    Some((key, value))
}
