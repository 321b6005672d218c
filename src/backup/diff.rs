//! `handover diff`: every change in the scope since the backup. Text files as a unified diff
//! (before: the archive's content, after: the host's), binary ones by size and SHA-256, added
//! and removed entries, mode, owner and ACL changes. Contents are read only for the files that
//! changed, each up to [`MAX_TEXT`]; the host's come in one tar stream written to a private
//! temporary file, never held whole in memory.

use super::Manifest;
use super::plan::{Change, Plan, key};
use super::restore::{RestoreError, Source, printf_format, tar_stream};
use crate::progress::Progress;
use crate::shell::Script;
use crate::ssh::Session;
use crate::text::remote_stderr;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, Write};

/// Files larger than this are compared by size and hash only.
const MAX_TEXT: u64 = 1024 * 1024;

/// One changed path.
#[derive(Debug, Serialize)]
pub struct FileDiff {
    #[serde(flatten)]
    pub change: Change,
    /// `added`, `changed` or `removed`.
    pub status: &'static str,
    /// A file on either side is not text (or larger than 1 MiB): compare sizes and hashes.
    pub binary: bool,
    /// The unified diff of a text file's content (none when the content is the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// Every change.
#[derive(Debug, Default, Serialize)]
pub struct DiffReport {
    pub files: Vec<FileDiff>,
}

/// Whether a change's content is worth reading: a regular file, small enough.
fn wanted(state: Option<&super::plan::State>) -> bool {
    state.is_some_and(|s| s.kind == "file" && s.size <= MAX_TEXT)
}

/// How much text one side of a diff holds at most: beyond it, files are shown by size and
/// SHA-256 like binary ones (a site emptied by the vendor must not fill this machine's memory).
const MAX_TEXT_TOTAL: u64 = 32 << 20;

/// The text contents of `paths` from a tar stream, each whole; binary files (a NUL byte, or
/// not UTF-8) and files past [`MAX_TEXT_TOTAL`] are left out, so they show as binary.
fn contents(
    reader: impl Read,
    paths: &BTreeSet<String>,
) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let mut archive = tar::Archive::new(reader);
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = key(&String::from_utf8_lossy(&entry.path_bytes()));
        if entry.header().entry_type().is_file()
            && paths.contains(&path)
            && entry.size() <= MAX_TEXT
            && total + entry.size() <= MAX_TEXT_TOTAL
        {
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            if text(Some(&data)).is_some() {
                total += data.len() as u64;
                out.insert(path, data);
            }
        }
    }
    Ok(out)
}

/// Text, or none (binary).
fn text(data: Option<&Vec<u8>>) -> Option<&str> {
    let data = data?;
    if data.contains(&0) {
        return None;
    }
    std::str::from_utf8(data).ok()
}

