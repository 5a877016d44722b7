//! Each Dockerfile instruction's effect, checked in the image's config and
//! files (unpacked and run through the runtime).

mod common;

use common::{Context, Store};

#[test]
fn metadata_instructions_land_in_the_config() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        r#"ARG BASE=busybox
FROM ${BASE} AS app
MAINTAINER someone <a@b.c>
ARG VERSION=1.0
ENV APP_VERSION=$VERSION PATH=/usr/bin:/bin
ENV OLD form with spaces
LABEL org.example.version="${VERSION}" two="a b"
EXPOSE 80 53/udp
VOLUME ["/data", "/logs"]
USER nobody
WORKDIR /srv
WORKDIR sub
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["true"]
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo child
ENTRYPOINT ["/bin/echo"]
CMD ["hello"]
"#,
    );
    s.build(ctx.path(), &["-t", "meta:v1", "--build-arg", "VERSION=2.5"]);
    let v = s.inspect("meta:v1");
    let c = &v["Config"];
    assert_eq!(v["Author"], "someone <a@b.c>");
    let env: Vec<&str> = c["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(env.contains(&"APP_VERSION=2.5"), "{env:?}");
    assert!(env.contains(&"OLD=form with spaces"), "{env:?}");
    assert_eq!(c["Labels"]["org.example.version"], "2.5");
    assert_eq!(c["Labels"]["two"], "a b");
    assert!(c["ExposedPorts"]["80/tcp"].is_object() && c["ExposedPorts"]["53/udp"].is_object());
    assert!(c["Volumes"]["/data"].is_object() && c["Volumes"]["/logs"].is_object());
    assert_eq!(c["User"], "nobody");
    assert_eq!(c["WorkingDir"], "/srv/sub");
    assert_eq!(c["StopSignal"], "SIGQUIT");
    assert_eq!(c["Healthcheck"]["Test"], serde_json::json!(["CMD", "true"]));
    assert_eq!(c["Healthcheck"]["Interval"], 30_000_000_000i64);
    assert_eq!(c["Healthcheck"]["Retries"], 3);
    assert_eq!(c["Shell"], serde_json::json!(["/bin/sh", "-ec"]));
    assert_eq!(c["OnBuild"], serde_json::json!(["RUN echo child"]));
    assert_eq!(c["Entrypoint"], serde_json::json!(["/bin/echo"]));
    assert_eq!(c["Cmd"], serde_json::json!(["hello"]));
    let (out, err, code) = s.run_image("meta:v1", None);
    assert_eq!((out.as_str(), code), ("hello\n", 0), "{err}");
}

#[test]
fn run_sees_env_args_user_workdir_and_shell_forms() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        r#"FROM busybox
ARG WHO=world
ENV GREETING=hello
RUN echo "$GREETING $WHO" > /greeting
RUN ["/bin/sh", "-c", "echo exec-form > /exec"]
WORKDIR /work
RUN pwd > /work/pwd
USER user
RUN id -u > /tmp/uid && id -G > /tmp/groups && echo $HOME > /tmp/home
USER root
RUN cp /tmp/uid /tmp/groups /tmp/home /work/
"#,
    );
    let b = s.build(ctx.path(), &["-t", "run:v1", "--build-arg", "WHO=berth"]);
    assert_eq!(b.runs, 5, "{}", b.log);
    let (out, err, _) = s.run_image(
        "run:v1",
        Some(&[
            "sh",
            "-c",
            "cat /greeting /exec /work/pwd /work/uid /work/groups /work/home",
        ]),
    );
    assert_eq!(
        out, "hello berth\nexec-form\n/work\n1000\n1000 2000\n/home/user\n",
        "{err}"
    );
    // WORKDIR's dir is in the image; the mount points the runtime made for
    // /proc, /dev, /sys and /etc/hosts are not.
    let (out, _, _) = s.run_image("run:v1", Some(&["sh", "-c", "ls -d /work; ls -a /"]));
    assert!(out.starts_with("/work\n"), "{out}");
    let bundle = tempfile::tempdir().unwrap();
    let b = bundle.path().join("b");
    s.ok(&["unpack", "run:v1", b.to_str().unwrap()]);
    for stub in ["proc", "sys", "dev", "etc/hosts", "etc/resolv.conf"] {
        assert!(
            !b.join("rootfs").join(stub).exists(),
            "the mount point {stub} ended up in the image"
        );
    }
}

