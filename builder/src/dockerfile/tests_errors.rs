//! Table tests: one per error, with its line and column.

use super::parse;

/// (Dockerfile, line, column, message).
const CASES: &[(&str, usize, usize, &str)] = &[
    ("", 1, 1, "file with no instructions"),
    ("# only a comment\n\n", 2, 1, "file with no instructions"),
    ("FROM a\nFOOO bar", 2, 1, "unknown instruction: FOOO"),
    ("FROM a\n  fooo bar", 2, 3, "unknown instruction: fooo"),
    ("RUN x", 1, 1, "no build stage in current context"),
    ("ARG A\nENV B=1\nFROM a", 2, 1, "no build stage in current context"),
    ("FROM", 1, 1, "FROM requires either one or three arguments"),
    ("FROM a AS", 1, 1, "FROM requires either one or three arguments"),
    ("FROM a b c", 1, 1, "FROM requires either one or three arguments"),
    ("FROM a AS 1st", 1, 1, "invalid name for build stage: \"1st\", name can't start with a number or contain symbols"),
    ("FROM a AS x$y", 1, 1, "invalid name for build stage: \"x$y\", name can't start with a number or contain symbols"),
    ("FROM a AS x\nFROM b as X", 2, 1, "duplicate stage name \"x\""),
    ("FROM --plat=x a", 1, 1, "unknown flag: --plat"),
    ("FROM --platform a", 1, 1, "missing a value on flag: platform"),
    ("FROM a\nCOPY a", 2, 1, "COPY requires at least two arguments, but only one was provided. Destination could not be determined."),
    ("FROM a\nADD a", 2, 1, "ADD requires at least two arguments, but only one was provided. Destination could not be determined."),
    ("FROM a\nCOPY <<EOF\nx\nEOF", 2, 1, "COPY requires at least two arguments, but only one was provided. Destination could not be determined."),
    ("FROM a\nCOPY x <<EOF\nEOF", 2, 1, "COPY cannot accept a heredoc as a destination"),
    ("FROM a\nCOPY --checksum=x a b", 2, 1, "unknown flag: --checksum"),
    ("FROM a\nADD --from=x a b", 2, 1, "unknown flag: --from"),
    ("FROM a\nCOPY --link=maybe a b", 2, 1, "expecting boolean value for flag link, not: maybe"),
    ("FROM a\nCOPY --link= a b", 2, 1, "missing a value on flag: link"),
    ("FROM a\nCOPY --from=a --from=b a b", 2, 1, "duplicate flag specified: from"),
    ("FROM a\nRUN --foo true", 2, 1, "unknown flag: --foo"),
    ("FROM a\nRUN --network=bridge true", 2, 1, "invalid network mode \"bridge\""),
    ("FROM a\nRUN --security=root true", 2, 1, "security \"root\" is not valid"),
    ("FROM a\nRUN --mount=type=nfs true", 2, 1, "unsupported mount type \"nfs\""),
    ("FROM a\nRUN --mount=type=cache,target=/x,foo=1 true", 2, 1, "unexpected key 'foo' in 'foo=1'"),
    ("FROM a\nRUN --mount=type=cache,sharing=all,target=/x true", 2, 1, "unsupported sharing value \"all\""),
    ("FROM a\nRUN --mount=type=bind,target=/x,sharing=shared true", 2, 1, "invalid cache sharing set for bind mount"),
    ("FROM a\nRUN --mount=type=cache,target=/x,mode=9 true", 2, 1, "invalid value 9 for mode"),
    ("FROM a\nRUN --mount=type=bind,target=/x,uid=1 true", 2, 1, "uid not allowed for \"bind\" type mounts"),
    ("FROM a\nRUN --mount=type=bind,target=/x,required true", 2, 1, "unexpected key 'required' for mount type 'bind'"),
    ("FROM a\nRUN --mount=type=cache,target=/x,size=1m true", 2, 1, "unexpected key 'size' for mount type 'cache'"),
    ("FROM a\nRUN --mount=type=tmpfs,target=/x,size=lots true", 2, 1, "invalid size: 'lots'"),
    ("FROM a\nRUN --mount=type=secret true", 2, 1, "invalid secret mount. one of source, target required"),
    ("FROM a\nRUN --mount=type=secret,id=a,from=b true", 2, 1, "secret mount should not have a from"),
    ("FROM a\nRUN --mount=type=bind,from=$X,target=/x true", 2, 1, "'from' doesn't support variable expansion, define alias stage instead"),
    ("FROM a\nRUN --mount=type=bind,ro=maybe,target=/x true", 2, 1, "invalid value for ro: maybe"),
    ("FROM a\nRUN --mount=type=bind,target true", 2, 1, "invalid field 'target' must be a key=value pair"),
    ("FROM a\nRUN --mount=type=bind,target=\\\"/x true", 2, 1, "failed to parse csv mounts: bare \" in non-quoted-field"),
    ("FROM a\nRUN --mount=\\\"a\\\"b true", 2, 1, "failed to parse csv mounts: extraneous or missing \" in quoted-field"),
    ("FROM a\nRUN --mount true", 2, 1, "missing a value on flag: mount"),
    ("FROM a\nRUN", 2, 1, "RUN requires at least one argument"),
    ("FROM a\nRUN <<EOF\necho\n", 2, 1, "unterminated heredoc EOF started on line 2"),
    ("FROM a\nRUN <<A <<B\na\nA\nb\n", 2, 1, "unterminated heredoc B started on line 2"),
    ("FROM a\nRUN <<-EOF\n\techo\n  EOF", 2, 1, "unterminated heredoc EOF started on line 2"),
    ("FROM a\nUSER <<INVALID\nINVALID", 3, 1, "unknown instruction: INVALID"),
    ("FROM a\nCMD [1, 2]", 2, 1, "when using JSON array syntax, arrays must be comprised of strings only"),
    ("FROM a\nSHELL /bin/sh -c", 2, 1, "SHELL requires the arguments to be in JSON form"),
    ("FROM a\nSHELL [\"sh\", 1]", 2, 1, "when using JSON array syntax, arrays must be comprised of strings only"),
    ("FROM a\nSHELL", 2, 1, "SHELL requires at least one argument"),
    ("FROM a\nENV", 2, 1, "ENV requires at least one argument"),
    ("FROM a\nENV A", 2, 1, "ENV must have two arguments"),
    ("FROM a\nENV A=1 B", 2, 1, "Syntax error - can't find = in \"B\". Must be of the form: name=value"),
    ("FROM a\nENV =1", 2, 1, "ENV names can not be blank"),
    ("FROM a\nLABEL a=b c", 2, 1, "Syntax error - can't find = in \"c\". Must be of the form: name=value"),
    ("FROM a\nLABEL", 2, 1, "LABEL requires at least one argument"),
    ("ARG", 1, 1, "ARG requires at least one argument"),
    ("ARG =x\nFROM a", 1, 1, "ARG names can not be blank"),
    ("FROM a\nEXPOSE", 2, 1, "EXPOSE requires at least one argument"),
    ("FROM a\nVOLUME", 2, 1, "VOLUME requires at least one argument"),
    ("FROM a\nVOLUME [\"\"]", 2, 1, "VOLUME specified can not be an empty string"),
    ("FROM a\nUSER", 2, 1, "USER requires exactly one argument"),
    ("FROM a\nWORKDIR", 2, 1, "WORKDIR requires exactly one argument"),
    ("FROM a\nSTOPSIGNAL", 2, 1, "STOPSIGNAL requires exactly one argument"),
    ("FROM a\nMAINTAINER", 2, 1, "MAINTAINER requires exactly one argument"),
    ("FROM a\nWORKDIR --x=1 /a", 2, 1, "unknown flag: --x"),
    ("FROM a\nONBUILD", 2, 1, "ONBUILD requires at least one argument"),
    ("FROM a\nONBUILD ONBUILD RUN x", 2, 1, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM a\nONBUILD FROM b", 2, 1, "FROM isn't allowed as an ONBUILD trigger"),
    ("FROM a\nONBUILD maintainer me", 2, 1, "MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("FROM a\nONBUILD FOO x", 2, 1, "unknown instruction: FOO"),
    ("FROM a\nONBUILD COPY a", 2, 1, "COPY requires at least two arguments, but only one was provided. Destination could not be determined."),
    ("FROM a\nHEALTHCHECK", 2, 1, "HEALTHCHECK requires at least one argument"),
    ("FROM a\nHEALTHCHECK NONE x", 2, 1, "HEALTHCHECK NONE takes no arguments"),
    ("FROM a\nHEALTHCHECK RUN x", 2, 1, "Unknown type \"RUN\" in HEALTHCHECK (try CMD)"),
    ("FROM a\nHEALTHCHECK CMD", 2, 1, "Missing command after HEALTHCHECK CMD"),
    ("FROM a\nHEALTHCHECK --interval=30 CMD x", 2, 1, "time: missing unit in duration \"30\""),
    ("FROM a\nHEALTHCHECK --timeout=1x CMD x", 2, 1, "time: unknown unit \"x\" in duration \"1x\""),
    ("FROM a\nHEALTHCHECK --interval=10us CMD x", 2, 1, "Interval \"interval\" cannot be less than 1ms"),
    ("FROM a\nHEALTHCHECK --retries=-1 CMD x", 2, 1, "--retries cannot be negative (-1)"),
    ("FROM a\nHEALTHCHECK --retries=many CMD x", 2, 1, "strconv.ParseInt: parsing \"many\": invalid syntax"),
    ("FROM a\nHEALTHCHECK --bogus=1 CMD x", 2, 1, "unknown flag: --bogus"),
    ("# escape=x\nFROM a", 1, 1, "invalid escape token 'x' does not match ` or \\"),
    ("# syntax=a\n# syntax=b\nFROM a", 2, 1, "only one syntax parser directive can be used"),
    ("# escape=`\n# ESCAPE=\\\nFROM a", 2, 1, "only one escape parser directive can be used"),
    ("# check=skip=all\n#check=error=true\nFROM a", 2, 1, "only one check parser directive can be used"),
    // A parse error later in the file wins over a typing error earlier, as in
    // BuildKit (the whole file is parsed before instructions are typed).
    ("FROM a\nFOOO x\nENV B", 3, 1, "ENV must have two arguments"),
    ("FROM a\nRUN a \\\n  b\n\tCOPY x", 4, 2, "COPY requires at least two arguments, but only one was provided. Destination could not be determined."),
];

#[test]
fn error_table() {
    assert!(CASES.len() >= 50);
    for &(src, line, column, message) in CASES {
        let err = parse(src, "Dockerfile").expect_err(src);
        assert_eq!(
            (err.line, err.column, err.message.as_str()),
            (line, column, message),
            "{src:?}"
        );
    }
}

#[test]
fn display_has_file_line_column() {
    let err = parse("FROM a\n\n  BOGUS x", "ctx/Dockerfile.dev").unwrap_err();
    assert_eq!(
        err.to_string(),
        "ctx/Dockerfile.dev:3:3: unknown instruction: BOGUS"
    );
}

#[test]
fn no_panic_on_odd_input() {
    let odd = [
        "\u{feff}",
        "\\",
        "FROM a\nRUN \\",
        "FROM a\n\\\n\\",
        "FROM a\nRUN [",
        "FROM a\nRUN [\"\\",
        "FROM a\nCOPY <<",
        "FROM a\nCOPY <<\"x y\" /d\nx y",
        "FROM a\nRUN <<'EOF\nEOF",
        "FROM a\nRUN --mount=,,, x",
        "FROM a\nRUN --mount=type=tmpfs,target=/t,size=99999999999999999999999p x",
        "FROM a\nHEALTHCHECK --interval=9999999999999999999999h CMD x",
        "FROM a\nENV \u{a0}=\u{a0}",
        "FROM ä AS ß",
        "FROM a\nRUN --\"",
        "#\u{0}=\u{0}",
        "FROM a\nONBUILD",
        "FROM a\nLABEL \"",
        "FROM a\nRUN 99999999999999999999<<EOF\nEOF",
        "\r\n\r\nFROM a\r\n",
    ];
    for src in odd {
        let _ = parse(src, "Dockerfile");
    }
    let chain = format!("FROM a\n{}RUN x", "ONBUILD ".repeat(100_000));
    let err = parse(&chain, "D").unwrap_err();
    assert_eq!(
        err.message,
        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    );
    let nested = format!("FROM a\nCMD {}", "[".repeat(100_000));
    assert!(parse(&nested, "D").is_ok());
}