/// Diff `plan`'s entries: contents from the archive and from the host.
pub async fn diff(
    session: &Session,
    manifest: &Manifest,
    source: &Source,
    plan: &Plan,
    progress: &Progress,
) -> Result<DiffReport, RestoreError> {
    let scope = manifest.backup.scope.as_str();
    let before_paths: BTreeSet<String> = plan
        .all()
        .filter(|c| wanted(c.before.as_ref()))
        .map(|c| c.path.clone())
        .collect();
    let after: Vec<&Change> = plan.all().filter(|c| wanted(c.after.as_ref())).collect();
    let before = match source {
        Source::Local(path) if !before_paths.is_empty() => {
            contents(tar_stream(path)?, &before_paths).map_err(|source| RestoreError::Read {
                path: path.clone(),
                source,
            })?
        }
        Source::OnHost(archive) if !before_paths.is_empty() => {
            let script = super::on_host::contents_script(manifest, &before_paths)?;
            let step = format!("reading {archive}");
            stream_contents(session, &script, &before_paths, &step).await?
        }
        _ => BTreeMap::new(),
    };
    let after_paths: BTreeSet<String> = after.iter().map(|c| c.path.clone()).collect();
    let after_contents = if after.is_empty() {
        BTreeMap::new()
    } else {
        progress.say(format!(
            "reading {} changed files of {scope} on the host",
            after.len()
        ));
        host_contents(session, scope, &after, &after_paths).await?
    };
    let mut report = DiffReport::default();
    for (status, changes) in [
        ("added", &plan.added),
        ("changed", &plan.changed),
        ("removed", &plan.removed),
    ] {
        for change in changes {
            let is_file =
                |s: &Option<super::plan::State>| s.as_ref().is_some_and(|s| s.kind == "file");
            let content_changed = status != "changed" || change.what.contains(&"content");
            let files = (is_file(&change.before) || change.before.is_none())
                && (is_file(&change.after) || change.after.is_none());
            let (mut binary, mut diff) = (false, None);
            if files && content_changed {
                let old = match &change.before {
                    Some(_) => text(before.get(&change.path)),
                    None => Some(""),
                };
                let new = match &change.after {
                    Some(_) => text(after_contents.get(&change.path)),
                    None => Some(""),
                };
                match (old, new) {
                    (Some(old), Some(new)) => {
                        let a = if change.before.is_some() {
                            format!("a/{}", change.path)
                        } else {
                            "/dev/null".to_owned()
                        };
                        let b = if change.after.is_some() {
                            format!("b/{}", change.path)
                        } else {
                            "/dev/null".to_owned()
                        };
                        diff = Some(
                            similar::TextDiff::from_lines(old, new)
                                .unified_diff()
                                .context_radius(3)
                                .header(&a, &b)
                                .to_string(),
                        );
                    }
                    _ => binary = true,
                }
            }
            report.files.push(FileDiff {
                change: change.clone(),
                status,
                binary,
                diff,
            });
        }
    }
    Ok(report)
}

/// The host's contents of `changes` (one tar stream into a private temporary file).
async fn host_contents(
    session: &Session,
    scope: &str,
    changes: &[&Change],
    paths: &BTreeSet<String>,
) -> Result<BTreeMap<String, Vec<u8>>, RestoreError> {
    let mut script = Script::new();
    script.cmd("cd -- {} || exit 2", &[scope]);
    script.raw("hv_list=$(mktemp) || exit 2");
    script.raw("trap 'rm -f \"$hv_list\"' EXIT");
    for change in changes {
        let name = change
            .host_name
            .clone()
            .unwrap_or_else(|| format!("./{}", change.path).into_bytes());
        let line = printf_format(&[name.as_slice(), b"\0"].concat());
        script.cmd("printf {} >>\"$hv_list\"", &[&line]);
    }
    script.raw(
        "tar --create --file=- --no-recursion --null --verbatim-files-from --files-from=\"$hv_list\"",
    );
    let step = format!("reading the changed files of {scope}");
    stream_contents(session, &script, paths, &step).await
}

/// The contents of `paths` in the tar stream `script` prints (received into a private
/// temporary file, never held whole in memory on the way).
pub(super) async fn stream_contents(
    session: &Session,
    script: &Script,
    paths: &BTreeSet<String>,
    step: &str,
) -> Result<BTreeMap<String, Vec<u8>>, RestoreError> {
    let temp_error = |source| RestoreError::Temp {
        path: std::env::temp_dir(),
        source,
    };
    // Unnamed and private: gone when closed, whatever happens.
    let mut file = tempfile_private().map_err(temp_error)?;
    let (output, failed) = session
        .run_stream(script, |data| file.write_all(data))
        .await?;
    if let Some(source) = failed {
        return Err(temp_error(source));
    }
    // 1: a file changed while it was read, which the diff shows as read.
    if !matches!(output.exit_status, Some(0 | 1)) {
        return Err(RestoreError::Remote {
            host: session.target().host.clone(),
            step: step.to_owned(),
            status: output
                .exit_status
                .map_or_else(|| "none".to_owned(), |s| s.to_string()),
            stderr: remote_stderr(&output.stderr),
        });
    }
    file.rewind().map_err(temp_error)?;
    contents(file, paths).map_err(temp_error)
}

/// A file in the temporary directory only this user can read, already unlinked.
fn tempfile_private() -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = std::env::temp_dir().join(format!(
        "handover-diff-{}",
        crate::secret::random_lower_alnum(12)
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}
