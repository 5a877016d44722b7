//! The image verbs (images, tag, rmi, prune, history, inspect), archives
//! (save, load, import), unpack and mount, each against a store of its own,
//! with docker's output as the reference.

mod common;

use std::fs;
use std::path::Path;

use common::{Context, Store};
use serde_json::Value;

/// A child of busybox with one RUN layer, tagged `name`.
fn child(s: &Store, name: &str, text: &str) -> String {
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        &format!("FROM busybox\nRUN echo {text} > /hello\nCMD [\"cat\", \"/hello\"]\n"),
    );
    s.build(ctx.path(), &["-t", name]).id
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:")[..12].to_string()
}

#[test]
fn images_lists_docker_columns_and_flags() {
    let s = Store::new();
    s.base();
    s.ok(&["tag", "busybox", "other/box:v1"]);
    let id = s.id_of("busybox");
    let out = s.ok(&["images"]);
    let l = lines(&out);
    let head: Vec<&str> = l[0]
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        head,
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
        "{out}"
    );
    assert_eq!(l.len(), 3, "{out}");
    assert!(out.contains("busybox") && out.contains("other/box") && out.contains("v1"));
    assert!(
        l[1].contains(&short(&id)) && l[2].contains(&short(&id)),
        "{out}"
    );

    // -q: each id once, though two tags name it.
    assert_eq!(s.ok(&["images", "-q"]).trim(), short(&id));
    assert_eq!(s.ok(&["images", "-q", "--no-trunc"]).trim(), id);

    let dig = s.ok(&["images", "--digests"]);
    let digest = s.inspect("busybox")["RepoDigests"][0]
        .as_str()
        .unwrap()
        .split_once('@')
        .unwrap()
        .1
        .to_string();
    assert!(lines(&dig)[0].contains("DIGEST"), "{dig}");
    assert!(dig.contains(&digest), "{dig}");

    // The REPOSITORY[:TAG] filter.
    let f = s.ok(&["images", "other/box"]);
    assert_eq!(lines(&f).len(), 2, "{f}");
    assert!(f.contains("other/box"));
    assert_eq!(lines(&s.ok(&["images", "busybox:latest"])).len(), 2);
    assert_eq!(lines(&s.ok(&["images", "busybox:nope"])).len(), 1);
}

#[test]
fn images_format_json_has_dockers_keys() {
    let s = Store::new();
    s.base();
    let out = s.ok(&["images", "--format", "json"]);
    let v: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    for k in [
        "Containers",
        "CreatedAt",
        "CreatedSince",
        "Digest",
        "ID",
        "Repository",
        "SharedSize",
        "Size",
        "Tag",
        "UniqueSize",
        "VirtualSize",
    ] {
        assert!(v.get(k).is_some(), "{k} missing in {v}");
    }
    assert_eq!(v["Repository"], "busybox");
    assert_eq!(v["Tag"], "latest");
    assert_eq!(v["ID"], short(&s.id_of("busybox")));
    let t = s.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(t.trim(), "busybox:latest");
}

#[test]
fn retag_moves_the_tag_and_leaves_a_dangling_image() {
    let s = Store::new();
    s.base();
    let a = child(&s, "app", "one");
    let b = child(&s, "app", "two");
    assert_ne!(a, b);
    let out = s.ok(&["images"]);
    let none: Vec<&str> = out.lines().filter(|l| l.starts_with("<none>")).collect();
    assert_eq!(none.len(), 1, "{out}");
    assert!(none[0].contains(&short(&a)), "{out}");
    assert!(none[0].split_whitespace().nth(1) == Some("<none>"), "{out}");
    // Several tags on one image; tag moves from one image to another.
    s.ok(&["tag", "app", "app:v2"]);
    s.ok(&["tag", "app", "third"]);
    assert_eq!(s.inspect("app")["RepoTags"].as_array().unwrap().len(), 3);
    s.ok(&["tag", "busybox", "third"]);
    assert_eq!(s.id_of("third"), s.id_of("busybox"));
    assert_eq!(s.inspect("app")["RepoTags"].as_array().unwrap().len(), 2);

    let err = s.fail(&["tag", "app", "Bad:Name"]);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("invalid reference format"), "{err}");
    let err = s.fail(&["tag", "nosuch", "x"]);
    assert!(err.contains("No such image: nosuch"), "{err}");
}

