//! The window's recordings between the host and the admin machine: copied into the state
//! directory (`ID.recordings/`, private like the rest of it) with each file's SHA-256 in the
//! record, removed from the host once teardown has its copy, and watched live.

use super::connect::{ConnectOptions, connect_pinned};
use crate::actions::{Action, Recording};
use crate::error::Error;
use crate::ids::GrantId;
use crate::progress::Progress;
use crate::record::{GrantRecord, RecordingsCopy, Store};
use crate::shell::Script;
use crate::shell::protocol::CheckResult;
use crate::ssh::Session;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The companion directory of a grant record holding its recordings.
pub const RECORDINGS_DIR: &str = "recordings";

/// Whether the grant records its sessions.
pub fn records(record: &GrantRecord) -> bool {
    recording(record).is_some()
}

/// The grant's recording, when it records.
fn recording(record: &GrantRecord) -> Option<&Recording> {
    record.actions.iter().find_map(|a| match &a.action {
        Action::Recording(r) if r.active() => Some(r),
        _ => None,
    })
}

/// Where the grant's recordings are copied to.
pub fn local_dir(store: &Store, id: &GrantId) -> PathBuf {
    store.companion_path(id, RECORDINGS_DIR)
}

/// Copy the recordings from the host, replacing an earlier copy, and note the copy (with its
/// hashes) in the record. The copy is made in a new directory and renamed into place, so a
/// failure leaves the earlier copy as it was; so does a host that holds no recordings (any
/// more), when there is an earlier copy.
pub(super) async fn copy(
    session: &Session,
    store: &Store,
    record: &mut GrantRecord,
) -> Result<(), Error> {
    let dir = local_dir(store, &record.id);
    let fresh = store.companion_path(&record.id, "recordings.new");
    let archive = store.companion_path(&record.id, "recordings.tar");
    let _ = std::fs::remove_dir_all(&fresh);
    let result = async {
        let mut file = private_file(&archive)?;
        let mut s = Script::new();
        if let Some(r) = recording(record) {
            r.collect_jail_log(&mut s, &record.id, record.created_at.unix_timestamp());
        }
        s.cmd(
            "if [ -d {} ]; then tar -C {} -cf - .; fi",
            &[&Recording::dir(&record.id), &Recording::dir(&record.id)],
        );
        let (output, failed) = session.run_stream(&s, |data| file.write_all(data)).await?;
        if let Some(e) = failed {
            return Err(local(&archive, e));
        }
        if !output.success() {
            return Err(Error::Remote(format!(
                "copying the recordings failed: {}",
                crate::text::remote_stderr(&output.stderr)
            )));
        }
        file.sync_all().map_err(|e| local(&archive, e))?;
        if file.metadata().map_err(|e| local(&archive, e))?.len() == 0 && dir.exists() {
            return Ok(None);
        }
        unpack(&archive, &fresh).map(Some)
    }
    .await;
    let _ = std::fs::remove_file(&archive);
    let sha256 = match result {
        Ok(Some(sha256)) => sha256,
        Ok(None) => return Ok(()),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&fresh);
            return Err(e);
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&fresh, &dir).map_err(|e| local(&dir, e))?;
    record.event(format!(
        "recordings copied from the host: {} files",
        sha256.len()
    ));
    record.recordings = Some(RecordingsCopy {
        copied_at: crate::record::now(),
        removed_from_host: false,
        sealed_to: None,
        sha256,
    });
    Ok(())
}

