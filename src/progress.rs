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

    /// A transfer of about `total` bytes (`None`: unknown): on a terminal a bar with bytes,
    /// rate and the time left; without one, a line when it starts and one when it ends (with
    /// the bytes and the rate), so a runbook's log says how long a backup took.
    pub fn transfer(&self, label: &str, total: Option<u64>) -> Transfer {
        let bar = self.multi.as_ref().filter(|_| !self.quiet).map(|multi| {
            let bar = multi.add(match total {
                Some(total) => ProgressBar::new(total),
                None => ProgressBar::new_spinner(),
            });
            bar.set_style(spinner_style(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ));
            bar.set_message(label.to_owned());
            bar
        });
        if bar.is_none() {
            self.say(match total {
                Some(total) => format!("{label} (about {})", indicatif::HumanBytes(total)),
                None => label.to_owned(),
            });
        }
        Transfer {
            bar,
            quiet: self.quiet,
            prefix: self.prefix.clone(),
            label: label.to_owned(),
            bytes: std::sync::atomic::AtomicU64::new(0),
            started: std::time::Instant::now(),
        }
    }

    /// Remove the spinner before results are printed.
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// One transfer's progress (see [`Progress::transfer`]).
pub struct Transfer {
    bar: Option<ProgressBar>,
    quiet: bool,
    prefix: String,
    label: String,
    bytes: std::sync::atomic::AtomicU64,
    started: std::time::Instant,
}

impl Transfer {
    /// `n` more bytes went through.
    pub fn add(&self, n: u64) {
        self.bytes
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// The bytes so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The transfer ended: the bar goes, a line with bytes, time and rate stays (unless quiet).
    pub fn finish(self) {
        let bytes = self.bytes();
        let secs = self.started.elapsed().as_secs_f64();
        let line = format!(
            "{}: {} in {secs:.1} s ({}/s)",
            self.label,
            indicatif::HumanBytes(bytes),
            indicatif::HumanBytes((bytes as f64 / secs.max(0.001)) as u64)
        );
        match &self.bar {
            Some(bar) => {
                bar.finish_and_clear();
                bar.println(format!("handover: {line}"));
            }
            None if !self.quiet => eprintln!("handover: {}{line}", self.prefix),
            None => {}
        }
    }
}

fn spinner_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}
