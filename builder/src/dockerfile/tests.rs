//! Table tests: one per instruction form. Each input follows `FROM scratch`.

use super::*;

fn s(v: &str) -> String {
    v.to_string()
}

fn sv(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| s(x)).collect()
}

fn kv(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(k, x)| (s(k), s(x))).collect()
}

fn arg(name: &str, default: Option<&str>) -> ArgDecl {
    ArgDecl {
        name: s(name),
        default: default.map(s),
    }
}

fn doc(name: &str, content: &str, expand: bool, chomp: bool) -> Heredoc {
    Heredoc {
        name: s(name),
        content: s(content),
        expand,
        chomp,
        fd: 0,
    }
}

fn shell_run(cmd: &str) -> Run {
    Run {
        command: Command::Shell(s(cmd)),
        heredocs: vec![],
        mounts: vec![],
        network: None,
        security: None,
    }
}

fn copy(sources: &[&str], dest: &str) -> Copy {
    Copy {
        sources: sv(sources),
        dest: s(dest),
        heredocs: vec![],
        from: None,
        chown: None,
        chmod: None,
        link: false,
        parents: false,
        exclude: vec![],
        checksum: None,
        keep_git_dir: false,
        unpack: None,
    }
}

fn mount(kind: MountKind, spec: &str) -> RunMount {
    RunMount {
        kind,
        target: None,
        source: None,
        from: None,
        readonly: matches!(kind, MountKind::Bind | MountKind::Secret | MountKind::Ssh),
        id: None,
        sharing: None,
        mode: None,
        uid: None,
        gid: None,
        size: None,
        required: false,
        env: None,
        spec: s(spec),
    }
}

fn health(test: Command) -> Healthcheck {
    Healthcheck {
        test,
        interval: None,
        timeout: None,
        start_period: None,
        start_interval: None,
        retries: None,
    }
}

/// The only step of `FROM scratch\n{src}`.
pub(super) fn step(src: &str) -> Step {
    let text = format!("FROM scratch\n{src}");
    let df = parse(&text, "Dockerfile").unwrap_or_else(|e| panic!("{src:?}: {e}"));
    assert_eq!(df.stages.len(), 1, "{src:?}");
    let steps = &df.stages[0].steps;
    assert_eq!(steps.len(), 1, "{src:?}: {steps:#?}");
    steps[0].clone()
}

