//! Instructions that change only the image config: ENV, ARG, LABEL, EXPOSE,
//! VOLUME, USER, WORKDIR (its config part), CMD, ENTRYPOINT, SHELL,
//! HEALTHCHECK, STOPSIGNAL, ONBUILD, MAINTAINER. Values are expanded as
//! BuildKit does (which instructions expand is its list).

use super::args::{self, PROXY_ARGS};
use super::graph::Plan;
use super::stage::{add_history, step_error, BuildEnv, StageState};
use super::Result;
use crate::dockerfile::{Command, Instruction, Step};
use crate::expand::Lexer;
use crate::image::{Empty, Healthcheck};

/// Expands one word with the stage's variables.
pub fn word(env: &BuildEnv, state: &StageState, step: &Step, text: &str) -> Result<String> {
    Lexer::new(env.file.escape)
        .word(text, &state.vars())
        .map(|e| e.value)
        .map_err(|e| step_error(env, step, e))
}

fn words(env: &BuildEnv, state: &StageState, step: &Step, items: &[String]) -> Result<Vec<String>> {
    let lexer = Lexer::new(env.file.escape);
    let mut out = Vec::new();
    for i in items {
        let w = lexer
            .words(i, &state.vars())
            .map_err(|e| step_error(env, step, e))?;
        out.extend(w.value);
    }
    Ok(out)
}

/// CMD/ENTRYPOINT/HEALTHCHECK argv: a shell form runs under SHELL.
pub fn argv(state: &StageState, c: &Command) -> Vec<String> {
    match c {
        Command::Exec(v) => v.clone(),
        Command::Shell(s) => {
            let mut v = state.shell();
            v.push(s.clone());
            v
        }
    }
}

