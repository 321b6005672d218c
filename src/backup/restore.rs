//! Putting the scope's files back as the backup has them, in one remote execution: the
//! entries added on the host go (deepest first), the changed and removed ones come out of the
//! archive (GNU tar, only their names, or the whole archive for an emptied scope), with owners,
//! modes and ACLs as the archive has them (tar's `--acls` also takes off an ACL the archive does
//! not have). The archive reaches the host over the grant's connection, decompressed here as it
//! is sent, never held in memory; or (`--backup-on-host`) it is read on the host. A listing
//! then verifies the scope against the manifest.

pub use super::error::RestoreError;
use super::plan::{Keep, Plan, key};
use super::{FILES, MANIFEST, Manifest};
use crate::progress::Progress;
use crate::shell::Script;
use crate::ssh::Session;
use crate::text::remote_stderr;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The extraction, removal and ACL helpers (`restore.sh`).
const LIB: &str = include_str!("restore.sh");

/// Where the archive is read from.
#[derive(Clone, Debug)]
pub enum Source {
    /// `files.tar.zst` on this machine, fed to the host's tar over the connection.
    Local(PathBuf),
    /// A zstd-compressed archive at this path on the host (`--backup-on-host`).
    OnHost(String),
}

/// The backup in `dir`, refused when any part of it is missing or was left half-written.
pub fn open(dir: &Path) -> Result<(Manifest, Source), RestoreError> {
    let incomplete = |why: String| RestoreError::Incomplete {
        dir: dir.to_owned(),
        why,
    };
    let listing = std::fs::read_dir(dir).map_err(|e| incomplete(format!("{e}")))?;
    for entry in listing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".part") {
            return Err(incomplete(format!(
                "`{name}` was left by a backup that did not finish"
            )));
        }
    }
    let manifest_path = dir.join(MANIFEST);
    let text = std::fs::read(&manifest_path)
        .map_err(|e| incomplete(format!("its manifest {MANIFEST}: {e}")))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| incomplete(format!("its manifest {MANIFEST} does not parse: {e}")))?;
    if let Some(path) = manifest.backup.on_host.clone() {
        return Ok((manifest, Source::OnHost(path)));
    }
    let archive = dir.join(FILES);
    let size = std::fs::metadata(&archive)
        .map_err(|e| incomplete(format!("its archive {FILES}: {e}")))?
        .len();
    if size != manifest.backup.archive_bytes {
        return Err(incomplete(format!(
            "its archive {FILES} has {size} bytes, the manifest says {}",
            manifest.backup.archive_bytes
        )));
    }
    Ok((manifest, Source::Local(archive)))
}

/// A reader that remembers its first error and counts what went through.
pub(crate) struct Counted<'a, R> {
    pub inner: R,
    pub bytes: u64,
    pub error: Option<std::io::Error>,
    pub transfer: &'a crate::progress::Transfer,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.bytes += n as u64;
                self.transfer.add(n as u64);
                Ok(n)
            }
            Err(e) => {
                let kind = e.kind();
                let text = e.to_string();
                self.error.get_or_insert(e);
                Err(std::io::Error::new(kind, text))
            }
        }
    }
}

