//! Lexical path cleaning, as Go's `filepath.Clean` does it on Unix: patterns
//! and paths are compared in this form, so `./a//b/../c` and `a/c` agree.

/// `//` and `.` components go, `x/..` pairs go, `..` above the root of an
/// absolute path goes; a trailing `/` goes; nothing left is `.`.
pub(super) fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn like_go() {
        let cases = [
            ("", "."),
            (".", "."),
            ("./", "."),
            ("a/", "a"),
            ("./a", "a"),
            ("a//b", "a/b"),
            ("a/./b", "a/b"),
            ("a/../b", "b"),
            ("a/..", "."),
            ("../a", "../a"),
            ("a/../../b", "../b"),
            ("/", "/"),
            ("/..", "/"),
            ("/../a/", "/a"),
            ("//a", "/a"),
            ("a/b/../../..", ".."),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "{input:?}");
        }
    }
}