pub fn apply(env: &BuildEnv, plan: &Plan, state: &mut StageState, step: &Step) -> Result<()> {
    let cfg_history = match &step.instruction {
        Instruction::Env(pairs) => {
            let mut shown = Vec::new();
            for (k, v) in pairs {
                let k = word(env, state, step, k)?;
                let v = word(env, state, step, v)?;
                set_env(state, &k, &v);
                shown.push(format!("{k}={v}"));
            }
            format!("ENV {}", shown.join(" "))
        }
        Instruction::Arg(decls) => {
            let mut shown = Vec::new();
            for d in decls {
                let value = arg_value(env, plan, state, step, &d.name, d.default.as_deref())?;
                if let Some(v) = value {
                    if !PROXY_ARGS.contains(&d.name.as_str()) {
                        shown.push(format!("{}={v}", d.name));
                    }
                    state.args.insert(d.name.clone(), v);
                } else {
                    shown.push(d.name.clone());
                }
            }
            format!("ARG {}", shown.join(" "))
        }
        Instruction::Label(pairs) => {
            let mut shown = Vec::new();
            for (k, v) in pairs {
                let k = word(env, state, step, k)?;
                let v = word(env, state, step, v)?;
                shown.push(format!("{k}={v}"));
                state
                    .config
                    .config
                    .labels
                    .get_or_insert_with(Default::default)
                    .insert(k, v);
            }
            format!("LABEL {}", shown.join(" "))
        }
        Instruction::Expose(ports) => {
            let ports = words(env, state, step, ports)?;
            let set = state
                .config
                .config
                .exposed_ports
                .get_or_insert_with(Default::default);
            for p in &ports {
                let p = if p.contains('/') {
                    p.to_lowercase()
                } else {
                    format!("{p}/tcp")
                };
                set.insert(p, Empty {});
            }
            format!("EXPOSE map[{}]", ports.join(" "))
        }
        Instruction::Volume(vols) => {
            let vols = words(env, state, step, vols)?;
            if vols.iter().any(|v| v.is_empty()) {
                return Err(step_error(
                    env,
                    step,
                    "VOLUME specified can not be an empty string",
                ));
            }
            let set = state
                .config
                .config
                .volumes
                .get_or_insert_with(Default::default);
            for v in &vols {
                set.insert(v.clone(), Empty {});
            }
            format!("VOLUME [{}]", vols.join(" "))
        }
        Instruction::User(u) => {
            let u = word(env, state, step, u)?;
            state.config.config.user = Some(u.clone());
            format!("USER {u}")
        }
        Instruction::Workdir(w) => {
            let w = word(env, state, step, w)?;
            let dir = join_workdir(&state.workdir(), &w);
            state.config.config.working_dir = Some(dir.clone());
            return Ok(());
        }
        Instruction::Cmd(c) => {
            let v = argv(state, c);
            state.config.config.cmd = Some(v.clone());
            state.cmd_set = true;
            state.config.config.args_escaped = None;
            format!("CMD {}", json(&v))
        }
        Instruction::Entrypoint(c) => {
            let v = argv(state, c);
            state.config.config.entrypoint = Some(v.clone());
            if !state.cmd_set {
                // A new ENTRYPOINT resets an inherited CMD (docker).
                state.config.config.cmd = None;
            }
            format!("ENTRYPOINT {}", json(&v))
        }
        Instruction::Shell(v) => {
            state.config.config.shell = Some(v.clone());
            format!("SHELL {}", json(v))
        }
        Instruction::Healthcheck(h) => {
            let hc = match h {
                None => Healthcheck {
                    test: vec!["NONE".into()],
                    ..Default::default()
                },
                Some(h) => Healthcheck {
                    test: match &h.test {
                        Command::Exec(v) => {
                            let mut t = vec!["CMD".to_string()];
                            t.extend(v.iter().cloned());
                            t
                        }
                        Command::Shell(s) => vec!["CMD-SHELL".into(), s.clone()],
                    },
                    interval: h.interval.unwrap_or(0),
                    timeout: h.timeout.unwrap_or(0),
                    start_period: h.start_period.unwrap_or(0),
                    start_interval: h.start_interval.unwrap_or(0),
                    retries: h.retries.unwrap_or(0),
                },
            };
            let shown = json(&hc.test);
            state.config.config.healthcheck = Some(hc);
            format!("HEALTHCHECK &{{{shown}}}")
        }
        Instruction::StopSignal(s) => {
            let s = word(env, state, step, s)?;
            state.config.config.stop_signal = Some(s.clone());
            format!("STOPSIGNAL {s}")
        }
        Instruction::OnBuild(t) => {
            state
                .config
                .config
                .on_build
                .get_or_insert_with(Vec::new)
                .push(t.clone());
            format!("ONBUILD {t}")
        }
        Instruction::Maintainer(m) => {
            state.config.author = Some(m.clone());
            format!("MAINTAINER {m}")
        }
        Instruction::Run(_) | Instruction::Copy(_) | Instruction::Add(_) => return Ok(()),
    };
    // A config-only row takes the time of the row before it, so a cached
    // rebuild writes the same config, and the same image id.
    let when = match env.opts.epoch {
        Some(_) => None,
        None => Some(
            state
                .config
                .history
                .iter()
                .rev()
                .find_map(|h| h.created.clone())
                .unwrap_or_else(|| super::stage::created(env)),
        ),
    };
    add_history(env, state, cfg_history, false, when);
    Ok(())
}

/// An ARG's value: --build-arg, else its default (expanded), else the
/// global arg of that name (an `ARG NAME` in a stage brings it in scope).
fn arg_value(
    env: &BuildEnv,
    plan: &Plan,
    state: &StageState,
    step: &Step,
    name: &str,
    default: Option<&str>,
) -> Result<Option<String>> {
    if let Some(v) = args::given(env, name) {
        args::consume(name);
        return Ok(Some(v));
    }
    if let Some(d) = default {
        return word(env, state, step, d).map(Some);
    }
    Ok(plan.meta.get(name).cloned())
}

fn set_env(state: &mut StageState, k: &str, v: &str) {
    let env = state.config.config.env.get_or_insert_with(Vec::new);
    let entry = format!("{k}={v}");
    match env
        .iter_mut()
        .find(|e| e.split_once('=').map_or(e.as_str(), |(a, _)| a) == k)
    {
        Some(e) => *e = entry,
        None => env.push(entry),
    }
}

/// WORKDIR relative to the previous one, cleaned.
pub fn join_workdir(prev: &str, w: &str) -> String {
    let joined = if w.starts_with('/') {
        w.to_string()
    } else {
        format!("{prev}/{w}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