/// At teardown, once the sessions have ended: copy the recordings, then remove them from the
/// host; the check says whether both were done (evidence is never removed before it is here).
pub(super) async fn take_home(
    session: &Session,
    store: &Store,
    record: &mut GrantRecord,
) -> CheckResult {
    let dir = Recording::dir(&record.id);
    let check = format!(
        "the window's recordings are copied to this machine and gone from the host ({dir})"
    );
    let failed = |why: String| CheckResult {
        check: check.clone(),
        ok: false,
        details: vec![why],
    };
    // A teardown run again (the first one partial for another reason) must not replace the
    // copy it already took with what is left on the host: nothing.
    let copied = record
        .recordings
        .as_ref()
        .is_some_and(|c| c.removed_from_host);
    if !copied && let Err(e) = copy(session, store, record).await {
        return failed(format!("not copied, so left on the host: {}", e.report()));
    }
    let mut s = Script::new();
    s.cmd(
        "rm -rf -- {}; rmdir -- {} 2>/dev/null || true; if [ -e {} ]; then echo 'still there' >&2; exit 1; fi",
        &[&dir, crate::actions::RECORDINGS_ROOT, &dir],
    );
    match session.run(&s, |_| {}).await {
        Ok(output) if output.success() => {
            if let Some(copy) = &mut record.recordings {
                copy.removed_from_host = true;
            }
            record.event("recordings removed from the host");
            CheckResult {
                check,
                ok: true,
                details: Vec::new(),
            }
        }
        Ok(output) => failed(crate::text::remote_stderr(&output.stderr)),
        Err(e) => failed(e.to_string()),
    }
}

/// Unpack the tar stream `archive` into `dir` (made private): no entry lands outside it,
/// files are made owner-only (keeping whether they were writable: sudo clears a finished
/// session's `timing` write bits). The SHA-256 of each file, by path.
fn unpack(archive: &Path, dir: &Path) -> Result<std::collections::BTreeMap<String, String>, Error> {
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|e| local(dir, e))?;
    let file = std::fs::File::open(archive).map_err(|e| local(archive, e))?;
    let mut tar = tar::Archive::new(file);
    tar.set_preserve_permissions(false);
    let mut sha256 = std::collections::BTreeMap::new();
    for entry in tar.entries().map_err(|e| local(archive, e))? {
        let mut entry = entry.map_err(|e| local(archive, e))?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            continue;
        }
        let mode = entry.header().mode().unwrap_or(0o600);
        let path = entry.path().map_err(|e| local(archive, e))?.into_owned();
        if !entry.unpack_in(dir).map_err(|e| local(dir, e))? {
            continue;
        }
        let name = path.to_string_lossy().trim_start_matches("./").to_owned();
        let target = dir.join(&path);
        let private = if kind.is_dir() { 0o700 } else { mode & 0o600 };
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(private))
            .map_err(|e| local(&target, e))?;
        if kind.is_file() {
            let bytes = std::fs::read(&target).map_err(|e| local(&target, e))?;
            let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
            sha256.insert(name, crate::text::hex(digest.as_ref()));
        }
    }
    Ok(sha256)
}

fn private_file(path: &Path) -> Result<std::fs::File, Error> {
    crate::record::private_file(path).map_err(|e| local(path, e))
}

fn local(path: &Path, source: std::io::Error) -> Error {
    Error::Local {
        path: path.to_path_buf(),
        source,
    }
}

/// `handover sessions` and `replay` during the window: a fresh copy of the recordings.
pub async fn refresh(
    store: &Store,
    id: &GrantId,
    options: &ConnectOptions,
    progress: &Progress,
) -> Result<GrantRecord, Error> {
    let _lock = store.lock(id)?;
    let mut record = store.load(id)?;
    if record.state == crate::record::GrantState::Revoked || !records(&record) {
        return Ok(record);
    }
    let session = connect_pinned(store, &record, options, progress).await?;
    progress.say("copying the recordings so far");
    let result = copy(&session, store, &mut record).await;
    session.close().await;
    result?;
    store.save(&record)?;
    Ok(record)
}

/// What `handover watch` saw end.
pub enum WatchEnd {
    /// The session watched ended.
    SessionEnded(String),
    /// Ctrl-C.
    Stopped,
}

