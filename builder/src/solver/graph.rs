//! Stages as a graph: each stage depends on its FROM stage and on the stages
//! its COPY --from and RUN --mount from= name. Only the target's closure is
//! built; each stage runs on a thread of its own as soon as what it needs
//! is done, so independent stages build at the same time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex};

use super::stage::{self, BuildEnv, StageState};
use super::{args, BuildError, Result};
use crate::dockerfile::{Instruction, MountKind, Stage};
use crate::expand::Lexer;
use crate::store::Image;

pub enum Base {
    Scratch,
    Stage(usize),
    Image(Box<Image>),
}

pub struct Planned {
    pub base: Base,
    pub deps: Vec<usize>,
}

pub struct Plan {
    pub stages: Vec<Planned>,
    pub target: usize,
    /// Which stages the target needs.
    pub needed: Vec<bool>,
    /// The global (before the first FROM) args with their values.
    pub meta: BTreeMap<String, String>,
}

fn at(env: &BuildEnv, s: &Stage) -> String {
    format!("{}:{}", env.file.file, s.location.line)
}

/// Resolves bases and --from references, and the target's closure.
pub fn plan(env: &BuildEnv) -> Result<Plan> {
    let meta = args::meta_args(env)?;
    let lexer = Lexer::new(env.file.escape);
    let vars = args::MapVars(&meta);
    if env.file.stages.is_empty() {
        return Err(BuildError::Usage(format!(
            "{}: the Dockerfile has no FROM",
            env.file.file
        )));
    }
    let mut planned = Vec::new();
    for s in &env.file.stages {
        let base_text = lexer
            .word(&s.base, &vars)
            .map(|e| e.value)
            .map_err(|e| step_err(env, s, "FROM", e))?;
        let base = resolve(env, &base_text, s.index, true).map_err(|m| BuildError::Step {
            at: at(env, s),
            instruction: format!("FROM {base_text}"),
            message: m,
        })?;
        if let Some(p) = &s.platform {
            let p = lexer
                .word(p, &vars)
                .map(|e| e.value)
                .map_err(|e| step_err(env, s, "FROM --platform", e))?;
            super::check_platform(Some(&p)).map_err(|e| step_err(env, s, "FROM --platform", e))?;
        }
        let mut deps: Vec<usize> = match base {
            Base::Stage(i) => vec![i],
            _ => vec![],
        };
        for from in references(s) {
            let text = lexer
                .word(&from, &vars)
                .map(|e| e.value)
                .map_err(|e| step_err(env, s, "--from", e))?;
            if let Ok(Base::Stage(i)) = resolve(env, &text, s.index, false) {
                deps.push(i);
            }
        }
        planned.push(Planned { base, deps });
    }
    let target = match &env.opts.target {
        None => env.file.stages.len() - 1,
        Some(t) => stage_index(env, &t.to_lowercase(), usize::MAX).ok_or_else(|| {
            BuildError::Usage(format!(
                "target stage {t:?} could not be found in {}",
                env.file.file
            ))
        })?,
    };
    let mut needed = vec![false; planned.len()];
    mark(&planned, target, &mut needed);
    Ok(Plan {
        stages: planned,
        target,
        needed,
        meta,
    })
}

fn step_err(env: &BuildEnv, s: &Stage, what: &str, e: impl std::fmt::Display) -> BuildError {
    BuildError::Step {
        at: at(env, s),
        instruction: what.into(),
        message: e.to_string(),
    }
}

fn mark(p: &[Planned], i: usize, needed: &mut [bool]) {
    if needed[i] {
        return;
    }
    needed[i] = true;
    for &d in &p[i].deps {
        mark(p, d, needed);
    }
}

