//! Typed nodes into meta ARGs and stages.

use super::error::{At, AtLocation};
use super::instructions::{typed, Typed};
use super::syntax::Node;
use super::{ArgDecl, Instruction, Stage, Step};

pub(crate) fn build(nodes: &[Node]) -> Result<(Vec<ArgDecl>, Vec<Stage>), At> {
    let mut meta_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for node in nodes {
        let at = node.location;
        match typed(node).at(at)? {
            Typed::From(from) => {
                if let Some(name) = &from.name {
                    if stages.iter().any(|s| s.name.as_ref() == Some(name)) {
                        return Err(At::new(at, format!("duplicate stage name {name:?}")));
                    }
                }
                stages.push(Stage {
                    index: stages.len(),
                    base: from.base,
                    name: from.name,
                    platform: from.platform,
                    location: at,
                    original: node.original.clone(),
                    steps: Vec::new(),
                });
            }
            Typed::Instruction(Instruction::Arg(args)) if stages.is_empty() => {
                meta_args.extend(args)
            }
            Typed::Instruction(instruction) => {
                let Some(stage) = stages.last_mut() else {
                    return Err(At::new(at, "no build stage in current context"));
                };
                stage.steps.push(Step {
                    location: at,
                    original: node.original.clone(),
                    instruction,
                });
            }
        }
    }
    Ok((meta_args, stages))
}