/// `handover watch`: the newest live session of the grant (waiting for one to start), its
/// terminal output (or its standard output, without a terminal) from its start, as sudo
/// records it, until it ends. Read-only: nothing reaches the vendor's session.
pub async fn watch(
    store: &Store,
    id: &GrantId,
    options: &ConnectOptions,
    progress: &Progress,
    mut out: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<WatchEnd, Error> {
    let record = store.load(id)?;
    if record.state == crate::record::GrantState::Revoked {
        return Err(Error::Remote(format!(
            "grant `{id}` is revoked: no session can run; `handover sessions {id}` lists what was recorded"
        )));
    }
    match recording(&record) {
        None => {
            return Err(Error::Remote(format!(
                "grant `{id}` records no sessions (provisioned with --record off, or on a host that could not record)"
            )));
        }
        Some(r) if r.jailed => {
            return Err(Error::Remote(format!(
                "grant `{id}` gives an sftp-only account: it has no terminal to watch; `handover sessions {id}` lists its transfers so far"
            )));
        }
        Some(_) => {}
    }
    let session = connect_pinned(store, &record, options, progress).await?;
    progress.say(format!(
        "waiting for a session of `{}`; Ctrl-C stops watching",
        record.account
    ));
    progress.clear();
    let mut s = Script::new();
    s.raw(WATCH_SH);
    s.cmd("hv_watch {}", &[&format!("{}/io", Recording::dir(id))]);
    let watched = session.run_stream(&s, |data| out(data));
    let result = tokio::select! {
        result = watched => Some(result),
        _ = tokio::signal::ctrl_c() => None,
    };
    let end = match result {
        None => Ok(WatchEnd::Stopped),
        Some(Ok((output, _))) if output.success() => Ok(WatchEnd::SessionEnded(
            output.stderr.lines().last().unwrap_or("").trim().to_owned(),
        )),
        Some(Ok((output, _))) => Err(Error::Remote(format!(
            "watching failed: {}",
            crate::text::remote_stderr(&output.stderr)
        ))),
        Some(Err(e)) => Err(e.into()),
    };
    session.close().await;
    end
}

/// The host's side of `watch` (`hv_watch`).
const WATCH_SH: &str = include_str!("watch.sh");

/// The companion file holding the last teardown's report.
pub const TEARDOWN_FILE: &str = "teardown.json";

/// `handover export`: one tar archive (`handover-GRANT/`) of the grant's record, its last
/// teardown report (with the drift report), its recordings (`recordings/`, or sealed as
/// `recordings.age`), and `MANIFEST.sha256`, the SHA-256
/// of each of them as `sha256sum -c` reads it. Refuses to overwrite `to`. The number of files.
pub fn export(store: &Store, record: &GrantRecord, to: &Path) -> Result<usize, Error> {
    let id = &record.id;
    let top = format!("handover-{id}");
    let mut files: Vec<(String, PathBuf)> = vec![("record.json".to_owned(), store.path(id))];
    let teardown = store.companion_path(id, TEARDOWN_FILE);
    if teardown.exists() {
        files.push((TEARDOWN_FILE.to_owned(), teardown));
    }
    let dir = local_dir(store, id);
    let sealed = record
        .recordings
        .as_ref()
        .is_some_and(|c| c.sealed_to.is_some());
    if sealed {
        // As sealed: only the holder of the key opens it.
        files.push((
            SEALED_FILE.to_owned(),
            store.companion_path(id, SEALED_FILE),
        ));
    } else if record.recordings.is_some() {
        let mut found = Vec::new();
        walk(&dir, &mut found).map_err(|e| local(&dir, e))?;
        found.sort();
        for path in found {
            let name = path
                .strip_prefix(&dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            files.push((format!("recordings/{name}"), path));
        }
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|e| local(to, e))?;
    let mut tar = tar::Builder::new(file);
    let mut manifest = String::new();
    for (name, path) in &files {
        let bytes = std::fs::read(path).map_err(|e| local(path, e))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
        manifest.push_str(&format!("{}  {name}\n", crate::text::hex(digest.as_ref())));
        append(&mut tar, &format!("{top}/{name}"), &bytes).map_err(|e| local(to, e))?;
    }
    append(
        &mut tar,
        &format!("{top}/MANIFEST.sha256"),
        manifest.as_bytes(),
    )
    .map_err(|e| local(to, e))?;
    let file = tar.into_inner().map_err(|e| local(to, e))?;
    file.sync_all().map_err(|e| local(to, e))?;
    Ok(files.len())
}

/// A private (0600) file of the archive.
fn append(tar: &mut tar::Builder<std::fs::File>, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(crate::record::now().unix_timestamp().max(0).unsigned_abs());
    header.set_cksum();
    tar.append_data(&mut header, name, bytes)
}

/// Every file under `dir`.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// The sealed copy of a grant's recordings.
pub const SEALED_FILE: &str = "recordings.age";

/// Seal the grant's copy of its recordings to `key` (teardown's `--seal-to`, the customer's
/// own key): an age file of its tar replaces the plain copy.
pub fn seal_copy(
    store: &Store,
    record: &mut GrantRecord,
    key: &crate::seal::VendorKey,
) -> Result<(), Error> {
    let dir = local_dir(store, &record.id);
    let sealed = store.companion_path(&record.id, SEALED_FILE);
    let partial = store.companion_path(&record.id, "recordings.age.new");
    let write = || -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)?;
        let mut writer = key.seal_writer(file)?;
        {
            let mut tar = tar::Builder::new(&mut writer);
            tar.follow_symlinks(false);
            tar.append_dir_all(".", &dir)?;
            tar.finish()?;
        }
        let file = writer.finish()?;
        file.sync_all()?;
        std::fs::rename(&partial, &sealed)
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&partial);
        return Err(local(&sealed, e));
    }
    std::fs::remove_dir_all(&dir).map_err(|e| local(&dir, e))?;
    if let Some(copy) = &mut record.recordings {
        copy.sealed_to = Some(key.fingerprint.clone());
    }
    record.event(format!(
        "recordings sealed to {} in {}",
        key.fingerprint,
        sealed.display()
    ));
    store.save(record)?;
    Ok(())
}

