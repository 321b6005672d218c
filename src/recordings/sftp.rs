//! What an sftp session did to files, from sftp-server's own log: with `-e -l INFO` it logs
//! each file operation to stderr, which sudo records (the lines are OpenSSH's `sftp-server.c`
//! `logit()` calls). sftp-server logs an operation before doing it, and a failure right after
//! as `sent status REASON`, so a failed operation is reported as one.

use std::collections::HashMap;

/// A file operation, by the path(s) it was asked for.
enum Operation {
    /// A file opened for writing, then closed after `bytes` were written.
    Upload {
        path: String,
        bytes: u64,
    },
    /// A file opened for reading, then closed after `bytes` were read.
    Download {
        path: String,
        bytes: u64,
    },
    Rename {
        from: String,
        to: String,
    },
    Remove(String),
    MakeDirectory(String),
    RemoveDirectory(String),
    /// Size, mode, times or owner changed (`setstat`).
    SetAttributes(String),
    /// A symbolic link `link` pointing to `target`.
    Symlink {
        target: String,
        link: String,
    },
    HardLink {
        target: String,
        link: String,
    },
}

impl Operation {
    /// `done` is the past tense, `verb` the infinitive for "failed to …".
    fn describe(&self, failure: Option<&str>) -> String {
        let (done, verb, what) = match self {
            Operation::Upload { path, .. } => ("uploaded", "upload", path.clone()),
            Operation::Download { path, .. } => ("downloaded", "download", path.clone()),
            Operation::Rename { from, to } => ("renamed", "rename", format!("{from} → {to}")),
            Operation::Remove(path) => ("removed", "remove", path.clone()),
            Operation::MakeDirectory(path) => ("made directory", "make directory", path.clone()),
            Operation::RemoveDirectory(path) => {
                ("removed directory", "remove directory", path.clone())
            }
            Operation::SetAttributes(path) => (
                "changed attributes of",
                "change attributes of",
                path.clone(),
            ),
            Operation::Symlink { target, link } => {
                ("made symlink", "make symlink", format!("{link} → {target}"))
            }
            Operation::HardLink { target, link } => (
                "made hard link",
                "make hard link",
                format!("{link} → {target}"),
            ),
        };
        match (failure, self) {
            (Some(reason), _) => format!("failed to {verb} {what}: {reason}"),
            (None, Operation::Upload { bytes, .. } | Operation::Download { bytes, .. }) => {
                format!("{done} {what} ({bytes} bytes)")
            }
            (None, _) => format!("{done} {what}"),
        }
    }
}

/// What the line before a `sent status` line was, to tell which operation failed.
enum Previous {
    Other,
    /// An operation now last in the list.
    Operation,
    /// An `open` (its transfer is only listed at `close`).
    Open {
        path: String,
        writing: bool,
    },
}

/// One line per file operation in the sftp-server log `log`, in order.
pub(super) fn file_operations(log: &str) -> Vec<String> {
    let mut done: Vec<(Operation, Option<String>)> = Vec::new();
    // Whether each open file was opened for writing, by path.
    let mut open: HashMap<String, bool> = HashMap::new();
    let mut previous = Previous::Other;
    // sftp-server ends its stderr lines with `\r\n`.
    for line in log.lines().map(|line| line.trim_end_matches('\r')) {
        if let Some(reason) = line.strip_prefix("sent status ") {
            if reason != "Success" && reason != "End of file" {
                match std::mem::replace(&mut previous, Previous::Other) {
                    Previous::Operation => {
                        if let Some((_, failure)) = done.last_mut() {
                            *failure = Some(reason.to_string());
                        }
                    }
                    Previous::Open { path, writing } => {
                        open.remove(&path);
                        done.push((transfer(path, writing, 0), Some(reason.to_string())));
                    }
                    Previous::Other => {}
                }
            }
            continue;
        }
        previous = Previous::Other;
        if let Some((path, flags)) = line
            .strip_prefix("open ")
            .and_then(|r| quoted(r, " flags "))
        {
            let writing = flags.split([',', ' ']).any(|flag| flag == "WRITE");
            open.insert(path.clone(), writing);
            previous = Previous::Open { path, writing };
        } else if let Some(operation) = parse_operation(line, &mut open) {
            // `put -p` sets the mode and the times in two requests: one line says it.
            if let (Operation::SetAttributes(path), Some((Operation::SetAttributes(last), None))) =
                (&operation, done.last())
                && path == last
            {
                continue;
            }
            done.push((operation, None));
            previous = Previous::Operation;
        }
    }
    done.iter()
        .map(|(operation, failure)| operation.describe(failure.as_deref()))
        .collect()
}