#[test]
fn heredocs_in_run_and_copy() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        "FROM busybox\nENV NAME=berth\nRUN <<EOF\necho one > /one\necho two >> /one\nEOF\n\
RUN cat <<EOT > /two\nhello $NAME\nEOT\n\
RUN <<'EOF'\n#!/bin/sh\necho \"script $0\" > /three\nEOF\n\
COPY <<EOF /four\nfile for $NAME\nEOF\n\
COPY <<'EOF' /five\nkept $NAME\nEOF\n",
    );
    s.build(ctx.path(), &["-t", "here:v1"]);
    let (out, err, _) = s.run_image("here:v1", Some(&["cat", "/one", "/two", "/four", "/five"]));
    assert_eq!(
        out, "one\ntwo\nhello berth\nfile for berth\nkept $NAME\n",
        "{err}"
    );
    let (out, _, _) = s.run_image("here:v1", Some(&["cat", "/three"]));
    assert!(out.starts_with("script /"), "{out}");
}

#[test]
fn entrypoint_resets_an_inherited_cmd() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        "FROM busybox\nENTRYPOINT [\"/bin/echo\", \"ep\"]\n",
    );
    s.build(ctx.path(), &["-t", "ep:v1"]);
    let v = s.inspect("ep:v1");
    assert!(v["Config"]["Cmd"].is_null(), "{}", v["Config"]);
    let (out, _, _) = s.run_image("ep:v1", None);
    assert_eq!(out, "ep\n");
}

#[test]
fn onbuild_triggers_run_in_the_child_build_once() {
    let s = Store::new();
    s.base();
    let parent = Context::new();
    parent.write(
        "Dockerfile",
        "FROM busybox\nONBUILD RUN echo triggered >> /log\n",
    );
    s.build(parent.path(), &["-t", "parent:v1"]);
    let child = Context::new();
    child.write("Dockerfile", "FROM parent:v1\nRUN cat /log > /seen\n");
    s.build(child.path(), &["-t", "child:v1"]);
    let (out, _, _) = s.run_image("child:v1", Some(&["cat", "/log"]));
    assert_eq!(out, "triggered\n");
    assert!(s.inspect("child:v1")["Config"]["OnBuild"].is_null());
    let grandchild = Context::new();
    grandchild.write("Dockerfile", "FROM child:v1\nRUN cat /log > /seen2\n");
    s.build(grandchild.path(), &["-t", "grandchild:v1"]);
    let (out, _, _) = s.run_image("grandchild:v1", Some(&["cat", "/log"]));
    assert_eq!(
        out, "triggered\n",
        "a trigger runs once, in the direct child only"
    );
}

#[test]
fn global_args_and_platform_args() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        "ARG TAG=latest\nFROM busybox:${TAG}\nARG TARGETARCH\nARG TAG\nRUN echo \"$TARGETARCH $TAG\" > /out\n",
    );
    s.build(ctx.path(), &["-t", "args:v1"]);
    let (out, _, _) = s.run_image("args:v1", Some(&["cat", "/out"]));
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    };
    assert_eq!(out, format!("{arch} latest\n"));
    let b = s.build(ctx.path(), &["-t", "args:v2", "--build-arg", "UNUSED=1"]);
    assert!(
        b.log
            .contains("[Warning] One or more build-args [UNUSED] were not consumed"),
        "{}",
        b.log
    );
}
