//! `logs`: a container's output as it wrote it, each line to the stream it
//! came on; --tail, --since/--until, -t, and -f until the container ends.

use std::io::Write;
use std::os::fd::AsFd;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::{Ctx, Outcome};
use crate::logs::{read_all, Entry, Follow, ReadOptions, Stream};
use crate::options;

#[derive(Args)]
pub struct LogsArgs {
    #[arg(short, long)]
    follow: bool,
    /// Lines from the end ("all" or a number).
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    #[arg(short, long)]
    timestamps: bool,
    /// RFC 3339, a unix time, or a duration ago (10m).
    #[arg(long)]
    since: Option<String>,
    #[arg(long)]
    until: Option<String>,
    container: String,
}

struct Printer {
    timestamps: bool,
    out: std::io::BufWriter<std::io::Stdout>,
    err: std::io::Stderr,
}

impl Printer {
    fn line(&mut self, e: &Entry, ended: bool) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(e.content.len() + 40);
        if self.timestamps {
            buf.extend_from_slice(e.time.as_bytes());
            buf.push(b' ');
        }
        buf.extend_from_slice(&e.content);
        if ended {
            buf.push(b'\n');
        }
        match e.stream {
            Stream::Stdout => self.out.write_all(&buf),
            Stream::Stderr => {
                self.out.flush()?;
                self.err.write_all(&buf)
            }
        }
    }
}

pub fn logs(ctx: &Ctx, a: LogsArgs) -> Outcome {
    let id = ctx.root.resolve(&a.container)?;
    let r = ctx.root.record(&id)?;
    if r.host.log_config.kind == "none" {
        bail!("configured logging driver does not support reading");
    }
    let tail = match a.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse::<usize>()
                .context(format!("invalid --tail {n:?}"))?,
        ),
    };
    let o = ReadOptions {
        tail,
        since: a.since.as_deref().map(options::parse_time).transpose()?,
        until: a.until.as_deref().map(options::parse_time).transpose()?,
    };
    let path = ctx.root.record(&id)?.log_path(&ctx.root.dir(&id));
    let mut p = Printer {
        timestamps: a.timestamps,
        out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()),
        err: std::io::stderr(),
    };
    let mut failed = None;
    let pos = read_all(&path, &o, &mut |e, ended| {
        if failed.is_none() {
            failed = p.line(e, ended).err();
        }
    })
    .with_context(|| path.display().to_string())?;
    if let Some(e) = failed {
        return quiet_on_pipe(e);
    }
    p.out.flush().or_else(|e| quiet_on_pipe(e).map(drop))?;
    if !a.follow {
        return Ok(0);
    }
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
    inotify.add_watch(
        &ctx.root.dir(&id),
        AddWatchFlags::IN_MODIFY | AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO,
    )?;
    let mut follow = Follow::at(&path, pos);
    loop {
        let live = ctx.root.monitor_alive(&id);
        follow.more(&mut |e| {
            if failed.is_none() {
                failed = p.line(e, true).err();
            }
        })?;
        if let Some(e) = failed {
            return quiet_on_pipe(e);
        }
        p.out.flush().or_else(|e| quiet_on_pipe(e).map(drop))?;
        if !live || o.until.is_some_and(|u| berth_builder::clock::now().0 >= u) {
            return Ok(0);
        }
        wait_readable(&inotify, Duration::from_millis(500));
        let _ = inotify.read_events();
    }
}

fn wait_readable(inotify: &Inotify, timeout: Duration) {
    use std::os::fd::AsRawFd;
    let mut fds = [libc::pollfd {
        fd: inotify.as_fd().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: poll over one pollfd we own.
    unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout.as_millis() as i32) };
}

/// `logs | head`: a closed pipe ends the command quietly.
fn quiet_on_pipe(e: std::io::Error) -> Outcome {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Ok(0);
    }
    Err(e.into())
}
