//! The instructions with forms and flags of their own: RUN, CMD/ENTRYPOINT,
//! HEALTHCHECK, COPY/ADD, ONBUILD.

use super::duration::parse_duration;
use super::flags::Kind;
use super::instructions::{flags, no_flags, typed};
use super::syntax::Node;
use super::{heredoc, mount, Command, Copy, Healthcheck, Heredoc, Run};

/// Exec form when the arguments were a JSON array, else the raw text.
fn form(node: &Node, args: &[String]) -> Command {
    if node.json {
        Command::Exec(args.to_vec())
    } else {
        Command::Shell(args.first().cloned().unwrap_or_default())
    }
}

pub(crate) fn command(node: &Node) -> Result<Command, String> {
    no_flags(node)?;
    Ok(form(node, &node.args))
}

pub(crate) fn run(node: &Node) -> Result<Run, String> {
    let f = flags(
        node,
        &[
            ("mount", Kind::List),
            ("network", Kind::Str),
            ("security", Kind::Str),
        ],
    )?;
    if node.args.is_empty() {
        return Err("RUN requires at least one argument".into());
    }
    let mounts = f
        .list("mount")
        .iter()
        .map(|m| mount::parse_mount(m))
        .collect::<Result<_, _>>()?;
    let network = f.string("network");
    if let Some(n) = &network {
        if !matches!(n.as_str(), "default" | "none" | "host") {
            return Err(format!("invalid network mode {n:?}"));
        }
    }
    let security = f.string("security");
    if let Some(s) = &security {
        if !matches!(s.as_str(), "insecure" | "sandbox") {
            return Err(format!("security {s:?} is not valid"));
        }
    }
    Ok(Run {
        command: form(node, &node.args),
        heredocs: node.heredocs.clone(),
        mounts,
        network,
        security,
    })
}

const HEALTH_FLAGS: [(&str, Kind); 5] = [
    ("interval", Kind::Str),
    ("timeout", Kind::Str),
    ("start-period", Kind::Str),
    ("start-interval", Kind::Str),
    ("retries", Kind::Str),
];

pub(crate) fn healthcheck(node: &Node) -> Result<Option<Healthcheck>, String> {
    let Some((typ, args)) = node.args.split_first() else {
        return Err("HEALTHCHECK requires at least one argument".into());
    };
    let typ = typ.to_ascii_uppercase();
    if typ == "NONE" {
        if !args.is_empty() {
            return Err("HEALTHCHECK NONE takes no arguments".into());
        }
        return Ok(None);
    }
    let f = flags(node, &HEALTH_FLAGS)?;
    if typ != "CMD" {
        return Err(format!("Unknown type {typ:?} in HEALTHCHECK (try CMD)"));
    }
    if args.is_empty() || (!node.json && args[0].is_empty()) {
        return Err("Missing command after HEALTHCHECK CMD".into());
    }
    let interval = |name: &str| f.string(name).map(|v| interval(name, &v)).transpose();
    Ok(Some(Healthcheck {
        test: form(node, args),
        interval: interval("interval")?,
        timeout: interval("timeout")?,
        start_period: interval("start-period")?,
        start_interval: interval("start-interval")?,
        retries: f.string("retries").map(|v| retries(&v)).transpose()?,
    }))
}

/// A HEALTHCHECK duration: 0 means "inherit", else at least 1ms.
fn interval(name: &str, value: &str) -> Result<i64, String> {
    let d = parse_duration(value)?;
    if d != 0 && d < 1_000_000 {
        return Err(format!("Interval {name:?} cannot be less than 1ms"));
    }
    Ok(d)
}

fn retries(value: &str) -> Result<i64, String> {
    let n: i32 = value
        .parse()
        .map_err(|_| format!("strconv.ParseInt: parsing {value:?}: invalid syntax"))?;
    if n < 0 {
        return Err(format!("--retries cannot be negative ({n})"));
    }
    Ok(i64::from(n))
}

const COPY_FLAGS: [(&str, Kind); 6] = [
    ("from", Kind::Str),
    ("chown", Kind::Str),
    ("chmod", Kind::Str),
    ("link", Kind::Bool),
    ("parents", Kind::Bool),
    ("exclude", Kind::List),
];

const ADD_FLAGS: [(&str, Kind); 7] = [
    ("chown", Kind::Str),
    ("chmod", Kind::Str),
    ("link", Kind::Bool),
    ("exclude", Kind::List),
    ("checksum", Kind::Str),
    ("keep-git-dir", Kind::Bool),
    ("unpack", Kind::Bool),
];

/// COPY and ADD: sources then the destination, heredocs as sources.
pub(crate) fn copy(node: &Node, add: bool) -> Result<Copy, String> {
    let name = if add { "ADD" } else { "COPY" };
    if node.args.len() < 2 {
        return Err(format!(
            "{name} requires at least two arguments, but only one was provided. Destination could not be determined."
        ));
    }
    let f = if add {
        flags(node, &ADD_FLAGS)?
    } else {
        flags(node, &COPY_FLAGS)?
    };
    let Some((dest, srcs)) = node.args.split_last() else {
        return Err(format!("{name} requires a destination"));
    };
    if !node.json && heredoc::parse_word(dest)?.is_some() {
        return Err(format!("{name} cannot accept a heredoc as a destination"));
    }
    let mut sources = Vec::new();
    let mut heredocs = Vec::new();
    for src in srcs {
        match heredoc_source(node, src)? {
            Some(doc) => heredocs.push(doc),
            None => sources.push(src.clone()),
        }
    }
    Ok(Copy {
        sources,
        dest: dest.clone(),
        heredocs,
        from: f.string("from"),
        chown: f.string("chown"),
        chmod: f.string("chmod"),
        link: f.bool("link").unwrap_or(false),
        parents: f.bool("parents").unwrap_or(false),
        exclude: f.list("exclude"),
        checksum: f.string("checksum"),
        keep_git_dir: f.bool("keep-git-dir").unwrap_or(false),
        unpack: f.bool("unpack"),
    })
}

/// The heredoc a source word names, with its body.
fn heredoc_source(node: &Node, src: &str) -> Result<Option<Heredoc>, String> {
    if node.json {
        return Ok(None);
    }
    let Some(word) = heredoc::parse_word(src)? else {
        return Ok(None);
    };
    Ok(node
        .heredocs
        .iter()
        .find(|h| h.name == word.name)
        .cloned()
        .or(Some(word)))
}

/// ONBUILD: the trigger as written (heredoc bodies appended as BuildKit
/// stores them), after checking that it is allowed and parses.
pub(crate) fn onbuild(node: &Node) -> Result<String, String> {
    no_flags(node)?;
    let Some(sub) = &node.sub else {
        return Err("ONBUILD requires at least one argument".into());
    };
    match sub.cmd.as_str() {
        "onbuild" => return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()),
        "maintainer" | "from" => {
            return Err(format!(
                "{} isn't allowed as an ONBUILD trigger",
                sub.cmd.to_ascii_uppercase()
            ))
        }
        _ => {}
    }
    let mut trigger = (**sub).clone();
    trigger.heredocs = node.heredocs.clone();
    typed(&trigger)?;
    let mut text = sub.original.clone();
    for doc in &node.heredocs {
        text.push('\n');
        text.push_str(&doc.content);
        text.push_str(&doc.name);
    }
    Ok(text)
}
