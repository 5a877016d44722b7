//! One stage: its state (the image config so far, its layers and their
//! lower dirs, its cache key, its args) and the walk over its instructions.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::context::Context;
use super::graph::{Base, Plan};
use super::progress::{Progress, StepLog};
use super::{copy, key, meta, run, BuildError, BuildOptions, Counters, Result};
use crate::digest::Digest;
use crate::dockerfile::{Dockerfile, Instruction, Step};
use crate::expand::Vars;
use crate::image::{Descriptor, History, ImageConfig};
use crate::store::{Image, Store};

/// What every stage of one build shares.
pub struct BuildEnv<'a> {
    pub store: &'a Store,
    pub opts: &'a BuildOptions,
    pub ctx: &'a Context,
    pub file: &'a Dockerfile,
    pub progress: &'a Progress,
    pub counters: &'a Counters,
    /// The build's temp dirs (removed at the end, reclaimed after a crash).
    pub scratch: &'a super::scratch::Scratch,
    /// Digests of context files by inode and times, across builds.
    pub stat_cache: &'a super::statcache::StatCache,
}

/// A stage's state between instructions.
#[derive(Clone, Debug)]
pub struct StageState {
    pub config: ImageConfig,
    pub layers: Vec<Descriptor>,
    /// Lower dirs of the layers so far, bottom first.
    pub lowers: Vec<PathBuf>,
    /// Key of the filesystem state: base + every filesystem step.
    pub key: Digest,
    /// Args declared in this stage, with their values.
    pub args: BTreeMap<String, String>,
    /// The image id this stage's chain started FROM (for rmi's parent rule).
    pub parent: Option<Digest>,
    /// CMD was set in this stage (an ENTRYPOINT then keeps it).
    pub cmd_set: bool,
    pub name: String,
}

impl StageState {
    /// Variables an instruction of this stage sees: ENV over ARG.
    pub fn vars(&self) -> StageVars<'_> {
        StageVars(self)
    }

    pub fn env_value(&self, name: &str) -> Option<String> {
        self.config
            .env_pairs()
            .into_iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The SHELL for shell forms.
    pub fn shell(&self) -> Vec<String> {
        self.config
            .config
            .shell
            .clone()
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
    }

    pub fn workdir(&self) -> String {
        self.config
            .config
            .working_dir
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into())
    }
}

pub struct StageVars<'a>(&'a StageState);

impl Vars for StageVars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .env_value(name)
            .or_else(|| self.0.args.get(name).cloned())
    }
}

/// `Dockerfile:LINE` for errors.
pub fn at(env: &BuildEnv, step: &Step) -> String {
    format!("{}:{}", env.file.file, step.location.line)
}

pub fn step_error(env: &BuildEnv, step: &Step, message: impl std::fmt::Display) -> BuildError {
    BuildError::Step {
        at: at(env, step),
        instruction: first_line(&step.original),
        message: message.to_string(),
    }
}

fn first_line(s: &str) -> String {
    let l = s.lines().next().unwrap_or("");
    if l.len() > 80 {
        format!(
            "{}...",
            &l[..l.char_indices().nth(77).map_or(l.len(), |(i, _)| i)]
        )
    } else {
        l.to_string()
    }
}

/// The step's overlay snapshot over `lowers`, its errors naming the step.
pub fn step_snapshot<'a>(
    env: &BuildEnv<'a>,
    step: &Step,
    lowers: &[PathBuf],
) -> Result<super::scratch::StepSnapshot<'a>> {
    env.scratch
        .snapshot(lowers)
        .map_err(|e| step_error(env, step, e))
}

/// The timestamp for new history entries and the image.
pub fn created(env: &BuildEnv) -> String {
    match env.opts.epoch {
        Some(e) => crate::clock::format(e, 0),
        None => crate::clock::now_rfc3339(),
    }
}

pub fn run_stage(
    env: &BuildEnv,
    plan: &Plan,
    i: usize,
    deps: &HashMap<usize, Arc<StageState>>,
) -> Result<StageState> {
    let stage = &env.file.stages[i];
    let name = stage.name.clone().unwrap_or_else(|| format!("stage-{i}"));
    let total = stage.steps.len() + 1;
    let log = env
        .progress
        .step(&format!("[{name} 1/{total}] FROM {}", stage.base));
    let mut state = base_state(env, &plan.stages[i].base, deps, &name)?;
    log.done();
    let triggers = state.config.config.on_build.take().unwrap_or_default();
    if !triggers.is_empty() {
        run_triggers(env, &mut state, &triggers, &name)?;
    }
    for (n, step) in stage.steps.iter().enumerate() {
        if super::interrupted() {
            return Err(BuildError::Interrupted);
        }
        let log = env.progress.step(&format!(
            "[{name} {}/{total}] {}",
            n + 2,
            first_line(&step.original)
        ));
        dispatch(env, plan, deps, &mut state, step, &log)
            .inspect_err(|e| log.error(&e.to_string()))?;
    }
    Ok(state)
}