#[test]
fn rmi_untags_deletes_and_refuses_as_docker() {
    let s = Store::new();
    s.base();
    let app = child(&s, "app", "x");
    s.ok(&["tag", "app", "app:v2"]);

    // By tag: untags while another tag is left.
    let out = s.ok(&["rmi", "app:v2"]);
    assert_eq!(out.trim(), "Untagged: app:v2");
    s.ok(&["tag", "app", "app:v2"]);

    // By id with two tags: refused without -f, in docker's words.
    let err = s.fail(&["rmi", &short(&app)]);
    assert!(
        err.contains(&format!(
            "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
            short(&app)
        )),
        "{err}"
    );
    // The parent of a present child: refused by id, even with -f.
    let base = s.id_of("busybox");
    for args in [vec!["rmi", &base[..]], vec!["rmi", "-f", &base[..]]] {
        let err = s.fail(&args);
        assert!(err.contains("image has dependent child images"), "{err}");
    }
    // Several names, one unknown: the others go, the exit is non-zero.
    let out = s.run(&["rmi", "-f", &short(&app), "nosuch"]);
    assert!(!out.status.success());
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(so.contains("Untagged: app:latest") && so.contains("Untagged: app:v2"));
    assert!(so.contains(&format!("Deleted: {app}")), "{so}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such image: nosuch"));
    assert!(s.run(&["inspect", "app"]).status.code() != Some(0));

    // The child gone, the base goes too; what is left is the build cache's.
    s.ok(&["rmi", "busybox"]);
    assert_eq!(s.ok(&["images", "-q"]).trim(), "");
    s.ok(&["prune"]);
    let cached = cache_blobs(&s);
    assert!(!cached.is_empty());
    assert_eq!(s.blobs(), cached);
    s.ok(&["prune", "-a"]);
    assert!(s.blobs().is_empty(), "{:?}", s.blobs());
    assert!(fs::read_dir(s.root().join("layers"))
        .unwrap()
        .next()
        .is_none());
}

/// Blob hexes the build cache records name.
fn cache_blobs(s: &Store) -> Vec<String> {
    let mut v = Vec::new();
    for e in fs::read_dir(s.root().join("cache")).unwrap().flatten() {
        let r: Value = serde_json::from_slice(&fs::read(e.path()).unwrap()).unwrap();
        if let Some(d) = r["layer"]["digest"].as_str() {
            v.push(d.trim_start_matches("sha256:").to_string());
        }
    }
    v.sort();
    v.dedup();
    v
}

#[test]
fn rmi_by_tag_of_a_parent_untags_and_keeps_it() {
    let s = Store::new();
    s.base();
    child(&s, "app", "x");
    let base = s.id_of("busybox");
    assert_eq!(s.ok(&["rmi", "busybox"]).trim(), "Untagged: busybox:latest");
    // Kept for its child, hidden from images as docker hides intermediates.
    assert!(s.ok(&["images", "-q"]).trim() == short(&s.id_of("app")));
    assert!(s.ok(&["images", "-a", "-q"]).contains(&short(&base)));
    s.ok(&["prune"]);
    assert_eq!(s.id_of(&base), base);
}

#[test]
fn history_newest_first_with_missing_rows() {
    let s = Store::new();
    s.base();
    let id = child(&s, "app", "hello");
    let out = s.ok(&["history", "app"]);
    let l = lines(&out);
    assert!(l[0].starts_with("IMAGE") && l[0].contains("CREATED BY") && l[0].contains("SIZE"));
    assert!(l[1].starts_with(&short(&id)), "{out}");
    assert!(l[1].contains("CMD"), "{out}");
    assert!(
        l[2].starts_with("<missing>") && l[2].contains("RUN"),
        "{out}"
    );
    assert!(l.last().unwrap().contains("COPY"), "{out}");
    let q = s.ok(&["history", "-q", "app"]);
    assert_eq!(lines(&q)[0], short(&id));
    assert!(lines(&q)[1..].iter().all(|l| *l == "<missing>"));
    assert!(s.ok(&["history", "--no-trunc", "app"]).contains(&id));
    let j = s.ok(&["history", "--format", "json", "app"]);
    let rows: Vec<Value> = j
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), lines(&q).len());
    assert_eq!(rows[0]["ID"], short(&id));
    for k in ["CreatedAt", "CreatedSince", "CreatedBy", "Size", "Comment"] {
        assert!(rows[0].get(k).is_some(), "{k}: {}", rows[0]);
    }
    // The RUN layer has a size; the CMD row none.
    assert_eq!(rows[0]["Size"], "0B");
    assert_ne!(rows[1]["Size"], "0B");
}