/// The grant's copy of its recordings, readable: the plain copy, or the sealed one opened with
/// `identity` (the private SSH key it was sealed to) into a private temporary directory that
/// goes when the result is dropped.
pub fn open_copy(
    store: &Store,
    record: &GrantRecord,
    identity: Option<&Path>,
) -> Result<OpenCopy, Error> {
    let sealed_to = record.recordings.as_ref().and_then(|c| c.sealed_to.clone());
    let Some(fingerprint) = sealed_to else {
        return Ok(OpenCopy {
            dir: local_dir(store, &record.id),
            temporary: false,
        });
    };
    let Some(identity) = identity else {
        return Err(crate::input::InputError::new(
            "--unseal-with",
            "",
            format!(
                "the private SSH key the recordings were sealed to at teardown ({fingerprint})"
            ),
        )
        .into());
    };
    let sealed = store.companion_path(&record.id, SEALED_FILE);
    let dir = store.companion_path(
        &record.id,
        &format!("recordings.open.{}", std::process::id()),
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| local(&dir, e))?;
    let open = OpenCopy {
        dir: dir.clone(),
        temporary: true,
    };
    let reader = crate::seal::open_sealed(&sealed, identity)?;
    let mut tar = tar::Archive::new(reader);
    tar.set_preserve_permissions(true);
    tar.unpack(&dir).map_err(|e| local(&sealed, e))?;
    Ok(open)
}

/// A readable copy of the recordings ([`open_copy`]).
pub struct OpenCopy {
    pub dir: PathBuf,
    /// An unsealed copy, removed on drop.
    temporary: bool,
}

impl Drop for OpenCopy {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
