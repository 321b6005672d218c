//! One file per subcommand: a validated request in, an engine call, the output.

mod audit;
mod diff;
mod extend;
mod provision;
mod prune;
mod reap;
mod recordings;
mod restore;
mod rotate;
mod suspend;
mod teardown;

use crate::cli::{Cli, Command, PlaybooksCommand};
use crate::error::{Error, ExitStatus};
use crate::input::InputError;
use crate::output::{self, Progress, Sealing};
use crate::playbook::{Playbook, PlaybookError};
use crate::record::Store;
use crate::request;
use crate::seal::VendorKey;
use crate::text::sanitize;
use std::path::{Path, PathBuf};

/// Run the command; the exit status of a command that ran, or the error it ended with.
pub async fn run(cli: Cli) -> Result<ExitStatus, Error> {
    let progress = Progress::auto(cli.quiet, cli.verbose);
    let state_dir = cli.state_dir;
    match cli.command {
        Command::Provision(args) => {
            let request = request::Provision::from_args(*args, &progress)?;
            provision::run(request, state_dir, &progress).await
        }
        Command::Teardown(args) => {
            let request = request::Teardown::from_args(args)?;
            teardown::run(request, state_dir, &progress).await
        }
        Command::Audit(args) => {
            let request = request::Audit::from_args(args)?;
            audit::run(request, state_dir, &progress).await
        }
        Command::Restore(args) => {
            let request = request::Restore::from_args(args)?;
            restore::run(request, state_dir, &progress).await
        }
        Command::Diff(args) => {
            let request = request::Diff::from_args(args)?;
            diff::run(request, state_dir, &progress).await
        }
        Command::Extend(args) => extend::run(args, state_dir, &progress).await,
        Command::Suspend(args) => suspend::run(args, false, state_dir, &progress).await,
        Command::Resume(args) => suspend::run(args, true, state_dir, &progress).await,
        Command::Rotate(args) => rotate::run(args, state_dir, &progress).await,
        Command::Request(args) => write_request_template(args.output.as_deref()),
        Command::Sessions(args) => recordings::sessions(args, state_dir, &progress).await,
        Command::Replay(args) => recordings::replay(args, state_dir, &progress).await,
        Command::Watch(args) => recordings::watch(args, state_dir, &progress).await,
        Command::Export(args) => recordings::export(&args, state_dir),
        Command::Reap(args) => {
            let request = request::Reap::from_args(args)?;
            reap::run(request, state_dir, &progress).await
        }
        Command::Prune(args) => prune::run(&args, state_dir),
        Command::List(args) => {
            let store = open_store(state_dir)?;
            output::list(&store.list()?, args.json);
            Ok(ExitStatus::Success)
        }
        Command::Show(args) => {
            let id = crate::ids::GrantId::parse(&args.grant)?;
            let store = open_store(state_dir)?;
            output::show(&store.load(&id)?, args.json);
            Ok(ExitStatus::Success)
        }
        Command::Playbooks(args) => {
            playbooks(args.command.unwrap_or(PlaybooksCommand::List))?;
            Ok(ExitStatus::Success)
        }
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "handover", &mut std::io::stdout());
            Ok(ExitStatus::Success)
        }
        Command::Man(args) => {
            let command = <Cli as clap::CommandFactory>::command();
            match &args.dir {
                // Every page, so that the references between them resolve.
                Some(dir) => {
                    clap_mangen::generate_to(command, dir).map_err(|source| Error::Local {
                        path: dir.clone(),
                        source,
                    })?
                }
                None => {
                    let mut page = Vec::new();
                    clap_mangen::Man::new(command)
                        .render(&mut page)
                        .and_then(|()| std::io::Write::write_all(&mut std::io::stdout(), &page))
                        .map_err(Error::Output)?;
                }
            }
            Ok(ExitStatus::Success)
        }
    }
}

/// `handover playbooks [list|show NAME]`.
fn playbooks(command: PlaybooksCommand) -> Result<(), Error> {
    match command {
        PlaybooksCommand::List => output::playbooks()?,
        PlaybooksCommand::Show { name } => match Playbook::built_in_text(&name) {
            Some(text) if !name.contains('/') => print!("{text}"),
            _ => {
                // Validate before printing, so `show` doubles as a check of a file.
                Playbook::load(&name)?;
                let text =
                    std::fs::read_to_string(&name).map_err(|source| PlaybookError::Read {
                        path: name.clone(),
                        source,
                    })?;
                print!("{}", sanitize(&text));
            }
        },
    }
    Ok(())
}

fn open_store(dir: Option<PathBuf>) -> Result<Store, Error> {
    let dir = dir
        .or_else(crate::record::default_state_dir)
        .ok_or_else(|| {
            InputError::new(
                "--state-dir",
                "",
                "a directory: set --state-dir or HANDOVER_STATE_DIR (no home directory found)",
            )
        })?;
    Ok(Store::open(&dir)?)
}

/// `handover request`: the access request template, on stdout or in a new file.
fn write_request_template(output: Option<&Path>) -> Result<ExitStatus, Error> {
    let template = crate::access::TEMPLATE;
    match output {
        None => print!("{template}"),
        Some(path) => {
            use std::io::Write;
            let local = |source| Error::Local {
                path: path.to_owned(),
                source,
            };
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(local)?;
            file.write_all(template.as_bytes()).map_err(local)?;
            eprintln!(
                "handover: wrote {}: the vendor fills it in; then `handover provision HOST --request {}`",
                path.display(),
                path.display()
            );
        }
    }
    Ok(ExitStatus::Success)
}

/// `--seal-to`/`--seal-out`: the key is checked and the output file opened before the host
/// is touched, so a bad key or path fails early.
fn sealing(seal_to: Option<&str>, seal_out: Option<&Path>) -> Result<Option<Sealing>, Error> {
    let Some(key) = seal_to
        .map(|key| VendorKey::parse("--seal-to", key))
        .transpose()?
    else {
        return Ok(None);
    };
    let out = match seal_out {
        Some(path) => Some((path.to_owned(), create_private_file(path)?)),
        None => None,
    };
    Ok(Some(Sealing { key, out }))
}

/// Create (or truncate) `--seal-out`'s file, only its owner can read.
fn create_private_file(path: &Path) -> Result<std::fs::File, Error> {
    crate::record::private_file(path).map_err(|e| {
        InputError::new(
            "--seal-out",
            &path.display().to_string(),
            format!("a file that can be written ({e})"),
        )
        .into()
    })
}
