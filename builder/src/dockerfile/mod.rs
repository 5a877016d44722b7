//! The Dockerfile frontend: parser directives, logical lines, heredocs, flags
//! and JSON forms, into typed instructions with their file:line:column
//! (OWNER: dockerfile helper). Values stay unexpanded: the solver expands them
//! with each stage's ARG/ENV (crate::expand).
//!
//! The work is split the way BuildKit splits it, so that errors come out in
//! the same order: `lines` turns text into logical instructions (directives,
//! continuations, comments, heredoc bodies), `syntax` splits each one into
//! keyword, flags and arguments, and `instructions` types them. `stages`
//! groups the result into meta ARGs and stages.

mod commands;
mod directives;
mod duration;
mod error;
mod flags;
mod heredoc;
mod instructions;
mod lines;
mod mount;
mod stages;
mod syntax;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_full;

pub use duration::parse_duration;
pub use error::ParseError;
pub use mount::parse_mount;

/// Where an instruction starts: 1-based line and column of its keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dockerfile {
    pub file: String,
    /// The escape character (`\` or the `# escape=` directive's).
    pub escape: char,
    pub syntax: Option<String>,
    pub check: Option<String>,
    /// ARGs before the first FROM (usable in FROM lines).
    pub meta_args: Vec<ArgDecl>,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArgDecl {
    pub name: String,
    /// Raw, unexpanded (quotes kept).
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub index: usize,
    /// The FROM image as written, unexpanded.
    pub base: String,
    /// The `AS` name, lowercased.
    pub name: Option<String>,
    /// `--platform` as written, unexpanded.
    pub platform: Option<String>,
    pub location: Location,
    /// The FROM line as written (continuations joined), for progress output.
    pub original: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub location: Location,
    /// The instruction as written, continuations joined into one line and
    /// comment lines removed (history CreatedBy, progress).
    pub original: String,
    pub instruction: Instruction,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Instruction {
    Run(Run),
    Cmd(Command),
    Entrypoint(Command),
    Env(Vec<(String, String)>),
    Arg(Vec<ArgDecl>),
    Label(Vec<(String, String)>),
    Expose(Vec<String>),
    Volume(Vec<String>),
    User(String),
    Workdir(String),
    Copy(Copy),
    Add(Copy),
    Shell(Vec<String>),
    /// `None` is `HEALTHCHECK NONE`.
    Healthcheck(Option<Healthcheck>),
    StopSignal(String),
    /// The trigger as written, e.g. `RUN echo hi` (heredoc bodies appended
    /// the way BuildKit stores them); checked to parse.
    OnBuild(String),
    Maintainer(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// The raw command text (continuations joined, comment lines removed).
    Shell(String),
    Exec(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Heredoc {
    /// The delimiter, unquoted (for COPY/ADD: the file name).
    pub name: String,
    /// The body, each line with its newline; `<<-` tabs already stripped.
    pub content: String,
    /// False when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`).
    pub expand: bool,
    /// `<<-`.
    pub chomp: bool,
    /// The file descriptor written before `<<` (`3<<EOF`), 0 when none.
    pub fd: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub command: Command,
    pub heredocs: Vec<Heredoc>,
    pub mounts: Vec<RunMount>,
    pub network: Option<String>,
    pub security: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunMount {
    pub kind: MountKind,
    pub target: Option<String>,
    pub source: Option<String>,
    pub from: Option<String>,
    /// bind/secret/ssh: true unless rw; cache/tmpfs: false unless ro.
    pub readonly: bool,
    pub id: Option<String>,
    /// shared|private|locked.
    pub sharing: Option<String>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// tmpfs size in bytes.
    pub size: Option<u64>,
    pub required: bool,
    pub env: Option<String>,
    /// The `--mount` value as written. Values holding `$` are kept raw in
    /// the string fields; numeric ones (mode, uid, gid, size) are left
    /// `None` then, and the solver re-runs [`parse_mount`] after expansion.
    pub spec: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    /// Source paths (heredoc sources are in `heredocs` instead).
    pub sources: Vec<String>,
    pub dest: String,
    pub heredocs: Vec<Heredoc>,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<String>,
    pub checksum: Option<String>,
    pub keep_git_dir: bool,
    pub unpack: Option<bool>,
}

/// Durations are nanoseconds, parsed like Go's `time.ParseDuration`.
#[derive(Debug, Clone, PartialEq)]
pub struct Healthcheck {
    pub test: Command,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub start_period: Option<i64>,
    pub start_interval: Option<i64>,
    pub retries: Option<i64>,
}

/// Parses a Dockerfile; `file` is its name, for errors.
pub fn parse(text: &str, file: &str) -> Result<Dockerfile, ParseError> {
    let err = |e: error::At| e.into_error(file);
    let doc = lines::split(text).map_err(err)?;
    let (meta_args, stages) = stages::build(&doc.nodes).map_err(err)?;
    Ok(Dockerfile {
        file: file.to_string(),
        escape: doc.escape,
        syntax: doc.syntax,
        check: doc.check,
        meta_args,
        stages,
    })
}
