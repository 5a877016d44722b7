//! Typing a node: argument counts, flags and forms per instruction, with
//! BuildKit's messages (instructions/parse.go). The simple instructions are
//! here; RUN, CMD, HEALTHCHECK, COPY/ADD and ONBUILD are in `commands`.

use super::flags::{Flags, Kind};
use super::syntax::Node;
use super::{commands, ArgDecl, Instruction};

/// A FROM line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct From {
    pub base: String,
    pub name: Option<String>,
    pub platform: Option<String>,
}

/// What a node is: a stage start or an instruction of the current stage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Typed {
    From(From),
    Instruction(Instruction),
}

pub(crate) fn typed(node: &Node) -> Result<Typed, String> {
    if node.cmd == "from" {
        return from(node).map(Typed::From);
    }
    instruction(node).map(Typed::Instruction)
}

fn instruction(node: &Node) -> Result<Instruction, String> {
    Ok(match node.cmd.as_str() {
        "env" => Instruction::Env(pairs(node, "ENV")?),
        "label" => Instruction::Label(pairs(node, "LABEL")?),
        "arg" => Instruction::Arg(arg(node)?),
        "maintainer" => Instruction::Maintainer(one(node, "MAINTAINER")?),
        "workdir" => Instruction::Workdir(one(node, "WORKDIR")?),
        "user" => Instruction::User(one(node, "USER")?),
        "stopsignal" => Instruction::StopSignal(one(node, "STOPSIGNAL")?),
        "expose" => Instruction::Expose(at_least_one(node, "EXPOSE")?.to_vec()),
        "volume" => Instruction::Volume(volume(node)?),
        "shell" => Instruction::Shell(shell(node)?),
        "run" => Instruction::Run(commands::run(node)?),
        "cmd" => Instruction::Cmd(commands::command(node)?),
        "entrypoint" => Instruction::Entrypoint(commands::command(node)?),
        "healthcheck" => Instruction::Healthcheck(commands::healthcheck(node)?),
        "copy" => Instruction::Copy(commands::copy(node, false)?),
        "add" => Instruction::Add(commands::copy(node, true)?),
        "onbuild" => Instruction::OnBuild(commands::onbuild(node)?),
        _ => return Err(format!("unknown instruction: {}", node.keyword)),
    })
}

/// Flags for an instruction that takes none.
pub(crate) fn no_flags(node: &Node) -> Result<(), String> {
    Flags::parse(&node.flags, &[]).map(|_| ())
}

pub(crate) fn flags(node: &Node, defs: &[(&'static str, Kind)]) -> Result<Flags, String> {
    Flags::parse(&node.flags, defs)
}

fn at_least_one<'a>(node: &'a Node, name: &str) -> Result<&'a [String], String> {
    if node.args.is_empty() {
        return Err(format!("{name} requires at least one argument"));
    }
    no_flags(node)?;
    Ok(&node.args)
}

fn one(node: &Node, name: &str) -> Result<String, String> {
    match node.args.as_slice() {
        [only] => {
            no_flags(node)?;
            Ok(only.clone())
        }
        _ => Err(format!("{name} requires exactly one argument")),
    }
}

/// ENV/LABEL pairs (the node holds key, value, key, value...).
fn pairs(node: &Node, name: &str) -> Result<Vec<(String, String)>, String> {
    let args = at_least_one(node, name)?;
    let mut out = Vec::with_capacity(args.len() / 2);
    for kv in args.chunks(2) {
        let [k, v] = kv else {
            return Err(format!("{name} has too many arguments"));
        };
        if k.is_empty() {
            return Err(format!("{name} names can not be blank"));
        }
        out.push((k.clone(), v.clone()));
    }
    Ok(out)
}

fn arg(node: &Node) -> Result<Vec<ArgDecl>, String> {
    let args = at_least_one(node, "ARG")?;
    let mut out = Vec::with_capacity(args.len());
    for word in args {
        let (name, default) = match word.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (word.as_str(), None),
        };
        if name.is_empty() {
            return Err("ARG names can not be blank".into());
        }
        out.push(ArgDecl {
            name: name.to_string(),
            default,
        });
    }
    Ok(out)
}

fn volume(node: &Node) -> Result<Vec<String>, String> {
    let args = at_least_one(node, "VOLUME")?;
    let mut out = Vec::with_capacity(args.len());
    for v in args {
        let v = v.trim();
        if v.is_empty() {
            return Err("VOLUME specified can not be an empty string".into());
        }
        out.push(v.to_string());
    }
    Ok(out)
}

fn shell(node: &Node) -> Result<Vec<String>, String> {
    let args = at_least_one(node, "SHELL")?;
    if !node.json {
        return Err("SHELL requires the arguments to be in JSON form".into());
    }
    Ok(args.to_vec())
}

fn from(node: &Node) -> Result<From, String> {
    let name = match node.args.as_slice() {
        [_] => None,
        [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(stage_name(name)?),
        _ => return Err("FROM requires either one or three arguments".into()),
    };
    let flags = flags(node, &[("platform", Kind::Str)])?;
    Ok(From {
        base: node.args[0].clone(),
        name,
        platform: flags.string("platform"),
    })
}

/// `^[a-z][a-z0-9-_.]*$` after lowercasing.
fn stage_name(name: &str) -> Result<String, String> {
    let lower = name.to_lowercase();
    let mut chars = lower.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if !first_ok || !rest_ok {
        return Err(format!(
            "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
        ));
    }
    Ok(lower)
}
