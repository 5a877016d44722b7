//! Heredoc words (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`) anywhere in a RUN,
//! COPY or ADD line, several per line, as BuildKit finds them: the line is
//! split into shell words (quotes kept) and each word is matched against
//! `^(\d*)<<(-?)([^<]*)$`. Bodies are read by `lines`.

use super::Heredoc;

/// The heredocs a logical line opens, in order, bodies still empty.
pub(crate) fn from_line(line: &str) -> Result<Vec<Heredoc>, String> {
    let mut docs = Vec::new();
    for word in raw_words(line) {
        if let Some(doc) = parse_word(&word)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

/// A heredoc word, or None when the word is not one.
pub(crate) fn parse_word(word: &str) -> Result<Option<Heredoc>, String> {
    let digits = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let Some(after) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match after.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, after),
    };
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let mut names = unquoted_words(rest)?;
    if names.len() != 1 {
        return Ok(None);
    }
    let name = names.pop().unwrap_or_default();
    // Quoting any part of the delimiter turns expansion off: the quotes
    // vanish when unquoted.
    let expand = count_quotes(&name) == count_quotes(rest);
    Ok(Some(Heredoc {
        name,
        content: String::new(),
        expand,
        chomp,
        fd: word[..digits].parse().unwrap_or(0),
    }))
}

fn count_quotes(s: &str) -> usize {
    s.chars().filter(|&c| c == '\'' || c == '"').count()
}

/// Shell words with quotes and escapes kept; split on unquoted blanks.
fn raw_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c == ' ' || c == '\t' => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                continue;
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (q, '\\') if q != Some('\'') => {
                word.push(c);
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                continue;
            }
            _ => {}
        }
        word.push(c);
    }
    // An unterminated quote: BuildKit's lexer fails and no heredoc is taken
    // from the broken word.
    if !word.is_empty() && quote.is_none() {
        words.push(word);
    }
    words
}

/// Shell words with quotes and escapes removed (the delimiter's name).
fn unquoted_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut started = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, ' ' | '\t') => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (Some(q), c) if c == q => quote = None,
            (q, '\\') if q != Some('\'') => {
                started = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            _ => {
                started = true;
                word.push(c);
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unterminated quote in heredoc delimiter {s}"));
    }
    if started {
        words.push(word);
    }
    Ok(words)
}

/// `<<-`: leading tabs removed from every line of the body.
pub(crate) fn chomp(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}