fn cases() -> Vec<(&'static str, Instruction)> {
    use Instruction as I;
    let mut cases = vec![
        ("RUN echo hi", I::Run(shell_run("echo hi"))),
        ("run  echo   hi  ", I::Run(shell_run("echo   hi"))),
        (
            r#"RUN ["sh", "-c", "echo hi"]"#,
            I::Run(Run {
                command: Command::Exec(sv(&["sh", "-c", "echo hi"])),
                ..shell_run("")
            }),
        ),
        (
            "RUN [ -e /x ] && echo",
            I::Run(shell_run("[ -e /x ] && echo")),
        ),
        ("RUN [\"a\", 'b']", I::Run(shell_run("[\"a\", 'b']"))),
        (
            "RUN a \\\n  b \\\n# comment\n\n  c",
            I::Run(shell_run("a   b   c")),
        ),
        ("RUN a \\\\", I::Run(shell_run("a \\\\"))),
        (
            "RUN --network=none true",
            I::Run(Run {
                network: Some(s("none")),
                ..shell_run("true")
            }),
        ),
        (
            "RUN --security=insecure true",
            I::Run(Run {
                security: Some(s("insecure")),
                ..shell_run("true")
            }),
        ),
        ("RUN -- --network=none", I::Run(shell_run("--network=none"))),
        ("CMD echo hi", I::Cmd(Command::Shell(s("echo hi")))),
        (
            r#"CMD ["/bin/app", "--flag"]"#,
            I::Cmd(Command::Exec(sv(&["/bin/app", "--flag"]))),
        ),
        ("CMD []", I::Cmd(Command::Exec(vec![]))),
        (r#"CMD ["a"] trailing"#, I::Cmd(Command::Exec(sv(&["a"])))),
        (
            r#"CMD ["unterminated"#,
            I::Cmd(Command::Shell(s(r#"["unterminated"#))),
        ),
        (r#"CMD ["\u0041\n"]"#, I::Cmd(Command::Exec(sv(&["A\n"])))),
        (
            r#"ENTRYPOINT ["/entry"]"#,
            I::Entrypoint(Command::Exec(sv(&["/entry"]))),
        ),
        (
            "ENTRYPOINT exec /entry",
            I::Entrypoint(Command::Shell(s("exec /entry"))),
        ),
        ("ENV A=1", I::Env(kv(&[("A", "1")]))),
        (
            r#"ENV A=1 B="two words" C=x\ y"#,
            I::Env(kv(&[("A", "1"), ("B", "\"two words\""), ("C", "x\\ y")])),
        ),
        (
            "ENV PATH /usr/bin:$PATH  more",
            I::Env(kv(&[("PATH", "/usr/bin:$PATH  more")])),
        ),
        ("ENV A=", I::Env(kv(&[("A", "")]))),
        ("ENV A='$x y'", I::Env(kv(&[("A", "'$x y'")]))),
        ("ARG V", I::Arg(vec![arg("V", None)])),
        ("ARG V=1", I::Arg(vec![arg("V", Some("1"))])),
        (
            "ARG A=1 B C=\"x y\"",
            I::Arg(vec![
                arg("A", Some("1")),
                arg("B", None),
                arg("C", Some("\"x y\"")),
            ]),
        ),
        (
            "LABEL a=b \"c d\"=\"e f\"",
            I::Label(kv(&[("a", "b"), ("\"c d\"", "\"e f\"")])),
        ),
        ("LABEL version 1.0", I::Label(kv(&[("version", "1.0")]))),
        ("EXPOSE 80 443/tcp", I::Expose(sv(&["80", "443/tcp"]))),
        ("VOLUME /a /b", I::Volume(sv(&["/a", "/b"]))),
        (
            r#"VOLUME ["/data", "/logs"]"#,
            I::Volume(sv(&["/data", "/logs"])),
        ),
        ("USER app:app", I::User(s("app:app"))),
        ("WORKDIR /srv/$APP", I::Workdir(s("/srv/$APP"))),
        ("STOPSIGNAL SIGTERM", I::StopSignal(s("SIGTERM"))),
        ("MAINTAINER Jane <j@x>", I::Maintainer(s("Jane <j@x>"))),
        (
            r#"SHELL ["/bin/bash", "-c"]"#,
            I::Shell(sv(&["/bin/bash", "-c"])),
        ),
        ("ONBUILD RUN echo hi", I::OnBuild(s("RUN echo hi"))),
        ("onbuild  copy . /app", I::OnBuild(s("copy . /app"))),
        ("HEALTHCHECK NONE", I::Healthcheck(None)),
        (
            "HEALTHCHECK CMD curl -f localhost",
            I::Healthcheck(Some(health(Command::Shell(s("curl -f localhost"))))),
        ),
        (
            r#"HEALTHCHECK cmd ["curl", "x"]"#,
            I::Healthcheck(Some(health(Command::Exec(sv(&["curl", "x"]))))),
        ),
        ("COPY a b /dst/", I::Copy(copy(&["a", "b"], "/dst/"))),
        (r#"COPY ["a b", "/d"]"#, I::Copy(copy(&["a b"], "/d"))),
        (
            "ADD https://x/y.tgz /",
            I::Add(copy(&["https://x/y.tgz"], "/")),
        ),
    ];
    cases.extend(flag_cases());
    cases.extend(heredoc_cases());
    cases
}

fn flag_cases() -> Vec<(&'static str, Instruction)> {
    use Instruction as I;
    let hc = Healthcheck {
        interval: Some(90_000_000_000),
        timeout: Some(500_000_000),
        start_period: Some(0),
        start_interval: Some(1_500_000_000),
        retries: Some(3),
        ..health(Command::Shell(s("true")))
    };
    let cache = RunMount {
        target: Some(s("/root/.cache")),
        id: Some(s("pip")),
        sharing: Some(s("locked")),
        mode: Some(0o755),
        uid: Some(1000),
        gid: Some(1000),
        ..mount(
            MountKind::Cache,
            "type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1000,gid=1000",
        )
    };
    let bind = RunMount {
        target: Some(s("/src")),
        source: Some(s("app")),
        from: Some(s("build")),
        readonly: false,
        ..mount(MountKind::Bind, "target=/src,source=app,from=build,rw")
    };
    let tmpfs = RunMount {
        target: Some(s("/tmp")),
        size: Some(64 << 20),
        ..mount(MountKind::Tmpfs, "type=tmpfs,dst=/tmp,size=64m")
    };
    let secret = RunMount {
        id: Some(s("tok")),
        env: Some(s("TOKEN")),
        required: true,
        ..mount(MountKind::Secret, "type=secret,id=tok,env=TOKEN,required")
    };
    let ssh = RunMount {
        ..mount(MountKind::Ssh, "type=ssh")
    };
    vec![
        ("RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1000,gid=1000 pip i",
         I::Run(Run { mounts: vec![cache], ..shell_run("pip i") })),
        ("RUN --mount=target=/src,source=app,from=build,rw \\\n  --mount=type=tmpfs,dst=/tmp,size=64m make",
         I::Run(Run { mounts: vec![bind, tmpfs], ..shell_run("make") })),
        ("RUN --mount=\"type=secret,id=tok,env=TOKEN,required\" --mount=type=ssh x",
         I::Run(Run { mounts: vec![secret, ssh], ..shell_run("x") })),
        ("HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=0s --start-interval=1.5s --retries=3 CMD true",
         I::Healthcheck(Some(hc))),
        ("COPY --from=build --chown=1:1 --chmod=644 --link --parents --exclude=*.md --exclude=x a /b",
         I::Copy(Copy {
             from: Some(s("build")),
             chown: Some(s("1:1")),
             chmod: Some(s("644")),
             link: true,
             parents: true,
             exclude: sv(&["*.md", "x"]),
             ..copy(&["a"], "/b")
         })),
        ("COPY --link=false a /b", I::Copy(copy(&["a"], "/b"))),
        ("ADD --checksum=sha256:abc --keep-git-dir --unpack=false --chown=$U x /y",
         I::Add(Copy {
             checksum: Some(s("sha256:abc")),
             keep_git_dir: true,
             unpack: Some(false),
             chown: Some(s("$U")),
             ..copy(&["x"], "/y")
         })),
    ]
}

fn heredoc_cases() -> Vec<(&'static str, Instruction)> {
    use Instruction as I;
    let run = |cmd: &str, docs: Vec<Heredoc>| {
        I::Run(Run {
            heredocs: docs,
            ..shell_run(cmd)
        })
    };
    vec![
        (
            "RUN <<EOF\necho hi\n# not a comment\nEOF",
            run(
                "<<EOF",
                vec![doc("EOF", "echo hi\n# not a comment\n", true, false)],
            ),
        ),
        (
            "RUN cat <<EOF > /f\n$HOME\nEOF",
            run("cat <<EOF > /f", vec![doc("EOF", "$HOME\n", true, false)]),
        ),
        (
            "RUN <<A bash && <<B sh\na\nA\nb\nB",
            run(
                "<<A bash && <<B sh",
                vec![doc("A", "a\n", true, false), doc("B", "b\n", true, false)],
            ),
        ),
        (
            "RUN <<-EOF\n\t\techo\n\tEOF",
            run("<<-EOF", vec![doc("EOF", "echo\n", true, true)]),
        ),
        (
            "RUN <<\"EOF\"\n$x\nEOF",
            run("<<\"EOF\"", vec![doc("EOF", "$x\n", false, false)]),
        ),
        (
            "RUN <<'EOF'\n$x\nEOF",
            run("<<'EOF'", vec![doc("EOF", "$x\n", false, false)]),
        ),
        (
            "RUN <<EOF\nEOF",
            run("<<EOF", vec![doc("EOF", "", true, false)]),
        ),
        (
            "RUN python3 <<EOF\r\nprint(1)\r\nEOF\r\n",
            run(
                "python3 <<EOF",
                vec![doc("EOF", "print(1)\r\n", true, false)],
            ),
        ),
        ("RUN echo <<<EOF", run("echo <<<EOF", vec![])),
        (
            "RUN 3<<EOF cat /dev/fd/3\nx\nEOF",
            run(
                "3<<EOF cat /dev/fd/3",
                vec![Heredoc {
                    fd: 3,
                    ..doc("EOF", "x\n", true, false)
                }],
            ),
        ),
        (
            "COPY <<EOF /etc/conf\nk=v\nEOF",
            I::Copy(Copy {
                heredocs: vec![doc("EOF", "k=v\n", true, false)],
                ..copy(&[], "/etc/conf")
            }),
        ),
        (
            "COPY <<a.txt <<b.txt x /d/\nA\na.txt\nB\nb.txt",
            I::Copy(Copy {
                heredocs: vec![
                    doc("a.txt", "A\n", true, false),
                    doc("b.txt", "B\n", true, false),
                ],
                ..copy(&["x"], "/d/")
            }),
        ),
        (
            "ONBUILD RUN <<EOF\necho\nEOF",
            I::OnBuild(s("RUN <<EOF\necho\nEOF")),
        ),
        ("RUN \"<<NOHEREDOC\"", run("\"<<NOHEREDOC\"", vec![])),
        (
            "RUN [\"<<EOF\"]",
            I::Run(Run {
                command: Command::Exec(sv(&["<<EOF"])),
                ..shell_run("")
            }),
        ),
        (
            "RUN <<-U2\n\tbaz\n\tU2",
            run("<<-U2", vec![doc("U2", "baz\n", true, true)]),
        ),
        (
            "RUN <<-'NOEXPAND'\n\t$NAME\nNOEXPAND",
            run(
                "<<-'NOEXPAND'",
                vec![doc("NOEXPAND", "$NAME\n", false, true)],
            ),
        ),
        (
            "RUN --mount=type=cache,target=/foo <<M\necho\nM",
            I::Run(Run {
                mounts: vec![RunMount {
                    target: Some(s("/foo")),
                    ..mount(MountKind::Cache, "type=cache,target=/foo")
                }],
                heredocs: vec![doc("M", "echo\n", true, false)],
                ..shell_run("<<M")
            }),
        ),
        (
            "COPY <<X <<Y /dest\nY\nX\nX\nY",
            I::Copy(Copy {
                heredocs: vec![doc("X", "Y\n", true, false), doc("Y", "X\n", true, false)],
                ..copy(&[], "/dest")
            }),
        ),
    ]
}

#[test]
fn instruction_table() {
    let cases = cases();
    assert!(cases.len() >= 60, "{}", cases.len());
    for (src, want) in cases {
        assert_eq!(step(src).instruction, want, "{src:?}");
    }
}

#[test]
fn original_joins_continuations() {
    let st = step("RUN apt-get update \\\n    # comment\n    && apt-get install -y x");
    assert_eq!(
        st.original,
        "RUN apt-get update     && apt-get install -y x"
    );
    assert_eq!(st.location, Location { line: 2, column: 1 });
}

#[test]
fn backtick_escape() {
    let df = parse(
        "# escape=`\nFROM w\nRUN dir c:\\ `\n  /s\nCOPY a\\b c:\\",
        "Dockerfile",
    )
    .unwrap();
    assert_eq!(df.escape, '`');
    let steps = &df.stages[0].steps;
    assert_eq!(
        steps[0].instruction,
        Instruction::Run(shell_run("dir c:\\   /s"))
    );
    assert_eq!(
        steps[1].instruction,
        Instruction::Copy(copy(&["a\\b"], "c:\\"))
    );
}

#[test]
fn durations() {
    let ok = [
        ("0", 0i64),
        ("1ns", 1),
        ("1.5h", 5_400_000_000_000),
        ("-2us", -2000),
        ("1h2m3s4ms", 3_723_004_000_000),
        (".5s", 500_000_000),
        ("1µs", 1000),
    ];
    for (text, ns) in ok {
        assert_eq!(parse_duration(text), Ok(ns), "{text}");
    }
    for bad in ["", "1", "s", "1x", "--1s", "9999999999999h", "1.s.", "+"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
    assert_eq!(
        parse_duration("1"),
        Err("time: missing unit in duration \"1\"".into())
    );
}

#[test]
fn mount_values_with_variables_are_deferred() {
    let m = parse_mount("type=cache,target=$T,uid=$UID,sharing=$S").unwrap();
    assert_eq!(
        (m.target.as_deref(), m.uid, m.sharing.as_deref()),
        (Some("$T"), None, Some("$S"))
    );
    let m = parse_mount("type=tmpfs,target=/t,size=1.5GiB,ro").unwrap();
    assert_eq!((m.size, m.readonly), (Some(1_610_612_736), true));
    let m = parse_mount("type=cache,target=/c,readonly=true").unwrap();
    assert!(m.readonly);
}
