//! Table tests: the behaviour of BuildKit's shell lexer, case by case.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{ExpandError, Lexer, Vars};

fn env() -> Vec<(String, String)> {
    [
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// `None` = the input must be an error.
fn check_words(lexer: Lexer, cases: &[(&str, Option<&str>)]) {
    let vars = env();
    let mut failures = Vec::new();
    for &(input, want) in cases {
        let got = lexer.word(input, &vars).map(|e| e.value);
        let ok = match want {
            Some(w) => got.as_deref() == Ok(w),
            None => got.is_err(),
        };
        if !ok {
            failures.push(format!("{input:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn word_backslash() {
    check_words(
        Lexer::new('\\'),
        &[
            // plain text, quotes
            ("hello", Some("hello")),
            ("", Some("")),
            ("he'll'o", Some("hello")),
            ("he'llo", None),
            (r"he\'llo", Some("he'llo")),
            (r"he\\'llo", None),
            (r#""hel'lo""#, Some("hel'lo")),
            (r#"'"hello"'"#, Some(r#""hello""#)),
            (r#""''""#, Some("''")),
            (r#""hello"#, None),
            (r#""hello\""#, None),
            ("'hello", None),
            (r"'hello\'", Some(r"hello\")),
            (r"'hello\there'", Some(r"hello\there")),
            (r"'hello\\there'", Some(r"hello\\there")),
            // the escape character outside and inside double quotes
            (r"abc\tdef", Some("abctdef")),
            (r#""abc\tdef""#, Some(r"abc\tdef")),
            (r#""abc\\tdef""#, Some(r"abc\tdef")),
            (r"'abc\tdef'", Some(r"abc\tdef")),
            (r"hello\", Some("hello")),
            (r"hello\\", Some(r"hello\")),
            (r"\", Some("")),
            (r#""a\"b""#, Some(r#"a"b"#)),
            (r"a\ b", Some("a b")),
            // `$` that starts no name stays
            ("$", Some("$")),
            ("$.", Some("$.")),
            ("he$.x", Some("he$.x")),
            ("a$ b", Some("a$ b")),
            (r#""$""#, Some("$")),
            ("$'x'", Some("$x")),
            // $NAME and ${NAME}
            ("he$PWD", Some("he/home")),
            ("he$pwd.", Some("he.")),
            ("$PWD$SHELL", Some("/homebash")),
            ("$PWD-x", Some("/home-x")),
            ("$PWDx", Some("")),
            ("$KOREAN", Some("한국어")),
            ("안녕$KOREAN", Some("안녕한국어")),
            ("he${PWD}", Some("he/home")),
            ("he${hi}xx", Some("hexx")),
            ("${PWD}x", Some("/homex")),
            ("${aaa}}", Some("}")),
            (r"he\$PWD", Some("he$PWD")),
            (r"he\\$PWD", Some(r"he\/home")),
            (r#""he\$PWD""#, Some("he$PWD")),
            (r#""he\\$PWD""#, Some(r"he\/home")),
            ("'he${PWD}'", Some("he${PWD}")),
            (r"'\$PWD'", Some(r"\$PWD")),
            (r#""he'$PWD'""#, Some("he'/home'")),
            (r"\${}", Some("${}")),
            (r"he\${}xx", Some("he${}xx")),
            // bad ${...}
            ("${}", None),
            ("he${}xx", None),
            ("${{aaa}", None),
            ("${:}", None),
            ("${:-bbb}", None),
            ("he${.}", None),
            ("he${PWD", None),
            ("${aaa", None),
            ("${", None),
            ("he${PWD:=000}xx", None),
            ("${PWD=x}", None),
            ("he${XXX:YYY}", None),
            // defaults and alternatives
            ("he${XXX:-000}xx", Some("he000xx")),
            ("he${PWD:-000}xx", Some("he/homexx")),
            ("he${XXX:-$PWD}xx", Some("he/homexx")),
            ("he${XXX:-${PWD:-yyy}}xx", Some("he/homexx")),
            ("he${XXX:-${YYY:-yyy}}xx", Some("heyyyxx")),
            ("${NULL:-x}", Some("x")),
            ("${NULL-x}", Some("")),
            ("${XXX-x}", Some("x")),
            ("${aaa:-bbb}}", Some("bbb}")),
            ("${aaa:-bbb", None),
            ("${aaa:-bbb ${foo}", None),
            ("${aaa:-bbb {foo}", Some("bbb {foo")),
            (r"he${XXX:-\$PWD:}xx", Some("he$PWD:xx")),
            (r"he${XXX:-\${PWD}z}xx", Some("he${PWDz}xx")),
            (r"${XXX:-\}}", Some("}")),
            (r#"${XXX:-"a}b"}"#, Some("a}b")),
            ("${XXX:-'a}b'}", Some("a}b")),
            ("he${XXX:+${PWD}}xx", Some("hexx")),
            ("he${PWD:+${XXX}}xx", Some("hexx")),
            ("he${PWD:+${SHELL}}xx", Some("hebashxx")),
            ("he${PWD:+000}xx", Some("he000xx")),
            ("he${PWD:+${PWD}:}xx", Some("he/home:xx")),
            ("${NULL:+x}", Some("")),
            ("${NULL+x}", Some("x")),
            // required
            ("he${XXX?}", None),
            ("he${XXX:?}", None),
            ("he${PWD?}", Some("he/home")),
            ("he${PWD:?}", Some("he/home")),
            ("he${NULL?}", Some("he")),
            ("he${NULL:?}", None),
            // positional and special parameters are never set
            ("he$1x", Some("hex")),
            ("$999aaa", Some("aaa")),
            ("${001:-bbb}aaa", Some("bbbaaa")),
            ("${1abc}", None),
            ("$@@@", Some("@@")),
            ("${@:-bbb}aaa", Some("bbbaaa")),
            ("$*", Some("")),
            ("${#:+bbb}", Some("")),
            ("${?:-bbb}", Some("bbb")),
            ("$-", Some("")),
            ("$$", Some("")),
            ("${!}", Some("")),
            ("$0", Some("")),
            // pattern operators
            ("${PWD#/}", Some("home")),
            ("${PWD#*o}", Some("me")),
            ("${PWD##*[}", Some("/home")),
            ("${SHELL%sh}", Some("ba")),
            ("${SHELL%%?}", Some("bas")),
            ("${SHELL%*}", Some("bash")),
            ("${SHELL%%*}", Some("")),
            ("${SHELL/a/o}", Some("bosh")),
            ("${PWD//o/0}", Some("/h0me")),
            (r"${PWD//\//:}", Some(":home")),
            ("${XXX#x}", Some("")),
            ("${PWD/", None),
            ("${PWD/a", None),
            ("${PWD#a", None),
            (r"${PWD#\x}", None),
        ],
    );
}

#[test]
fn word_backtick_escape() {
    // `# escape=`` (Windows style): backslash is an ordinary character.
    check_words(
        Lexer::new('`'),
        &[
            (r"c:\windows\system32", Some(r"c:\windows\system32")),
            (r"he\$PWD", Some(r"he\/home")),
            ("he`$PWD", Some("he$PWD")),
            ("he``$PWD", Some("he`/home")),
            ("hello`", Some("hello")),
            ("a` b", Some("a b")),
            (r#""a\""#, Some(r"a\")),
            (r#""a`"b""#, Some(r#"a"b"#)),
            ("\"a`tb\"", Some("a`tb")),
            (r#""c:\dir\$PWD""#, Some(r"c:\dir\/home")),
            ("'a`b'", Some("a`b")),
            ("${XXX:-`}}", Some("}")),
            // patterns keep their backslash escapes regardless
            (r"${SHELL%\*}", Some("bash")),
        ],
    );
}

/// BuildKit's wordsTest: `|`-free lists of expected words.
#[test]
fn words_split() {
    let vars: Vec<(String, String)> = [
        ("hi", "hi"),
        ("space", "abc  def"),
        ("leading", "  ab c"),
        ("trailing", "ab c   "),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let cases: &[(&str, Option<&[&str]>)] = &[
        ("hello", Some(&["hello"])),
        ("hello${hi}bye", Some(&["hellohibye"])),
        ("hello${nope}bye", Some(&["hellobye"])),
        ("hello${space}bye", Some(&["helloabc", "defbye"])),
        (r#"hello"${space}"bye"#, Some(&["helloabc  defbye"])),
        (r#"hello "${space}"bye"#, Some(&["hello", "abc  defbye"])),
        ("hello${leading}def", Some(&["hello", "ab", "cdef"])),
        (r#"hello"${leading}" def"#, Some(&["hello  ab c", "def"])),
        ("hello${leading}", Some(&["hello", "ab", "c"])),
        ("hello${trailing}d", Some(&["helloab", "c", "d"])),
        (r#"hel"lo${trailing}""#, Some(&["helloab c   "])),
        (r#"hello" there  ""#, Some(&["hello there  "])),
        ("hello there     ", Some(&["hello", "there"])),
        ("  lead\ttab\nnl  ", Some(&["lead", "tab", "nl"])),
        (r"hello\ there", Some(&["hello there"])),
        (r#"hello" there"#, None),
        (r#"hello\" there"#, Some(&["hello\"", "there"])),
        (r#"hello"\\there""#, Some(&[r"hello\there"])),
        (r"hello'\\there'", Some(&[r"hello\\there"])),
        ("hello'$there'", Some(&["hello$there"])),
        (r#"a "" b"#, Some(&["a", "b"])),
        ("${nope:-x  y}", Some(&["x", "y"])),
        (r#"${nope:-"x  y"}"#, Some(&["x", "y"])),
        ("", Some(&[])),
        ("   ", Some(&[])),
    ];
    let lexer = Lexer::new('\\');
    for &(input, want) in cases {
        let got = lexer.words(input, &vars).map(|e| e.value);
        match want {
            Some(w) => assert_eq!(
                got,
                Ok(w.iter().map(|s| s.to_string()).collect()),
                "{input:?}"
            ),
            None => assert!(got.is_err(), "{input:?}: {got:?}"),
        }
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// input, vars, expected value (`None`: an error), expected `used`.
type UsedCase<'a> = (
    &'a str,
    &'a [(&'a str, &'a str)],
    Option<&'a str>,
    &'a [&'a str],
);

/// BuildKit's TestProcessWithMatches: values, and which names were found.
#[test]
fn used_and_patterns() {
    let xb = [("FOO", "xxx"), ("BAR", "")];
    let cases: &[UsedCase] = &[
        ("x", &[("DUMMY", "dummy")], Some("x"), &[]),
        ("x ${UNUSED}", &[("DUMMY", "dummy")], Some("x "), &[]),
        ("x ${FOO}", &[("FOO", "y")], Some("x y"), &["FOO"]),
        ("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", &xb, Some("xxx  ccc"), &["BAR", "FOO"]),
        ("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", &xb, Some("xxx bbb ccc"), &["BAR", "FOO"]),
        ("${FOO:-}", &xb, Some("xxx"), &["FOO"]),
        ("${FOO:-}", &[], Some(""), &[]),
        ("${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", &xb, Some("aaa bbb "), &["BAR", "FOO"]),
        ("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", &xb, Some("aaa  "), &["BAR", "FOO"]),
        ("${FOO?aaa}", &xb, Some("xxx"), &["FOO"]),
        ("${BAR?bbb}", &xb, Some(""), &["BAR"]),
        ("${BAZ?ccc}", &xb, None, &[]),
        ("${FOO:?aaa}", &xb, Some("xxx"), &["FOO"]),
        ("${BAR:?bbb}", &xb, None, &[]),
        ("${BAZ:?}", &xb, None, &[]),
        ("${FOO=aaa}", &xb, None, &[]),
        ("${FOO=:aaa}", &xb, None, &[]),
        ("${FOO=}", &[], None, &[]),
        // names in a default that is not taken still count
        ("${FOO:-$BAR}", &xb, Some("xxx"), &["BAR", "FOO"]),
        ("'$FOO'", &xb, Some("$FOO"), &[]),
        (r"${FOO#()[]{\}^$.\*\?|\\}", &[("FOO", r"()[]{}^$.*?|\x")], Some("x"), &["FOO"]),
        (r"${FOO%%\**}", &[("FOO", "xx**")], Some("xx"), &["FOO"]),
        ("${FOO#*x*y}", &[("FOO", "xxyy")], Some("y"), &["FOO"]),
        ("${FOO#*}", &[("FOO", "xxyy")], Some("xxyy"), &["FOO"]),
        ("${FOO#$BAR}", &[("FOO", "xxyy"), ("BAR", "x")], Some("xyy"), &["BAR", "FOO"]),
        ("${FOO#$BAR}", &[("FOO", "xxyy"), ("BAR", "")], Some("xxyy"), &["BAR", "FOO"]),
        ("${FOO#}", &[("FOO", "xxyy")], Some("xxyy"), &["FOO"]),
        ("${FOO##*x}", &[("FOO", "xxyy")], Some("yy"), &["FOO"]),
        ("${FOO##}", &[("FOO", "xxyy")], Some("xxyy"), &["FOO"]),
        (r"${FOO#?\?}", &[("FOO", "???y")], Some("?y"), &["FOO"]),
        ("${ABC:-.}${FOO%x}${ABC:-.}", &[("FOO", "xxyy")], Some(".xxyy."), &["FOO"]),
        (r"${FOO%%\**\*}", &[("FOO", "a***yy*")], Some("a"), &["FOO"]),
        ("${FOO%}", &[("FOO", "xxyy")], Some("xxyy"), &["FOO"]),
        ("${FOO%%$BAR}", &[("FOO", "xxyy"), ("BAR", "")], Some("xxyy"), &["BAR", "FOO"]),
        ("${FOO:#x}", &[("FOO", "xxyy")], Some("xyy"), &["FOO"]),
        (
            "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
            &[("FOO", "/foo*/*/*.txt"), ("NEEDLE", r"\*/")],
            Some("/foo.*/*.txt - /foo..*.txt"),
            &["FOO", "NEEDLE"],
        ),
        (
            "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
            &[("FOO", "/tmp/tmp/bar.txt"), ("NEEDLE", "/tmp")],
            Some("/tmp/bar.txt - /bar.txt"),
            &["FOO", "NEEDLE"],
        ),
        (
            "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
            &[("FOO", "/a/foo/b/c.txt"), ("NEEDLE", "/?/"), ("REPLACEMENT", "/")],
            Some("/foo/b/c.txt - /foo/c.txt"),
            &["FOO", "NEEDLE", "REPLACEMENT"],
        ),
        (
            "${FOO/$NEEDLE/$REPLACEMENT}",
            &[("FOO", "http://google.de"), ("NEEDLE", "http://"), ("REPLACEMENT", "https://")],
            Some("https://google.de"),
            &["FOO", "NEEDLE", "REPLACEMENT"],
        ),
        (r"${FOO//\//\/}", &[("FOO", "/tmp/foo.txt")], Some(r"\/tmp\/foo.txt"), &["FOO"]),
        ("${FOO/$BAR/ww}", &[("FOO", "xxyy"), ("BAR", "")], Some("wwxxyy"), &["BAR", "FOO"]),
        ("${FOO//ww}", &[("FOO", "xxyy")], None, &[]),
        ("${FOO//}", &[("FOO", "xxyy")], None, &[]),
        ("${FOO///}", &[("FOO", "xxyy")], Some("xxyy"), &["FOO"]),
        ("${FOO///}", &[], Some(""), &[]),
        (
            "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
            &[("VERSION", "v1.2.3"), ("TARGETOS", "linux"), ("TARGETARCH", "arm"), ("TARGETVARIANT", "v7")],
            Some("something-v1.2.3.linux-arm-v7.tar.gz"),
            &["TARGETARCH", "TARGETOS", "TARGETVARIANT", "VERSION"],
        ),
        (
            "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
            &[("VERSION", "v1.2.3"), ("TARGETOS", "linux"), ("TARGETARCH", "arm64")],
            Some("something-v1.2.3.linux-arm64.tar.gz"),
            &["TARGETARCH", "TARGETOS", "VERSION"],
        ),
    ];
    let lexer = Lexer::new('\\');
    for &(input, vars, want, used) in cases {
        let got = lexer.word(input, &map(vars));
        match want {
            None => assert!(got.is_err(), "{input:?}: {got:?}"),
            Some(w) => {
                let got = got.unwrap_or_else(|e| panic!("{input:?}: {e}"));
                assert_eq!(got.value, w, "{input:?}");
                let used: BTreeSet<String> = used.iter().map(|s| s.to_string()).collect();
                assert_eq!(got.used, used, "{input:?}");
            }
        }
    }
}

#[test]
fn error_messages() {
    let vars = map(&[("VAR", ""), ("ARG", "x")]);
    let lexer = Lexer::default();
    let err = |text: &str| lexer.word(text, &vars).unwrap_err().to_string();
    assert_eq!(err("${NOPE?}"), "NOPE: is not allowed to be unset");
    assert_eq!(err("${VAR:?}"), "VAR: is not allowed to be empty");
    assert_eq!(err("${VAR:?message here$ARG}"), "VAR: message herex");
    assert_eq!(err("${NOPE?message here$ARG}"), "NOPE: message herex");
    assert_eq!(lexer.word("${VAR?message}", &vars).unwrap().value, "");
    assert_eq!(err("${VAR"), "syntax error: missing '}'");
    assert_eq!(err("${VAR:-x"), "syntax error: missing '}'");
    assert_eq!(err("${VAR:-\"x"), "syntax error: missing '}'");
    assert_eq!(err("${VAR/x"), "syntax error: missing '/' in ${}");
    assert_eq!(err("${}"), "syntax error: bad substitution");
    assert_eq!(err("${VAR=x}"), "unsupported modifier (=) in substitution");
    assert_eq!(err("${VAR:x}"), "unsupported modifier (:x) in substitution");
    assert_eq!(
        err("\"abc"),
        "unexpected end of statement while looking for matching double-quote"
    );
    assert_eq!(
        err("'abc"),
        "unexpected end of statement while looking for matching single-quote"
    );
    assert_eq!(
        err(r"${ARG#\q}"),
        r"invalid pattern (\q) in substitution: invalid escape '\q'"
    );
    // an error inside a default surfaces as itself unless the text ran out
    assert_eq!(err("${X:-${NOPE?gone}}"), "NOPE: gone");
    assert_eq!(err("${X:-${NOPE?gone}"), "syntax error: missing '}'");
    assert_eq!(
        lexer.word("${VAR:?}", &vars).unwrap_err(),
        ExpandError::Required {
            name: "VAR".into(),
            message: "is not allowed to be empty".into()
        }
    );
}

#[test]
fn vars_impls() {
    let list = vec![
        ("A".to_string(), "1".to_string()),
        ("A".to_string(), "2".to_string()),
    ];
    assert_eq!(Vars::get(&list, "A").as_deref(), Some("2"));
    assert_eq!(Vars::get(list.as_slice(), "B"), None);
    let hash: HashMap<String, String> = [("A".to_string(), "h".to_string())].into();
    assert_eq!(Lexer::default().word("$A", &hash).unwrap().value, "h");
    assert_eq!(Lexer::default().word("$A", &&hash).unwrap().value, "h");
    assert_eq!(
        Lexer::default()
            .word("$A", &map(&[("A", "b")]))
            .unwrap()
            .value,
        "b"
    );
}

/// No input may panic or overflow the stack: odd fragments, each alone and
/// glued together, under both escape characters.
#[test]
fn odd_inputs_never_panic() {
    let atoms = [
        "$", "${", "}", "{", "\\", "`", "'", "\"", ":", "-", "+", "?", "#", "%", "/", "//", "*",
        "a", "PWD", " ", "\n", "${PWD", "${PWD:", "${PWD/", "$$", "${#", "\\}", "\\/", "한",
    ];
    let vars = env();
    for escape in ['\\', '`'] {
        let lexer = Lexer::new(escape);
        for a in atoms {
            for b in atoms {
                for c in atoms {
                    let text = format!("{a}{b}{c}");
                    let _ = lexer.word(&text, &vars);
                    let _ = lexer.words(&text, &vars);
                }
            }
        }
    }
    let deep = "${A:-".repeat(100_000);
    assert!(matches!(
        Lexer::default().word(&deep, &vars),
        Err(ExpandError::TooDeep(_))
    ));
    let closed = format!("{}x{}", "${A:-".repeat(200), "}".repeat(200));
    assert_eq!(Lexer::default().word(&closed, &vars).unwrap().value, "x");
    let long = "a".repeat(100_000);
    let big = map(&[("L", &long)]);
    assert_eq!(Lexer::default().word("${L%%a*a}", &big).unwrap().value, "");
    assert_eq!(
        Lexer::default()
            .word("${L//a/b}", &big)
            .unwrap()
            .value
            .len(),
        100_000
    );
}
