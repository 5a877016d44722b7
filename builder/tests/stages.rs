//! Stages as a graph: only what the target needs is built, and
//! independent stages build at the same time.

mod common;

use common::{Context, Store};

#[test]
fn only_the_targets_stages_are_built() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        "FROM busybox AS unused\nRUN echo UNUSED-STAGE-RAN\n\
FROM busybox AS lib\nRUN echo lib > /lib.txt\n\
FROM busybox AS app\nCOPY --from=lib /lib.txt /lib.txt\nRUN echo APP-STAGE-RAN\n\
FROM app AS final\nRUN cat /lib.txt\n",
    );
    let b = s.build(ctx.path(), &["-t", "g:final"]);
    assert!(!b.log.contains("UNUSED-STAGE-RAN"), "{}", b.log);
    assert!(b.log.contains("APP-STAGE-RAN"), "{}", b.log);
    let b = s.build(
        ctx.path(),
        &["--target", "lib", "-t", "g:lib", "--no-cache"],
    );
    assert!(
        !b.log.contains("APP-STAGE-RAN") && !b.log.contains("UNUSED-STAGE-RAN"),
        "{}",
        b.log
    );
    assert_eq!(b.runs, 1, "{}", b.log);
    let (out, _, _) = s.run_image("g:lib", Some(&["cat", "/lib.txt"]));
    assert_eq!(out, "lib\n");
    let out = s.run(&["build", "--target", "nosuch", ctx.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        common::text(&out).contains("target stage \"nosuch\" could not be found"),
        "{}",
        common::text(&out)
    );
}

#[test]
fn independent_stages_build_at_the_same_time() {
    // Each stage waits until the other has started, through a shared cache
    // mount: the build can only finish if both RUNs are in flight at once.
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    let wait = |me: &str, other: &str| {
        format!(
            "RUN --mount=type=cache,id=rendezvous,target=/sync touch /sync/{me} && \
             i=0; while [ ! -e /sync/{other} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; \
             [ -e /sync/{other} ] && echo {me} > /{me}\n"
        )
    };
    let df = format!(
        "FROM busybox AS a\n{}FROM busybox AS b\n{}FROM busybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n",
        wait("a", "b"),
        wait("b", "a")
    );
    ctx.write("Dockerfile", &df);
    s.build(ctx.path(), &["-t", "par:1"]);
    let (out, _, _) = s.run_image("par:1", Some(&["cat", "/a", "/b"]));
    assert_eq!(out, "a\nb\n");
}

#[test]
fn stages_by_index_and_images_by_name() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        "FROM busybox\nRUN echo zero > /zero\nFROM scratch\nCOPY --from=0 /zero /zero\nCOPY --from=busybox /bin/busybox /bin/busybox\nCMD [\"/bin/busybox\", \"true\"]\n",
    );
    s.build(ctx.path(), &["-t", "idx:1"]);
    let (out, _, _) = s.run_image("idx:1", Some(&["/bin/busybox", "cat", "/zero"]));
    assert_eq!(out, "zero\n");
}

#[test]
fn images_with_more_layers_than_one_page_of_mount_options() {
    // ~45 store paths fill mount(2)'s one page of overlay options; past
    // that the snapshot is mounted with fsconfig, one lower dir at a time.
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    let mut df = String::from("FROM busybox\n");
    for i in 0..70 {
        df.push_str(&format!("RUN echo {i} > /layer-{i}\n"));
    }
    df.push_str("RUN cat /layer-0 /layer-69 > /both\n");
    ctx.write("Dockerfile", &df);
    s.build(ctx.path(), &["-t", "deep:1"]);
    let v = s.inspect("deep:1");
    assert_eq!(v["RootFS"]["Layers"].as_array().unwrap().len(), 72);
    let (out, _, _) = s.run_image("deep:1", Some(&["cat", "/both"]));
    assert_eq!(out, "0\n69\n");
}
