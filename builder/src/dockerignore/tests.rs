//! Table tests: Docker's patternmatcher and ignorefile behaviour.

use super::{IgnoreError, Matcher};

fn matcher(patterns: &[&str]) -> Matcher {
    let owned: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
    Matcher::from_patterns(&owned).unwrap_or_else(|e| panic!("{patterns:?}: {e}"))
}

/// One pattern against one path: excluded or not.
#[test]
fn single_pattern() {
    let cases: &[(&str, &str, bool)] = &[
        ("**", "file", true),
        ("**", "dir/file", true),
        ("**/", "file", true),
        ("**/**", "dir/file", true),
        ("dir/**", "dir/file", true),
        ("dir/**", "dir/dir2/file", true),
        ("abc/**", "abc", false),
        ("abc/**", "abc/def/ghi", true),
        ("**/dir", "dir", true),
        ("**/dir", "dir/file", true),
        ("**/dir", "a/b/dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**file", "file", true),
        ("**file", "dir/file", true),
        // `**` + literal is a suffix test in Docker, so this matches too
        ("**file", "dir/xfile", true),
        ("**/file", "dir/xfile", false),
        ("**/file*", "dir/dir/file.txt", true),
        ("**/file*.txt*", "dir/dir/file.txt", true),
        ("**/**/*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true),
        ("a**/*.txt", "a/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true),
        ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true),
        ("a/*.txt**", "a/file.txt", true),
        ("**/foo/bar", "foo/bar", true),
        ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false),
        // `*` and `?` stay inside one component
        ("*", "fileutils.go", true),
        ("*", "dir/file", true),
        ("*.go", "fileutils.go", true),
        ("*.go", "dir/fileutils.go", false),
        ("a*/b", "abc/b", true),
        ("a*/b", "a/c/b", false),
        ("a*", "ab/c", true),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
        ("a*b?c*x", "abxbbxdbxebxczzx", true),
        ("a*b?c*x", "abxbbxdbxebxczzy", false),
        ("a?b", "a☺b", true),
        ("a???b", "a☺b", false),
        ("a?b", "a/b", false),
        ("a*b", "a/b", false),
        ("*x", "xxx", true),
        ("abc?def", "abcZdef", true),
        ("abc?def", "abcdef", false),
        // classes
        ("a[b-d]e", "ace", true),
        ("a[b-d]e", "aae", false),
        ("a[^b-d]e", "aze", true),
        ("ab[^c]", "abc", false),
        ("ab[^e-g]", "abc", true),
        ("a[^a]b", "a☺b", true),
        ("[a-ζ]*", "α", true),
        ("*[a-ζ]", "A", false),
        (r"[\]a]", "]", true),
        (r"[\-]", "-", true),
        (r"[x\-]", "-", true),
        (r"[x\-]", "z", false),
        ("[*]", "*", true),
        ("[*]", "x", false),
        // escapes and regex characters that are plain here
        (r"a\*b", "a*b", true),
        (r"a\*b", "ab", false),
        (r"a\\", r"a\", true),
        (".*", ".foo", true),
        (".*", "foo", false),
        ("abc.def", "abcdef", false),
        ("abc.def", "abc.def", true),
        ("a(b)c/def", "a(b)c/def", true),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        ("a^b", "a^b", true),
        (
            "dist/*.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        // a directory pattern excludes what is below it
        ("docs", "docs/README.md", true),
        ("docs/", "docs/a/b", true),
        ("docs", "docsx", false),
        ("doc?", "docs/x", true),
        ("docs/*", "docs/a/b", true),
        // cleaning
        ("/docs", "docs/x", true),
        ("./docs", "docs", true),
        ("a/../docs", "docs", true),
        ("a//b/./c/", "a/b/c", true),
        ("/", "x", false),
        ("..", "x", false),
    ];
    let mut failures = Vec::new();
    for &(pattern, path, want) in cases {
        if matcher(&[pattern]).excluded(path) != want {
            failures.push(format!("{pattern:?} on {path:?}: want {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Several patterns: the last one that matches decides.
#[test]
fn pattern_lists() {
    let cases: &[(&[&str], &str, bool)] = &[
        (&["!fileutils.go", "*.go"], "fileutils.go", true),
        (&["*.go", "!fileutils.go"], "fileutils.go", false),
        (&["*.go", "!fileutils.go"], "other.go", true),
        (&["docs", "!docs/README.md"], "docs/README.md", false),
        (&["docs", "!docs/README.md"], "docs/other.md", true),
        (&["docs/", "!docs/README.md"], "docs/README.md", false),
        (&["docs/*", "!docs/README.md"], "docs/README.md", false),
        (&["docs", "!docs/README.md", "docs"], "docs/README.md", true),
        (&["**", "!util/docker/web"], "util/docker/web/foo", false),
        (
            &["**", "!util/docker/web", "util/docker/web/foo"],
            "util/docker/web/foo",
            true,
        ),
        (&["**", "!dist/*.whl"], "dist/a-1.whl", false),
        (&["**", "!dist/*.whl"], "dist/a-1.tar.gz", true),
        (&["*", "!keep", "keep/tmp"], "keep/tmp/x", true),
        (&["*", "!keep", "keep/tmp"], "keep/src/x", false),
        (
            &["*.md", "!README*.md", "README-secret.md"],
            "README-secret.md",
            true,
        ),
        (
            &["*.md", "!README*.md", "README-secret.md"],
            "README.md",
            false,
        ),
        (&["a", "!a/b", "a/b/c"], "a/b/c/d", true),
        (&["a", "!a/b", "a/b/c"], "a/b/x", false),
        (&[], "anything", false),
        (&["*"], ".", false),
        (&["*"], "", false),
    ];
    for &(patterns, path, want) in cases {
        assert_eq!(
            matcher(patterns).excluded(path),
            want,
            "{patterns:?} on {path:?}"
        );
    }
}

#[test]
fn reads_ignore_files() {
    let text = "\u{feff}test1\r\n/test2\n/a/file/here\n\n  lastfile  \n# comment\n \
                # not a comment: a pattern\n! /inverted/abs/path\n\t\n*.tmp # trailing";
    let m = Matcher::parse(text, ".dockerignore").unwrap();
    for path in [
        "test1",
        "test2",
        "a/file/here/x",
        "lastfile",
        "# not a comment: a pattern",
    ] {
        assert!(m.excluded(path), "{path}");
    }
    for path in ["# comment", "inverted/abs/path", "a/file"] {
        assert!(!m.excluded(path), "{path}");
    }
    // the pattern is the whole line: `*.tmp # trailing` is one glob
    assert!(m.excluded("x.tmp # trailing"));
    assert!(!m.excluded("x.tmp"));
    assert!(Matcher::parse("", "f").unwrap().is_empty());
    assert!(!Matcher::parse("a\n", "f").unwrap().has_exceptions());
    assert!(Matcher::parse("a\n!b\n", "f").unwrap().has_exceptions());
}

#[test]
fn bad_patterns() {
    let bad = [
        "!",
        "! ",
        "[",
        "[^",
        "[^bc",
        "a[",
        "[]a]",
        "[-]",
        "[x-]",
        "[-x]",
        "[a-b-c]",
        r"\",
        r"a\",
        "[z-a]",
        "[Local-Only]/",
    ];
    for pattern in bad {
        let text = format!("ok\n# c\n{pattern}\n");
        match Matcher::parse(&text, ".dockerignore") {
            Err(IgnoreError::Pattern { file, line, .. }) => {
                assert_eq!((file.as_str(), line), (".dockerignore", 3), "{pattern:?}")
            }
            Ok(_) => panic!("{pattern:?} parsed"),
        }
    }
    let err = Matcher::from_patterns(&["a".into(), "[".into()]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("--exclude:2: bad pattern \"[\""),
        "{err}"
    );
    let err = Matcher::parse("!\n", "ctx/.dockerignore").unwrap_err();
    assert_eq!(
        err.to_string(),
        "ctx/.dockerignore:1: bad pattern \"!\": illegal exclusion pattern: \"!\""
    );
}

/// When a walker must still look inside an excluded directory.
#[test]
fn descend_into_excluded_dirs() {
    let cases: &[(&[&str], &str, bool)] = &[
        // not excluded at all: descend
        (&["docs"], "src", true),
        (&[], "src", true),
        // no exception anywhere: skip
        (&["docs"], "docs", false),
        (&["**/node_modules"], "a/node_modules", false),
        // an exception inside the directory
        (&["docs", "!docs/README.md"], "docs", true),
        (&["docs", "!docs/sub/*.md"], "docs", true),
        (&["docs", "!docs/sub/*.md"], "docs/sub", true),
        (&["docs", "!docs/sub/*.md"], "docs/other", false),
        (&["*", "!*/keep"], "a", true),
        (&["**", "!**/*.go"], "a/b", true),
        (&["**", "!keep*"], "a", false),
        (&["**", "!**keep"], "a", true),
        // an exception elsewhere does not help
        (&["docs", "!src/main.rs"], "docs", false),
        (&["docs", "!doc/x"], "docs", false),
        (&["docs", "!docsx/a"], "docs", false),
        // an exception before the pattern that excludes the dir is overridden
        (&["!docs/README.md", "docs"], "docs", false),
        (&["docs", "!docs/README.md", "docs"], "docs", false),
        (&["a", "!a/b/c", "a/b"], "a/b", false),
        // conservative: a/b/c is excluded again by `a/b`, but that takes a walk
        (&["a", "!a/b/c", "a/b"], "a", true),
        // the directory itself re-included then excluded deeper
        (&["**", "!a/**"], "a", true),
        (&["x/**", "!x/[a-c]*/y"], "x", true),
        (&["x/**", "!x/[a-c]*/y"], "x/b1", true),
        (&["x/**", "!x/[a-c]*/y"], "x/d1", false),
    ];
    let mut failures = Vec::new();
    for &(patterns, dir, want) in cases {
        if matcher(patterns).may_include_below(dir) != want {
            failures.push(format!("{patterns:?} below {dir:?}: want {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `may_include_below` must never say no where `excluded` finds a path
/// below that is kept: check it against every path of a small tree.
#[test]
fn descend_agrees_with_excluded() {
    let dirs = [
        "a",
        "a/b",
        "a/b/c",
        "x",
        "x/keep",
        "node_modules",
        "a/node_modules",
    ];
    let leaves = ["f.go", "keep", "README.md", "c", "y"];
    let lists: &[&[&str]] = &[
        &["a", "!a/b/c/f.go"],
        &["**", "!**/*.go"],
        &["*", "!*/keep"],
        &["**/node_modules", "!a/node_modules/keep"],
        &["a/**", "!a/b", "a/b/c"],
        &["x", "!x/keep/README.md"],
        &["*/b", "!a/b/c", "a/b/c/*.md"],
    ];
    let mut skipped = 0;
    for patterns in lists {
        let m = matcher(patterns);
        for dir in dirs {
            if !m.excluded(dir) || m.may_include_below(dir) {
                continue;
            }
            skipped += 1;
            for below in dirs
                .iter()
                .filter(|d| d.starts_with(&format!("{dir}/")))
                .chain(&[dir])
            {
                for leaf in leaves {
                    let path = format!("{below}/{leaf}");
                    assert!(
                        m.excluded(&path),
                        "{patterns:?}: {path} kept below skipped {dir}"
                    );
                }
            }
        }
    }
    assert!(skipped >= 5, "the tree exercises too few skips: {skipped}");
}

/// Odd patterns and paths must not panic.
#[test]
fn odd_inputs_never_panic() {
    let atoms = [
        "*", "**", "?", "[", "]", "^", "-", "\\", "/", "!", ".", "..", "a", " ", "#", "☺",
    ];
    let paths = [
        "", ".", "/", "a", "a/b", "//", "../a", "a/../..", "☺/*", "[", "\\",
    ];
    for x in atoms {
        for y in atoms {
            for z in atoms {
                let text = format!("{x}{y}{z}\n!{z}{y}{x}");
                if let Ok(m) = Matcher::parse(&text, "f") {
                    for p in paths {
                        let _ = m.excluded(p);
                        let _ = m.may_include_below(p);
                    }
                }
            }
        }
    }
    let long = "a/".repeat(500);
    let m = matcher(&["**/**/**/b*c", "!**/a/**/z"]);
    assert!(!m.excluded(&long));
    assert!(m.may_include_below("a/a"));
}
