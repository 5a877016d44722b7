//! Docker's image references: `name`, `name:tag`, `host:port/a/b:tag`,
//! `name@sha256:…`; `name` means `name:latest`. The store keys tags by the
//! familiar form (`web:v1`, `127.0.0.1:5000/test/es:v1`) that users type.

use std::fmt;

use crate::digest::Digest;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RefError {
    #[error("invalid reference format: {0:?} (want name[:tag] or name@sha256:<digest>)")]
    Format(String),
    #[error("invalid reference format: repository name {0:?} must be lowercase")]
    Uppercase(String),
    #[error("invalid tag {tag:?} in {reference:?}: want [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}")]
    Tag { reference: String, tag: String },
}

/// A parsed reference, in familiar form (no `docker.io/library/`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Repository: `web`, `me/web`, `127.0.0.1:5000/a/b`.
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parses `text`; a bare name gets the tag `latest`.
    pub fn parse(text: &str) -> Result<Reference, RefError> {
        let mut r = Reference::parse_bare(text)?;
        if r.tag.is_none() && r.digest.is_none() {
            r.tag = Some("latest".into());
        }
        Ok(r)
    }

    /// Parses without adding a default tag.
    pub fn parse_bare(text: &str) -> Result<Reference, RefError> {
        let bad = || RefError::Format(text.to_string());
        let (rest, digest) = match text.split_once('@') {
            Some((r, d)) => (r, Some(d.parse::<Digest>().map_err(|_| bad())?)),
            None => (text, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[slash..].rfind(':') {
            Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(RefError::Tag {
                    reference: text.into(),
                    tag: t.into(),
                });
            }
        }
        let name = familiar(name);
        check_name(&name, text)?;
        Ok(Reference {
            name,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// `name:tag` (the store's tag key), when there is a tag.
    pub fn tagged(&self) -> Option<String> {
        self.tag.as_ref().map(|t| format!("{}:{t}", self.name))
    }

    /// The registry host, when the name has one (`127.0.0.1:5000/a` → that).
    pub fn domain(&self) -> Option<&str> {
        let (first, _) = self.name.split_once('/')?;
        is_domain(first).then_some(first)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn is_domain(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

/// Strips Docker Hub's implicit parts: `docker.io/library/x` → `x`.
fn familiar(name: &str) -> String {
    let n = name
        .strip_prefix("docker.io/")
        .or_else(|| name.strip_prefix("index.docker.io/"))
        .unwrap_or(name);
    match n.strip_prefix("library/") {
        Some(rest) if !rest.contains('/') && n.len() != name.len() => rest.to_string(),
        _ => n.to_string(),
    }
}

fn valid_tag(t: &str) -> bool {
    let mut chars = t.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    first_ok
        && t.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

fn check_name(name: &str, text: &str) -> Result<(), RefError> {
    let bad = || RefError::Format(text.to_string());
    if name.is_empty() || name.len() > 255 {
        return Err(bad());
    }
    let mut parts = name.split('/').peekable();
    if let Some(first) = parts.peek().copied() {
        if name.contains('/') && is_domain(first) {
            check_domain(first).ok_or_else(bad)?;
            parts.next();
        }
    }
    for p in parts {
        if p.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(RefError::Uppercase(text.to_string()));
        }
        if !valid_component(p) {
            return Err(bad());
        }
    }
    Ok(())
}

fn check_domain(d: &str) -> Option<()> {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let ok = !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    ok.then_some(())
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn valid_component(p: &str) -> bool {
    let b = p.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &p[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_forms() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("web", "web", Some("latest")),
            ("web:v1", "web", Some("v1")),
            ("jamtur01/static_web:v1", "jamtur01/static_web", Some("v1")),
            (
                "127.0.0.1:5000/test/es:v1",
                "127.0.0.1:5000/test/es",
                Some("v1"),
            ),
            ("localhost:5000/a", "localhost:5000/a", Some("latest")),
            ("docker.io/library/busybox:1", "busybox", Some("1")),
            ("docker.io/me/app", "me/app", Some("latest")),
            ("a-b__c/d.e", "a-b__c/d.e", Some("latest")),
        ];
        for (text, name, tag) in cases {
            let r = Reference::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(r.name, *name, "{text}");
            assert_eq!(r.tag.as_deref(), *tag, "{text}");
        }
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let r = Reference::parse(&format!("web@{d}")).unwrap();
        assert_eq!(
            (r.tag, r.digest.unwrap().to_string()),
            (None, d.to_string())
        );
        assert_eq!(
            Reference::parse("127.0.0.1:5000/a").unwrap().domain(),
            Some("127.0.0.1:5000")
        );
        assert_eq!(Reference::parse("me/a").unwrap().domain(), None);
    }

    #[test]
    fn bad_references_are_named() {
        for text in [
            "",
            "Web",
            "web:",
            "web:-x",
            "a//b",
            "-a",
            "a..b",
            "web@sha256:12",
            ":tag",
            "a b",
        ] {
            let e = Reference::parse(text).expect_err(text);
            assert!(e.to_string().contains(&format!("{text:?}")), "{text}: {e}");
        }
    }
}