#[test]
fn inspect_json_and_templates_print_as_docker() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        "FROM busybox\nENV A=1 B=two\nLABEL k=v\nCMD [\"sh\"]\n",
    );
    s.build(ctx.path(), &["-t", "meta"]);
    let out = s.ok(&["inspect", "meta"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let v = &v.as_array().unwrap()[0];
    for k in [
        "Id",
        "RepoTags",
        "RepoDigests",
        "Created",
        "Config",
        "RootFS",
        "History",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    assert_eq!(v["RepoTags"], serde_json::json!(["meta:latest"]));
    assert!(v["RepoDigests"][0]
        .as_str()
        .unwrap()
        .starts_with("meta@sha256:"));
    assert_eq!(v["RootFS"]["Type"], "layers");
    assert_eq!(v["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    let env = s.ok(&["inspect", "-f", "{{.Config.Env}}", "meta"]);
    assert!(env.starts_with('[') && env.contains("A=1 B=two]"), "{env}");
    let cfg = s.ok(&["inspect", "-f", "{{json .Config}}", "meta"]);
    let c: Value = serde_json::from_str(cfg.trim()).unwrap();
    assert_eq!(c, v["Config"]);
    assert_eq!(s.ok(&["inspect", "-f", "{{.Os}}", "meta"]), "linux\n");
    assert_eq!(
        s.ok(&["inspect", "-f", "{{index .Config.Labels \"k\"}}", "meta"]),
        "v\n"
    );
    let err = s.fail(&["inspect", "nosuch"]);
    assert!(err.contains("No such image: nosuch"), "{err}");
}

/// Saves busybox in `format` and loads it into a fresh store, there run.
fn roundtrip(format: &str, gzip: bool, stdin: bool) {
    let s = Store::new();
    s.base();
    let dir = tempfile::tempdir().unwrap();
    let mut f = dir.path().join("bb.tar");
    s.ok(&[
        "save",
        "--format",
        format,
        "-o",
        f.to_str().unwrap(),
        "busybox",
    ]);
    if gzip {
        f = common::gzip_copy(&f);
    }
    let fresh = Store::new();
    let out = if stdin {
        fresh.run_stdin(&["load"], &f)
    } else {
        fresh.run(&["load", "-i", f.to_str().unwrap()])
    };
    assert!(out.status.success(), "{}", common::text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Loaded image: busybox:latest"
    );
    assert_eq!(fresh.id_of("busybox"), s.id_of("busybox"));
    let (o, e, code) = fresh.run_image(
        "busybox",
        Some(&["sh", "-c", "echo loaded; cat /etc/group"]),
    );
    assert_eq!(code, 0, "{e}");
    assert!(o.starts_with("loaded\nroot:x:0:"), "{o}");
    assert!(fresh.tmp_entries().is_empty());
}

#[test]
fn save_load_oci() {
    roundtrip("oci", false, false);
}

#[test]
fn save_load_docker() {
    roundtrip("docker", false, false);
}

#[test]
fn save_load_gzip_and_stdin() {
    roundtrip("oci", true, true);
    roundtrip("docker", true, false);
}

#[test]
fn saved_archives_have_the_layout_of_their_format() {
    let s = Store::new();
    s.base();
    let dir = tempfile::tempdir().unwrap();
    let oci = dir.path().join("o.tar");
    let dock = dir.path().join("d.tar");
    s.ok(&["save", "-o", oci.to_str().unwrap(), "busybox"]);
    s.ok(&[
        "save",
        "--format",
        "docker",
        "-o",
        dock.to_str().unwrap(),
        "busybox",
    ]);
    let names = |p: &Path| -> Vec<String> { common::untar(p).into_iter().map(|e| e.0).collect() };
    let o = names(&oci);
    assert!(
        o.contains(&"oci-layout".into()) && o.contains(&"index.json".into()),
        "{o:?}"
    );
    assert!(
        o.iter().filter(|n| n.starts_with("blobs/sha256/")).count() == 3,
        "{o:?}"
    );
    let d = names(&dock);
    assert!(d.contains(&"manifest.json".into()), "{d:?}");
    assert!(d.iter().any(|n| n.ends_with("/layer.tar")), "{d:?}");
    // A missing image: an error, no file.
    let none = dir.path().join("none.tar");
    s.fail(&["save", "-o", none.to_str().unwrap(), "nosuch"]);
    assert!(!none.exists());
}

/// `load` of `bytes` into a store with busybox: refused with `want` in the
/// error, and nothing left behind.
fn refused(bytes: &[u8], want: &str) {
    let s = Store::new();
    s.base();
    let before = s.index_entries();
    let blobs = s.blobs();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("hostile.tar");
    fs::write(&f, bytes).unwrap();
    let err = s.fail(&["load", "-i", f.to_str().unwrap()]);
    assert!(err.contains(want), "want {want:?} in {err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(s.index_entries(), before);
    assert!(s.tmp_entries().is_empty(), "{:?}", s.tmp_entries());
    assert_eq!(s.blobs(), blobs);
    assert!(!s.root().join("evil").exists() && !dir.path().join("evil").exists());
}

/// A good OCI archive of busybox as (name, bytes) entries.
fn oci_entries() -> Vec<(String, Vec<u8>)> {
    let s = Store::new();
    s.base();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("o.tar");
    s.ok(&["save", "-o", f.to_str().unwrap(), "busybox"]);
    common::untar(&f)
}

fn tar_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let e: Vec<(&str, &[u8])> = entries.iter().map(|(n, b)| (n.as_str(), &b[..])).collect();
    common::raw_tar(&e)
}

#[test]
fn hostile_archives_are_refused_and_leave_nothing() {
    let mut good = oci_entries();
    good.push(("../evil".into(), b"x".to_vec()));
    refused(&tar_of(&good), "\"../evil\": path escapes");

    let manifest = br#"[{"Config":"../../etc/passwd","RepoTags":["evil:latest"],"Layers":[]}]"#;
    refused(
        &common::raw_tar(&[("manifest.json", manifest)]),
        "../../etc/passwd",
    );

    // A layer blob whose bytes do not hash to its name.
    let mut bad = oci_entries();
    let layer = bad
        .iter_mut()
        .filter(|(n, _)| n.starts_with("blobs/"))
        .max_by_key(|(_, b)| b.len())
        .unwrap();
    let digest = layer.0.trim_start_matches("blobs/sha256/").to_string();
    let i = layer.1.len() / 2;
    layer.1[i] ^= 0xff;
    refused(&tar_of(&bad), &digest);

    // A layer "blob" that is a symlink to a host file whose digest it bears:
    // refused, not copied into the store.
    refused(&tar_of(&symlinked_layer()), "is not a regular file");
}

fn hex_of(b: &[u8]) -> String {
    berth_builder::digest::Digest::of(b).hex()
}

/// oci_entries with the layer replaced by a symlink to /bin/busybox, and
/// the manifest and index rewritten to name it by busybox's digest.
fn symlinked_layer() -> Vec<(String, Vec<u8>)> {
    let mut e = oci_entries();
    let get = |e: &[(String, Vec<u8>)], n: &str| e.iter().find(|x| x.0 == n).unwrap().1.clone();
    let mut index: Value = serde_json::from_slice(&get(&e, "index.json")).unwrap();
    let mdig = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let mname = format!("blobs/sha256/{}", mdig.trim_start_matches("sha256:"));
    let mut m: Value = serde_json::from_slice(&get(&e, &mname)).unwrap();
    let target = fs::read("/bin/busybox").unwrap();
    let lhex = hex_of(&target);
    let old = m["layers"][0]["digest"].as_str().unwrap().to_string();
    m["layers"][0]["digest"] = format!("sha256:{lhex}").into();
    m["layers"][0]["size"] = target.len().into();
    let mbytes = serde_json::to_vec(&m).unwrap();
    index["manifests"][0]["digest"] = format!("sha256:{}", hex_of(&mbytes)).into();
    index["manifests"][0]["size"] = mbytes.len().into();
    e.retain(|x| x.0 != mname && !x.0.ends_with(old.trim_start_matches("sha256:")));
    e.retain(|x| x.0 != "index.json");
    e.push(("index.json".into(), serde_json::to_vec(&index).unwrap()));
    e.push((format!("blobs/sha256/{}", hex_of(&mbytes)), mbytes));
    e.push((format!("blobs/sha256/{lhex}"), b"->/bin/busybox".to_vec()));
    e
}

#[test]
fn import_a_rootfs_tarball() {
    let s = Store::new();
    let dir = tempfile::tempdir().unwrap();
    let plain = common::busybox_tarball(dir.path(), false);
    let id = s.ok(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        plain.to_str().unwrap(),
        "imp:v1",
    ]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    let (o, e, code) = s.run_image("imp:v1", Some(&["sh", "-c", "echo imported"]));
    assert_eq!((o.as_str(), code), ("imported\n", 0), "{e}");

    let gz = common::busybox_tarball(dir.path(), true);
    let args = [
        "import",
        "-c",
        "ENV A=1 B=\"two words\"",
        "-c",
        "WORKDIR /tmp",
    ];
    let out = s.run_stdin(
        &[&args[..], &["-c", "CMD echo $B in $(pwd)", "-", "imp:gz"]].concat(),
        &gz,
    );
    assert!(out.status.success(), "{}", common::text(&out));
    let (o, e, code) = s.run_image("imp:gz", None);
    assert_eq!((o.as_str(), code), ("two words in /tmp\n", 0), "{e}");
    let (o, e, code) = s.run_image("imp:gz", Some(&["cat", "/etc/passwd"]));
    assert!(code == 0 && o.starts_with("root:x:0:0"), "{o}{e}");
    let err = s.fail(&["import", "-c", "RUN true", plain.to_str().unwrap()]);
    assert!(err.contains("supported: CMD"), "{err}");
    assert_eq!(
        s.inspect("imp:gz")["History"][0]["comment"],
        "Imported from -"
    );
}

#[test]
fn unpack_writes_a_bundle_the_runtime_runs() {
    let s = Store::new();
    s.base();
    let ctx = Context::new();
    ctx.write(
        "Dockerfile",
        "FROM busybox\nENV GREETING=hi\nWORKDIR /work\nUSER 1000\nENTRYPOINT [\"/bin/sh\", \"-c\", \"echo $GREETING $(pwd) $(id -u) $0\"]\nCMD [\"arg\"]\n",
    );
    s.build(ctx.path(), &["-t", "ep"]);
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b");
    s.ok(&["unpack", "ep", b.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&fs::read(b.join("config.json")).unwrap()).unwrap();
    let p = &v["process"];
    assert_eq!(p["args"][0], "/bin/sh");
    assert_eq!(p["args"][3], "arg");
    assert_eq!(p["cwd"], "/work");
    assert_eq!(p["user"]["uid"], 1000);
    assert!(p["env"].as_array().unwrap().contains(&"GREETING=hi".into()));
    assert!(b.join("rootfs/bin/busybox").is_file());
    let (o, e, code) = s.run_image("ep", None);
    assert_eq!((o.as_str(), code), ("hi /work 1000 arg\n", 0), "{e}");

    // A non-empty dir is refused, and kept as it was.
    let err = s.fail(&["unpack", "ep", b.to_str().unwrap()]);
    assert!(err.contains("not empty"), "{err}");
    assert!(b.join("config.json").is_file());
}

#[test]
fn unpack_of_an_image_without_a_command_fails_cleanly() {
    let s = Store::new();
    let dir = tempfile::tempdir().unwrap();
    let plain = common::busybox_tarball(dir.path(), false);
    s.ok(&["import", plain.to_str().unwrap(), "nocmd"]);
    let b = dir.path().join("b");
    let err = s.fail(&["unpack", "nocmd", b.to_str().unwrap()]);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.to_lowercase().contains("command"), "{err}");
    assert!(!b.exists());
}

#[test]
fn mount_shows_the_image_and_keeps_writes_in_the_upper_dir() {
    let s = Store::new();
    s.base();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    let upper = s.ok(&["mount", "busybox", m.to_str().unwrap()]);
    let upper = Path::new(upper.trim()).to_path_buf();
    let cleanup = Umount(&s, &m);
    assert!(m.join("bin/busybox").is_file());
    assert!(m.join("etc/passwd").is_file());
    fs::write(m.join("etc/new"), "x").unwrap();
    assert_eq!(fs::read(upper.join("etc/new")).unwrap(), b"x");
    for e in fs::read_dir(s.root().join("layers")).unwrap().flatten() {
        assert!(!e.path().join("etc/new").exists());
    }
    let err = s.fail(&["mount", "busybox", m.to_str().unwrap()]);
    assert!(err.contains("already mounted"), "{err}");
    drop(cleanup);
    assert!(!m.join("bin/busybox").exists());
    assert!(!upper.exists());
    assert!(s.mounts().is_empty(), "{:?}", s.mounts());
    let err = s.fail(&["umount", m.to_str().unwrap()]);
    assert!(err.contains("no image is mounted"), "{err}");
}

/// Unmounts on drop, so a failed assertion leaves no mount behind.
struct Umount<'a>(&'a Store, &'a Path);

impl Drop for Umount<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["umount", self.1.to_str().unwrap()]);
    }
}

/// The largest layer blob of `image` in `s`: (hex, path).
fn layer_blob(s: &Store, image: &str) -> (String, std::path::PathBuf) {
    let v = s.inspect(image);
    let l = v["Manifest"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|l| l["size"].as_u64())
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let hex = l.trim_start_matches("sha256:").to_string();
    let p = s.root().join("blobs/sha256").join(&hex);
    (hex, p)
}

#[test]
fn a_corrupted_layer_blob_is_named_by_unpack_build_and_save() {
    // A loaded image: its layer dirs are made from the blob when needed.
    let s = Store::new();
    s.base();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bb.tar");
    s.ok(&["save", "-o", f.to_str().unwrap(), "busybox"]);
    let fresh = Store::new();
    fresh.ok(&["load", "-i", f.to_str().unwrap()]);
    let (hex, blob) = layer_blob(&fresh, "busybox");
    common::flip_byte(&blob);

    let b = dir.path().join("b");
    let err = fresh.fail(&["unpack", "busybox", b.to_str().unwrap()]);
    assert!(err.contains(&hex), "{err}");
    assert!(!b.exists());

    let ctx = Context::new();
    ctx.write("Dockerfile", "FROM busybox\nRUN true\n");
    let out = fresh.run(&["build", ctx.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(common::text(&out).contains(&hex), "{}", common::text(&out));

    let out2 = dir.path().join("again.tar");
    let err = fresh.fail(&["save", "-o", out2.to_str().unwrap(), "busybox"]);
    assert!(err.contains(&hex), "{err}");
    assert!(!out2.exists());
    assert!(fresh.tmp_entries().is_empty());

    // In the store that built it too (unpack and save read the blob).
    let (hex, blob) = layer_blob(&s, "busybox");
    common::flip_byte(&blob);
    let b2 = dir.path().join("b2");
    assert!(s
        .fail(&["unpack", "busybox", b2.to_str().unwrap()])
        .contains(&hex));
    assert!(s
        .fail(&["save", "-o", out2.to_str().unwrap(), "busybox"])
        .contains(&hex));
}

#[test]
fn save_without_output_writes_stdout() {
    let s = Store::new();
    s.base();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("piped.tar");
    let out = s
        .cmd()
        .args(["save", "--format", "docker", "busybox"])
        .stdout(fs::File::create(&f).unwrap())
        .status()
        .unwrap();
    assert!(out.success());
    let fresh = Store::new();
    let out = fresh.run_stdin(&["load", "-q"], &f);
    assert!(out.status.success(), "{}", common::text(&out));
    assert_eq!(fresh.id_of("busybox"), s.id_of("busybox"));
    // A save that cannot be written names the file asked for, once.
    let err = s.fail(&["save", "-o", "/nonexistent/dir/x.tar", "busybox"]);
    assert!(err.starts_with("error: /nonexistent/dir/x.tar: "), "{err}");
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}