/// The decompressed tar stream of a local archive.
pub(crate) fn tar_stream(path: &Path) -> Result<impl Read + Send + use<>, RestoreError> {
    let file = File::open(path).map_err(|source| RestoreError::Read {
        path: path.to_owned(),
        source,
    })?;
    zstd::stream::read::Decoder::new(file).map_err(|source| RestoreError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The archive's own names (bytes as they are) of the entries at `wanted`, and of the files
/// their hard links point to.
fn archive_names(
    path: &Path,
    wanted: &BTreeSet<String>,
) -> Result<Vec<(String, Vec<u8>)>, RestoreError> {
    let read = |source| RestoreError::Read {
        path: path.to_owned(),
        source,
    };
    let mut archive = tar::Archive::new(tar_stream(path)?);
    let mut names = Vec::new();
    let mut targets = BTreeSet::new();
    for entry in archive.entries().map_err(read)? {
        let entry = entry.map_err(read)?;
        let name = entry.path_bytes().into_owned();
        let path = key(&String::from_utf8_lossy(&name));
        if wanted.contains(&path) {
            if entry.header().entry_type() == tar::EntryType::Link
                && let Some(target) = entry.link_name_bytes()
            {
                targets.insert(target.into_owned());
            }
            names.push((path, name));
        }
    }
    // A hard link is extracted as a link to its target: the target comes first, when it is
    // not there already.
    for target in targets {
        if !names.iter().any(|(_, n)| *n == target) {
            names.insert(0, (key(&String::from_utf8_lossy(&target)), target));
        }
    }
    Ok(names)
}

/// `bytes` as a `printf` format that prints exactly them: every byte but a few plain ones as
/// `\ooo`, so any name (newlines, quotes, `%`, non-UTF-8) survives as a quoted ASCII value.
/// In a script: `"$(printf {}; echo x)"` (the `x` keeps trailing newlines; the `.sh` functions
/// take it off), or `printf {}` into a file.
pub(crate) fn printf_format(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"./_-+,=:@".contains(b) {
            out.push(char::from(*b));
        } else {
            out.push_str(&format!("\\{b:03o}"));
        }
    }
    out
}

/// The name tar gave a manifest path (`./` first; the scope itself is `./`).
fn archive_name(path: &str) -> String {
    if path == "." {
        "./".to_owned()
    } else {
        format!("./{path}")
    }
}

/// `names` as one `printf` format: each name NUL-terminated (one builtin call per list, not
/// one per name).
fn name_list(names: &[&[u8]]) -> String {
    let mut format = String::new();
    for name in names {
        format.push_str(&printf_format(name));
        format.push_str("\\000");
    }
    format
}

/// The topmost of the added entries (everything under an added directory is added too).
fn topmost(plan: &Plan) -> Vec<&[u8]> {
    let added: BTreeSet<&str> = plan.added.iter().map(|c| c.path.as_str()).collect();
    let mut names = Vec::new();
    let removals = plan
        .added
        .iter()
        .chain(plan.changed.iter().filter(|c| c.what.contains(&"kind")));
    for change in removals {
        let under_added = change
            .path
            .match_indices('/')
            .any(|(at, _)| added.contains(&change.path[..at]));
        if !under_added && let Some(name) = &change.host_name {
            names.push(name.as_slice());
        }
    }
    names
}

/// Restore `plan`'s entries in `scope` from `source`; `keep` is the grant's own ACL, put back
/// on what is rewritten while the grant is live.
pub async fn restore_files(
    session: &Session,
    manifest: &Manifest,
    plan: &Plan,
    source: &Source,
    keep: &Keep,
    progress: &Progress,
) -> Result<Plan, RestoreError> {
    let scope = manifest.backup.scope.as_str();
    let wanted = plan.to_extract();
    // Every entry (an emptied scope): the whole archive, without a list to match each
    // entry against (tar's matching costs a second per 20,000 names), nor a pass over the
    // archive for its names unless the grant's own ACL goes back on each.
    // (The scope itself comes out of the archive as it is there, which is as it is now when
    // the plan leaves it out.)
    let scope_unchanged = !wanted.contains(".");
    let everything = wanted.len() + usize::from(scope_unchanged) == manifest.entries.len();
    let names_needed = !wanted.is_empty() && (!everything || keep.account.is_some());
    let names = match source {
        Source::Local(path) if names_needed => archive_names(path, &wanted)?,
        // The host's tar matches the manifest's names.
        _ => wanted
            .iter()
            .map(|p| (p.clone(), archive_name(p).into_bytes()))
            .collect(),
    };
    let mut script = Script::new();
    script.raw(LIB);
    script.cmd("cd -- {} || exit 2", &[scope]);
    script.raw("hv_list=$(mktemp) || exit 2");
    script.raw("trap 'rm -f \"$hv_list\"' EXIT");
    for name in topmost(plan) {
        script.cmd(
            "hv_remove \"$(printf {}; echo x)\"",
            &[&printf_format(name)],
        );
    }
    if everything {
        script.raw("hv_from=-");
    } else {
        let all: Vec<&[u8]> = names.iter().map(|(_, n)| n.as_slice()).collect();
        script.cmd_unlogged(
            "printf {} >\"$hv_list\"",
            &[&name_list(&all)],
            &format!("{} names into the list to extract", all.len()),
        );
        script.raw("hv_from=$hv_list");
    }
    let extract = !names.is_empty();
    if extract {
        match source {
            Source::Local(_) => script.raw("hv_extract_stdin \"$hv_from\""),
            Source::OnHost(path) => script.cmd("hv_extract_file \"$hv_from\" {}", &[path]),
        };
    }
    // While the grant is live, its own ACL entry goes back on what was rewritten (tar set
    // each entry's ACL as the archive has it).
    if let Some(account) = &keep.account {
        let kinds: BTreeMap<String, &str> = manifest
            .entries
            .iter()
            .map(|e| (key(&e.path), e.kind.as_str()))
            .collect();
        // Extracted whole, the scope itself lost the grant's entry too.
        let scope = (everything && scope_unchanged).then(|| (".".to_owned(), b"./".to_vec()));
        let rewritten = names
            .iter()
            .chain(&scope)
            .filter_map(|(path, name)| kinds.get(path).map(|kind| (printf_format(name), *kind)));
        keep_acl(
            &mut script,
            keep_lists(rewritten),
            account,
            &keep.permissions,
        );
    }
    script.raw("echo hv-restored");
    let host = session.target().host.clone();
    let output = match source {
        Source::Local(path) if extract => {
            let transfer = progress.transfer(
                &format!("restoring {scope} from {}", path.display()),
                Some(manifest.backup.stream_bytes),
            );
            let mut input = Counted {
                inner: tar_stream(path)?,
                bytes: 0,
                error: None,
                transfer: &transfer,
            };
            let output = session.run_feed(&script, &mut input, |_| {}).await?;
            let error = input.error.take();
            transfer.finish();
            if let Some(source) = error {
                return Err(RestoreError::Read {
                    path: path.clone(),
                    source,
                });
            }
            output
        }
        _ => {
            progress.say(format!("restoring {scope}"));
            session
                .run_feed(&script, &mut std::io::empty(), |_| {})
                .await?
        }
    };
    check_done(&output, &host, format!("restoring {scope}"), "hv-restored")?;
    progress.say(format!("verifying {scope} against the backup"));
    Ok(super::plan(
        manifest,
        &super::listing(session, scope).await?,
        keep,
    ))
}

/// An execution that did not end with `done` printed: the step failed on the host.
fn check_done(
    output: &crate::ssh::Output,
    host: &str,
    step: String,
    done: &str,
) -> Result<(), RestoreError> {
    if output.exit_status == Some(0) && output.lines.iter().any(|l| l == done) {
        return Ok(());
    }
    Err(RestoreError::Remote {
        host: host.to_owned(),
        step,
        status: output
            .exit_status
            .map_or_else(|| "none".to_owned(), |s| s.to_string()),
        stderr: remote_stderr(&output.stderr),
    })
}

/// Name lists, each as one `printf` format of NUL-terminated names, with their counts.
type Lists = BTreeMap<String, (usize, String)>;

fn add_to(lists: &mut Lists, list: String, name: &str) {
    let (count, format) = lists.entry(list).or_default();
    *count += 1;
    format.push_str(name);
    format.push_str("\\000");
}

/// The grant's own ACL lists (`keep.file`, `keep.dir`) for entries given as (printf format,
/// kind); symlinks have no ACL.
fn keep_lists<'a>(entries: impl Iterator<Item = (String, &'a str)>) -> Lists {
    let mut lists = Lists::new();
    for (name, kind) in entries {
        match kind {
            "symlink" => {}
            "dir" => add_to(&mut lists, "keep.dir".to_owned(), &name),
            _ => add_to(&mut lists, "keep.file".to_owned(), &name),
        }
    }
    lists
}

/// The grant's own ACL entry back on the entries in `lists` (written into a private
/// directory, one `xargs` per list: a command per entry costs a process each).
fn keep_acl(script: &mut Script, lists: Lists, account: &str, permissions: &str) {
    script.raw("hv_keep=$(mktemp -d) || exit 2");
    script.raw("trap 'rm -rf \"$hv_list\" \"$hv_keep\"' EXIT");
    for (list, (count, format)) in &lists {
        script.cmd_unlogged(
            "printf {} >\"$hv_keep/\"{}",
            &[format, list],
            &format!("{count} names into the list {list}"),
        );
    }
    script.cmd("hv_keep_acl \"$hv_keep\" {} {}", &[account, permissions]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_formats_print_any_name_back() {
        let name = b"./a b\n-c'%\\\xff\n";
        let sh = |script: &str| {
            std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(script)
                .output()
                .expect("sh runs")
                .stdout
        };
        assert_eq!(sh(&format!("printf '{}'", printf_format(name))), name);
        let script = format!(
            "v=\"$(printf '{}'; echo x)\"; printf %s \"${{v%x}}\"",
            printf_format(name)
        );
        assert_eq!(sh(&script), name);
    }
}
