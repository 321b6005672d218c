//! handover: lend a vendor's support engineer temporary, scoped access to a server over SSH,
//! and take it back without leaving anything behind. See DESIGN.md for the vocabulary.

pub mod access;
pub mod actions;
pub mod audit;
pub mod backup;
pub mod batch;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod error;
pub mod failpoint;
pub mod ids;
pub mod input;
#[cfg(test)]
mod layers;
pub mod output;
pub mod playbook;
pub mod progress;
pub mod record;
pub mod recordings;
pub mod request;
pub mod seal;
pub mod secret;
pub mod shell;
pub mod site;
pub mod ssh;
pub mod text;

use crate::cli::Cli;
use crate::error::ExitStatus;
use clap::Parser;
use std::io::IsTerminal;

/// Parse the command line, run the command, and return the process exit code.
pub fn main_entry() -> u8 {
    quiet_on_broken_pipe();
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let json = cli.command.json();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("handover: error: could not start the async runtime: {e}");
            return ExitStatus::Failed.code();
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(status) => status.code(),
        Err(e) => {
            output::error(&e, json);
            e.exit_status().code()
        }
    }
}

/// A reader that stops early (`handover list | head -1`) closes stdout under us: `print!` then
/// panics on EPIPE (Rust ignores SIGPIPE). That is no crash: say so in one line, exit 1.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("(os error 32)") {
            eprintln!(
                "handover: stdout was closed before everything was written (broken pipe); a grant this run made is in `handover list`"
            );
            std::process::exit(i32::from(ExitStatus::Failed.code()));
        }
        default(info);
    }));
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, _) => tracing::Level::DEBUG,
    };
    // Only handover's own events in detail: libraries (russh's packet traces, …) stay at
    // warnings, so -vv shows what runs on the host and never a library's view of the wire.
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(level.min(tracing::Level::WARN))
        .with_target("handover", level);
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(std::io::stderr().is_terminal())
                .without_time(),
        )
        .with(filter)
        .try_init();
}