/// The operation a log line records, if any; `close` lines use and forget `open`'s record.
fn parse_operation(line: &str, open: &mut HashMap<String, bool>) -> Option<Operation> {
    // At exit sftp-server closes what the client left open: `forced close …`.
    let line = line.strip_prefix("forced ").unwrap_or(line);
    let (verb, rest) = line.split_once(' ')?;
    let operation = match verb {
        "close" => {
            let (path, counts) = quoted(rest, " bytes read ")?;
            let (read, written) = counts.split_once(" written ")?;
            let (read, written) = (read.parse().ok()?, written.parse().ok()?);
            // Without the `open` line (a log level above INFO), bytes written tell.
            let writing = open.remove(&path).unwrap_or(written > 0);
            transfer(path, writing, if writing { written } else { read })
        }
        "rename" | "posix-rename" => {
            let (from, to) = pair(rest)?;
            Operation::Rename { from, to }
        }
        "symlink" => {
            let (target, link) = pair(rest)?;
            Operation::Symlink { target, link }
        }
        "hardlink" => {
            let (target, link) = pair(rest)?;
            Operation::HardLink { target, link }
        }
        "remove" => Operation::Remove(name(rest)?),
        "rmdir" => Operation::RemoveDirectory(name(rest)?),
        "mkdir" => Operation::MakeDirectory(quoted(rest.strip_prefix("name ")?, " mode ")?.0),
        "set" => Operation::SetAttributes(quoted(rest, " ")?.0),
        _ => return None,
    };
    Some(operation)
}

fn transfer(path: String, writing: bool, bytes: u64) -> Operation {
    if writing {
        Operation::Upload { path, bytes }
    } else {
        Operation::Download { path, bytes }
    }
}

/// `"PATH"SEPARATOR…` → (PATH, …). sftp-server does not escape quotes in paths, so the path
/// ends at the last `"` followed by the separator.
fn quoted(text: &str, separator: &str) -> Option<(String, String)> {
    let text = text.strip_prefix('"')?;
    let (path, rest) = text.rsplit_once(&format!("\"{separator}"))?;
    Some((path.to_string(), rest.to_string()))
}

/// `name "PATH"` → PATH.
fn name(text: &str) -> Option<String> {
    let path = text.strip_prefix("name \"")?.strip_suffix('"')?;
    Some(path.to_string())
}

/// `old "A" new "B"` → (A, B).
fn pair(text: &str) -> Option<(String, String)> {
    let inner = text.strip_prefix("old \"")?.strip_suffix('"')?;
    let (old, new) = inner.split_once("\" new \"")?;
    Some((old.to_string(), new.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_log_gives_upload_download_rename_and_remove() {
        let log = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/recordings/testdata/sample/io/00/00/04/stderr"
        ))
        .unwrap();
        assert_eq!(
            file_operations(&log),
            [
                "uploaded /home/vend/up.txt (7 bytes)",
                "downloaded /home/vend/up.txt (7 bytes)",
                "renamed /home/vend/up.txt → /home/vend/up2.txt",
                "removed /home/vend/up2.txt",
            ]
        );
    }

    #[test]
    fn every_logged_operation_is_described() {
        let log = "\
session opened for local user vend from [10.0.0.1]
opendir \"/home/vend\"
closedir \"/home/vend\"
open \"/home/vend/empty\" flags WRITE,CREATE,TRUNCATE mode 0644
close \"/home/vend/empty\" bytes read 0 written 0
set \"/home/vend/empty\" mode 0644
set \"/home/vend/empty\" modtime 20261204-23:00:00
rename old \"/a b\" new \"/c\"
mkdir name \"/d\" mode 0755
rmdir name \"/d\"
symlink old \"/target\" new \"/link\"
hardlink old \"/target\" new \"/hard\"
statvfs \"/\"
open \"/big\" flags READ mode 0666
forced close \"/big\" bytes read 10 written 0
session closed for local user vend from [10.0.0.1]
";
        assert_eq!(
            file_operations(log),
            [
                "uploaded /home/vend/empty (0 bytes)",
                "changed attributes of /home/vend/empty",
                "renamed /a b → /c",
                "made directory /d",
                "removed directory /d",
                "made symlink /link → /target",
                "made hard link /hard → /target",
                "downloaded /big (10 bytes)",
            ]
        );
    }

    #[test]
    fn a_failed_operation_says_so() {
        let log = "\
sent status No such file
remove name \"/etc/passwd\"
sent status Permission denied
open \"/etc/shadow\" flags READ mode 0666
sent status Permission denied
open \"/root/x\" flags WRITE,CREATE mode 0644
sent status Permission denied
";
        assert_eq!(
            file_operations(log),
            [
                "failed to remove /etc/passwd: Permission denied",
                "failed to download /etc/shadow: Permission denied",
                "failed to upload /root/x: Permission denied",
            ]
        );
    }

    #[test]
    fn odd_lines_are_skipped_without_panicking() {
        let log = "close\nclose \"x\nclose \"x\" bytes read a written b\nrename old \"a\"\n\
                   set\nset \"\nmkdir name \"x\"\nremove name x\n\u{0}\n";
        assert!(file_operations(log).is_empty());
    }
}