/// The raw `--from` values of a stage's COPY/ADD and RUN --mount.
fn references(s: &Stage) -> Vec<String> {
    let mut out = Vec::new();
    for step in &s.steps {
        match &step.instruction {
            Instruction::Copy(c) | Instruction::Add(c) => out.extend(c.from.clone()),
            Instruction::Run(r) => {
                for m in &r.mounts {
                    if matches!(m.kind, MountKind::Bind | MountKind::Cache) {
                        out.extend(m.from.clone());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A stage by name or number, defined before stage `before`.
pub fn stage_index(env: &BuildEnv, name: &str, before: usize) -> Option<usize> {
    let stages = &env.file.stages;
    let by_name = stages.iter().position(|s| s.name.as_deref() == Some(name));
    let by_number = name.parse::<usize>().ok().filter(|&n| n < stages.len());
    by_name.or(by_number).filter(|&i| i < before)
}

/// `scratch`, an earlier stage, or an image of the store.
pub fn resolve(
    env: &BuildEnv,
    text: &str,
    before: usize,
    is_from: bool,
) -> std::result::Result<Base, String> {
    if text.eq_ignore_ascii_case("scratch") && is_from {
        return Ok(Base::Scratch);
    }
    if let Some(i) = stage_index(env, &text.to_lowercase(), before) {
        // A number names a stage only in --from, never in FROM.
        if !is_from || env.file.stages[i].name.as_deref() == Some(&text.to_lowercase()) {
            return Ok(Base::Stage(i));
        }
    }
    match env.store.resolve(text) {
        Ok(img) => Ok(Base::Image(Box::new(img))),
        Err(crate::store::StoreError::NoImage(_)) => Err(format!(
            "image {text:?} is not in the store ({}): load, import or build it first (pulling from a registry is not supported yet)",
            env.store.root().display()
        )),
        Err(e) => Err(e.to_string()),
    }
}

type Slot = Option<std::result::Result<Arc<StageState>, ()>>;

/// Runs the needed stages, each when its dependencies are done; returns the
/// target's final state. The first error wins and stops the others.
pub fn execute(env: &BuildEnv, plan: &Plan) -> Result<Arc<StageState>> {
    let slots: Mutex<HashMap<usize, Slot>> = Mutex::new(HashMap::new());
    let cv = Condvar::new();
    let first_error: Mutex<Option<BuildError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for (i, p) in plan.stages.iter().enumerate() {
            if !plan.needed[i] {
                continue;
            }
            let (slots, cv, first_error) = (&slots, &cv, &first_error);
            scope.spawn(move || {
                let deps = wait_for(slots, cv, &p.deps);
                let outcome = match deps {
                    Some(deps) => stage::run_stage(env, plan, i, &deps),
                    None => Err(BuildError::Interrupted),
                };
                let mut s = slots.lock().unwrap_or_else(|e| e.into_inner());
                match outcome {
                    Ok(st) => {
                        s.insert(i, Some(Ok(Arc::new(st))));
                    }
                    Err(e) => {
                        // The real failure wins over the stages it stopped.
                        let mut fe = first_error.lock().unwrap_or_else(|e| e.into_inner());
                        let replace = match &*fe {
                            None => true,
                            Some(BuildError::Interrupted) => !matches!(e, BuildError::Interrupted),
                            Some(_) => false,
                        };
                        if replace {
                            *fe = Some(e);
                        }
                        s.insert(i, Some(Err(())));
                    }
                }
                cv.notify_all();
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let mut slots = slots.into_inner().unwrap_or_else(|e| e.into_inner());
    match slots.remove(&plan.target) {
        Some(Some(Ok(st))) => Ok(st),
        _ => Err(BuildError::Interrupted),
    }
}

/// Waits until every dependency is done; None when one failed.
fn wait_for(
    slots: &Mutex<HashMap<usize, Slot>>,
    cv: &Condvar,
    deps: &[usize],
) -> Option<HashMap<usize, Arc<StageState>>> {
    let mut s = slots.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let mut out = HashMap::new();
        let mut pending = false;
        for d in deps {
            match s.get(d) {
                Some(Some(Ok(st))) => {
                    out.insert(*d, st.clone());
                }
                Some(Some(Err(()))) => return None,
                _ => pending = true,
            }
        }
        if !pending {
            return Some(out);
        }
        s = cv.wait(s).unwrap_or_else(|e| e.into_inner());
    }
}
