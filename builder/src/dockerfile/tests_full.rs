//! Whole Dockerfiles: stages, meta ARGs, directives, locations; and a
//! differential check against parse-dockerfile where both accept the input.

use super::*;
use parse_dockerfile as pd;

const MULTI: &str = r#"# syntax=docker/dockerfile:1.7
# check=skip=JSONArgsRecommended
ARG GO=1.22
ARG BASE
FROM --platform=$BUILDPLATFORM golang:${GO} AS Build
WORKDIR /src
COPY --link go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN <<EOF
set -e
go build -o /out/app ./cmd/app
EOF

  # runtime
FROM ${BASE:-alpine} AS runtime
COPY --from=build /out/app /usr/local/bin/app
USER 65534
EXPOSE 8080
HEALTHCHECK --interval=30s CMD ["app", "health"]
ENTRYPOINT ["app"]
CMD serve

FROM runtime
LABEL org.opencontainers.image.title="app"
"#;

#[test]
fn multi_stage() {
    let df = parse(MULTI, "Dockerfile").unwrap();
    assert_eq!(df.syntax.as_deref(), Some("docker/dockerfile:1.7"));
    assert_eq!(df.check.as_deref(), Some("skip=JSONArgsRecommended"));
    assert_eq!(df.escape, '\\');
    assert_eq!(
        df.meta_args,
        vec![
            ArgDecl {
                name: "GO".into(),
                default: Some("1.22".into())
            },
            ArgDecl {
                name: "BASE".into(),
                default: None
            }
        ]
    );
    let summary: Vec<_> = df
        .stages
        .iter()
        .map(|s| {
            (
                s.index,
                s.base.as_str(),
                s.name.as_deref(),
                s.platform.as_deref(),
                s.location.line,
                s.steps.len(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                0,
                "golang:${GO}",
                Some("build"),
                Some("$BUILDPLATFORM"),
                5,
                5
            ),
            (1, "${BASE:-alpine}", Some("runtime"), None, 17, 6),
            (2, "runtime", None, None, 25, 1),
        ]
    );
    let lines: Vec<_> = df.stages[0].steps.iter().map(|s| s.location.line).collect();
    assert_eq!(lines, vec![6, 7, 8, 10, 11]);
    let run = &df.stages[0].steps[2];
    assert_eq!(
        run.original,
        "RUN --mount=type=cache,target=/go/pkg/mod     go mod download"
    );
    let Instruction::Run(heredoc_run) = &df.stages[0].steps[4].instruction else {
        panic!()
    };
    assert_eq!(
        heredoc_run.heredocs[0].content,
        "set -e\ngo build -o /out/app ./cmd/app\n"
    );
    assert_eq!(
        df.stages[1].steps[3].location,
        Location {
            line: 21,
            column: 1
        }
    );
}

#[test]
fn directives_end_at_first_other_line() {
    let df = parse("#escape=`\n\n# syntax=x\nFROM a", "D").unwrap();
    assert_eq!((df.escape, df.syntax), ('`', None));
    let df = parse("# comment\n# escape=`\nFROM a", "D").unwrap();
    assert_eq!(df.escape, '\\');
    let df = parse("# unknown=1\n# syntax=x\nFROM a", "D").unwrap();
    assert_eq!(df.syntax, None);
    let df = parse("\u{feff}# SYNTAX = img:1  \nfrom a", "D").unwrap();
    assert_eq!(df.syntax.as_deref(), Some("img:1"));
}

#[test]
fn heredoc_then_instructions_and_onbuild() {
    let src = "FROM a\nRUN <<A cat && <<-B cat\n# kept\nA\n\tb\n\tB\nONBUILD COPY <<f /f\nbody\nf\nENV X=1\n";
    let df = parse(src, "D").unwrap();
    let steps = &df.stages[0].steps;
    let lines: Vec<_> = steps.iter().map(|s| s.location.line).collect();
    assert_eq!(lines, vec![2, 7, 10]);
    assert_eq!(
        steps[1].instruction,
        Instruction::OnBuild("COPY <<f /f\nbody\nf".into())
    );
    assert_eq!(
        steps[2].instruction,
        Instruction::Env(vec![("X".into(), "1".into())])
    );
}

const MULTI_NO_HEREDOC: &str = "FROM --platform=linux/amd64 golang AS build\nRUN --mount=type=cache,target=/c \\\n    go build\n\nFROM scratch\nCOPY --from=build /app /app\nCMD [\"/app\", \"serve\"]\n";

/// Dockerfiles both parsers accept; they must agree on structure.
const CORPUS: &[&str] = &[
    MULTI_NO_HEREDOC,
    "FROM alpine\nRUN echo a && \\\n  echo b\nCMD [\"sh\"]\n",
    "ARG V=1\nFROM x:$V as base\nENV A=1 B=2\nFROM base\nCOPY --from=base /a /b\nENTRYPOINT [\"/b\"]\n",
    "from a\n  run   --network=none   true\nworkdir /w\nuser u\nvolume [\"/v\"]\nexpose 1 2\nstopsignal 9\nshell [\"bash\", \"-c\"]\n",
    "# escape=`\nFROM w\nRUN a `\n  b\nHEALTHCHECK --retries=2 CMD [\"x\"]\nLABEL a=b\n",
];

#[test]
fn agrees_with_parse_dockerfile() {
    for src in CORPUS {
        let ours = parse(src, "D").unwrap();
        let theirs = pd::parse(src).unwrap();
        let their_stages: Vec<_> = theirs.stages().collect();
        assert_eq!(ours.stages.len(), their_stages.len(), "{src}");
        for (o, t) in ours.stages.iter().zip(&their_stages) {
            assert_eq!(o.base, t.from.image.value, "{src}");
            let their_name = t.from.as_.as_ref().map(|(_, n)| n.value.to_lowercase());
            assert_eq!(o.name, their_name, "{src}");
            assert_eq!(o.location, location(src, t.from.from.span.start), "{src}");
            assert_eq!(o.steps.len(), t.instructions.len(), "{src}");
            for (step, inst) in o.steps.iter().zip(t.instructions) {
                assert_eq!(
                    step.location,
                    location(src, keyword_start(inst)),
                    "{src}: {}",
                    step.original
                );
                assert_eq!(
                    exec_args(&step.instruction),
                    their_exec_args(inst),
                    "{src}: {}",
                    step.original
                );
            }
        }
    }
}

fn location(src: &str, offset: usize) -> Location {
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Location { line, column }
}

fn keyword_start(i: &pd::Instruction<'_>) -> usize {
    use pd::Instruction as P;
    match i {
        P::Add(x) => x.add.span.start,
        P::Arg(x) => x.arg.span.start,
        P::Cmd(x) => x.cmd.span.start,
        P::Copy(x) => x.copy.span.start,
        P::Entrypoint(x) => x.entrypoint.span.start,
        P::Env(x) => x.env.span.start,
        P::Expose(x) => x.expose.span.start,
        P::From(x) => x.from.span.start,
        P::Healthcheck(x) => x.healthcheck.span.start,
        P::Label(x) => x.label.span.start,
        P::Maintainer(x) => x.maintainer.span.start,
        P::Onbuild(x) => x.onbuild.span.start,
        P::Run(x) => x.run.span.start,
        P::Shell(x) => x.shell.span.start,
        P::Stopsignal(x) => x.stopsignal.span.start,
        P::User(x) => x.user.span.start,
        P::Volume(x) => x.volume.span.start,
        P::Workdir(x) => x.workdir.span.start,
        _ => usize::MAX,
    }
}

fn exec_args(i: &Instruction) -> Option<Vec<String>> {
    match i {
        Instruction::Run(Run {
            command: Command::Exec(a),
            ..
        })
        | Instruction::Cmd(Command::Exec(a))
        | Instruction::Entrypoint(Command::Exec(a))
        | Instruction::Shell(a) => Some(a.clone()),
        _ => None,
    }
}

fn their_exec_args(i: &pd::Instruction<'_>) -> Option<Vec<String>> {
    use pd::Instruction as P;
    let strings = |v: &[pd::UnescapedString<'_>]| v.iter().map(|s| s.value.to_string()).collect();
    let cmd = |c: &pd::Command<'_>| match c {
        pd::Command::Exec(a) => Some(strings(&a.value)),
        _ => None,
    };
    match i {
        P::Run(x) => cmd(&x.arguments),
        P::Cmd(x) => cmd(&x.arguments),
        P::Entrypoint(x) => cmd(&x.arguments),
        P::Shell(x) => Some(strings(&x.arguments)),
        _ => None,
    }
}
