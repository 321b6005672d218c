//! `handover sessions`, `replay`, `watch` and `export`: the window's recordings.

use super::open_store;
use crate::cli::{ExportArgs, ReplayArgs, SessionsArgs, WatchArgs};
use crate::engine::recordings::{self as engine, WatchEnd};
use crate::error::{Error, ExitStatus};
use crate::ids::GrantId;
use crate::input::InputError;
use crate::output::{self, Progress};
use crate::record::{GrantRecord, Store};
use crate::request::connect_options;
use std::io::Write;
use std::path::PathBuf;

/// The grant's record with its recordings as fresh as can be: copied from the host while the
/// grant lives, the copy teardown took after.
async fn fresh(
    store: &Store,
    grant: &str,
    connect: &crate::cli::ConnectArgs,
    progress: &Progress,
) -> Result<GrantRecord, Error> {
    let id = GrantId::parse(grant)?;
    let options = connect_options(connect, None, false)?;
    let record = engine::refresh(store, &id, &options, progress).await?;
    if record.recordings.is_none() {
        return Err(InputError::new(
            "GRANT",
            grant,
            "a grant whose sessions were recorded (this one was provisioned with --record off, or on a host that could not record)",
        )
        .into());
    }
    Ok(record)
}

pub async fn sessions(
    args: SessionsArgs,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    let store = open_store(state_dir)?;
    let record = fresh(&store, &args.grant, &args.connect, progress).await?;
    let copy = engine::open_copy(&store, &record, args.unseal_with.as_deref())?;
    let sessions = crate::recordings::load(&copy.dir)?;
    progress.clear();
    output::sessions(&record, &sessions, args.json).map_err(Error::Output)?;
    Ok(ExitStatus::Success)
}

pub async fn replay(
    args: ReplayArgs,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(InputError::new(
            "--speed",
            &args.speed.to_string(),
            "a number above 0 (2 plays twice as fast)",
        )
        .into());
    }
    if args.max_pause.is_some_and(|p| !(p.is_finite() && p >= 0.0)) {
        return Err(InputError::new("--max-pause", "", "a number of seconds, 0 or more").into());
    }
    let store = open_store(state_dir)?;
    let record = fresh(&store, &args.grant, &args.connect, progress).await?;
    progress.clear();
    let copy = engine::open_copy(&store, &record, args.unseal_with.as_deref())?;
    let mut out = std::io::stdout().lock();
    match crate::recordings::replay(
        &copy.dir,
        &args.session,
        args.speed,
        args.max_pause,
        &mut out,
    ) {
        // A reader that stops early (`| head`) has what it wanted.
        Err(crate::recordings::Error::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        played => played?,
    }
    let _ = out.flush();
    Ok(ExitStatus::Success)
}

pub async fn watch(
    args: WatchArgs,
    state_dir: Option<PathBuf>,
    progress: &Progress,
) -> Result<ExitStatus, Error> {
    let id = GrantId::parse(&args.grant)?;
    let options = connect_options(&args.connect, None, false)?;
    let store = open_store(state_dir)?;
    let mut stdout = std::io::stdout().lock();
    let end = engine::watch(&store, &id, &options, progress, |data| {
        stdout.write_all(data)?;
        stdout.flush()
    })
    .await?;
    match end {
        WatchEnd::SessionEnded(session) => eprintln!(
            "\nhandover: session {session} ended (`handover replay {id} {session}` plays it again)"
        ),
        WatchEnd::Stopped => eprintln!("\nhandover: stopped watching"),
    }
    Ok(ExitStatus::Success)
}

pub fn export(args: &ExportArgs, state_dir: Option<PathBuf>) -> Result<ExitStatus, Error> {
    let id = GrantId::parse(&args.grant)?;
    let store = open_store(state_dir)?;
    let record = store.load(&id)?;
    let files = crate::engine::export(&store, &record, &args.output)?;
    eprintln!(
        "handover: wrote {} ({files} files; check with `tar -xf {} && sha256sum -c MANIFEST.sha256`)",
        args.output.display(),
        args.output.display()
    );
    Ok(ExitStatus::Success)
}