fn base_state(
    env: &BuildEnv,
    base: &Base,
    deps: &HashMap<usize, Arc<StageState>>,
    name: &str,
) -> Result<StageState> {
    let mut state = match base {
        Base::Scratch => StageState {
            config: ImageConfig::scratch(),
            layers: Vec::new(),
            lowers: Vec::new(),
            key: key::base_key("scratch", None),
            args: BTreeMap::new(),
            parent: None,
            cmd_set: false,
            name: String::new(),
        },
        Base::Stage(j) => {
            let mut s = (*deps[j]).clone();
            s.args.clear();
            s.cmd_set = false;
            s
        }
        Base::Image(img) => image_state(env, img)?,
    };
    state.name = name.to_string();
    Ok(state)
}

fn image_state(env: &BuildEnv, img: &Image) -> Result<StageState> {
    let lowers = env
        .store
        .unpacked_layers(&img.config.rootfs.diff_ids, &img.manifest.layers)?;
    Ok(StageState {
        config: img.config.clone(),
        layers: img.manifest.layers.clone(),
        lowers,
        key: key::base_key("image", Some(&img.id())),
        args: BTreeMap::new(),
        parent: Some(img.id()),
        cmd_set: false,
        name: String::new(),
    })
}

/// ONBUILD triggers of the base image run first, once, in this child build.
fn run_triggers(
    env: &BuildEnv,
    state: &mut StageState,
    triggers: &[String],
    name: &str,
) -> Result<()> {
    let text = format!("FROM scratch\n{}\n", triggers.join("\n"));
    let parsed = crate::dockerfile::parse(&text, "ONBUILD")?;
    let plan = super::graph::Plan {
        stages: Vec::new(),
        target: 0,
        needed: Vec::new(),
        meta: BTreeMap::new(),
    };
    for step in &parsed.stages[0].steps {
        let log = env
            .progress
            .step(&format!("[{name} ONBUILD] {}", first_line(&step.original)));
        dispatch(env, &plan, &HashMap::new(), state, step, &log)?;
    }
    Ok(())
}

fn dispatch(
    env: &BuildEnv,
    plan: &Plan,
    deps: &HashMap<usize, Arc<StageState>>,
    state: &mut StageState,
    step: &Step,
    log: &StepLog,
) -> Result<()> {
    match &step.instruction {
        Instruction::Run(r) => run::run(env, state, step, r, deps, log),
        Instruction::Copy(c) => copy::copy(env, plan, state, step, c, false, deps, log),
        Instruction::Add(c) => copy::copy(env, plan, state, step, c, true, deps, log),
        Instruction::Workdir(_) => {
            meta::apply(env, plan, state, step)?;
            copy::workdir(env, state, step, log)
        }
        _ => {
            meta::apply(env, plan, state, step)?;
            log.done();
            Ok(())
        }
    }
}

/// Adds a history row; `layer` says whether the step made one.
pub fn add_history(
    env: &BuildEnv,
    state: &mut StageState,
    created_by: String,
    layer: bool,
    when: Option<String>,
) {
    state.config.history.push(History {
        created: Some(when.unwrap_or_else(|| created(env))),
        created_by: Some(created_by),
        author: None,
        comment: Some("buildkit.dockerfile.v0".into()),
        empty_layer: !layer,
    });
}

/// Writes the target's image: created = its newest history entry, so a
/// fully cached rebuild gives the same image id.
pub fn write_image(env: &BuildEnv, state: &StageState) -> Result<Image> {
    let mut config = state.config.clone();
    config.created = match env.opts.epoch {
        Some(e) => Some(crate::clock::format(e, 0)),
        None => config
            .history
            .iter()
            .rev()
            .find_map(|h| h.created.clone())
            .or_else(|| Some(created(env))),
    };
    if !env.opts.labels.is_empty() {
        let labels = config.config.labels.get_or_insert_with(Default::default);
        for (k, v) in &env.opts.labels {
            labels.insert(k.clone(), v.clone());
        }
    }
    let image = env
        .store
        .add_image(&config, state.layers.clone(), &env.opts.tags, state.parent)?;
    env.counters.cached.load(Ordering::Relaxed);
    Ok(image)
}
