//! Progress on stderr: `handover: …` lines, or indicatif progress bars on a terminal.
//!
//! Without a terminal (a runbook, cron, a pipe) every step is one plain line. On a terminal,
//! without `-v`, a spinner shows the current step (the lines stay printed above it) and a batch
//! gets one line per host. `--quiet` shows nothing; with `-v` the plain lines are kept so they
//! interleave cleanly with the log.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

/// The bars on the terminal, if any: prompts hide them while they ask (see [`suspend`]).
static DISPLAY: OnceLock<MultiProgress> = OnceLock::new();

/// Run `f` (a prompt on the terminal) with the progress bars hidden.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    match DISPLAY.get() {
        Some(multi) => multi.suspend(f),
        None => f(),
    }
}

/// Where progress goes.
pub struct Progress {
    quiet: bool,
    /// `[host] ` for a host of a batch on plain lines.
    prefix: String,
    /// The spinner of this host or command, on a terminal.
    bar: Option<ProgressBar>,
    /// The bars' common display, on a terminal.
    multi: Option<MultiProgress>,
    /// Whether `say` also prints each line above the bar (one host), or only updates it
    /// (a host of a batch: the line per host is the display).
    echo: bool,
}

impl Progress {
    /// Plain lines on stderr, unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        Progress {
            quiet,
            prefix: String::new(),
            bar: None,
            multi: None,
            echo: true,
        }
    }

    /// Bars when stderr is a terminal that can draw them and neither `quiet` nor `-v`; plain
    /// lines otherwise.
    pub fn auto(quiet: bool, verbose: u8) -> Self {
        if quiet || verbose > 0 || !std::io::stderr().is_terminal() {
            return Self::new(quiet);
        }
        // A terminal indicatif will not draw on (TERM unset or `dumb`) gets plain lines, not
        // nothing at all.
        let target = ProgressDrawTarget::stderr();
        if target.is_hidden() {
            return Self::new(quiet);
        }
        let multi = MultiProgress::with_draw_target(target);
        let _ = DISPLAY.set(multi.clone());
        let bar = multi.add(ProgressBar::new_spinner().with_finish(ProgressFinish::AndClear));
        bar.set_style(spinner_style("{spinner} {wide_msg}"));
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            quiet,
            prefix: String::new(),
            bar: Some(bar),
            multi: Some(multi),
            echo: true,
        }
    }

    /// Whether progress is drawn as bars.
    pub fn is_bars(&self) -> bool {
        self.multi.is_some()
    }

    /// Progress of one host of a batch: its own bar on a terminal, else lines with `[label]`.
    pub fn host(&self, label: &str) -> Progress {
        match &self.multi {
            Some(multi) => {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(spinner_style("{spinner} {prefix:<24} {wide_msg}"));
                bar.set_prefix(label.to_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                Progress {
                    quiet: self.quiet,
                    prefix: String::new(),
                    bar: Some(bar),
                    multi: None,
                    echo: false,
                }
            }
            None => Progress {
                quiet: self.quiet,
                prefix: format!("[{label}] "),
                bar: None,
                multi: None,
                echo: true,
            },
        }
    }

    pub fn say(&self, line: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        let line = line.as_ref();
        match &self.bar {
            Some(bar) => {
                if self.echo {
                    bar.println(format!("handover: {line}"));
                }
                bar.set_message(line.to_owned());
            }
            None => eprintln!("handover: {}{line}", self.prefix),
        }
    }

    /// The host's (or command's) last word: its bar stays with `line`, or one more line.
    pub fn done(&self, line: impl AsRef<str>) {
        match &self.bar {
            Some(bar) if !self.echo => bar.finish_with_message(line.as_ref().to_owned()),
            _ => self.say(line),
        }
    }

    /// Remove the spinner before results are printed.
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn spinner_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}
