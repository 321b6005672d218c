//! Quoting and the remote script builder.
//!
//! Every remote change is a POSIX `sh` script sent over the channel's stdin (never in argv, where
//! `/proc/*/cmdline` and sudo's log would show it). Scripts are built from `&'static str`
//! templates: program text can only come from this crate's source, and every value substituted
//! into a template goes through [`quote`]. That is the one quoting function (DESIGN invariant 1).

pub mod protocol;

use crate::secret::Secret;
use protocol::{PRELUDE, Tag};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// Quote `value` as one word for POSIX `sh`: single quotes, with embedded single quotes
/// written as `'\''`. Every byte other than `'` is literal inside single quotes, so the result
/// is one word whatever the value holds (newlines, `$`, backquotes, globs, leading `-`).
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Substitute each `{}` in `template` with the next value, quoted; `{{` and `}}` stand for
/// literal braces (as in `format!`, so `find … {{}} +` reads naturally).
///
/// Panics in debug builds when the counts differ: templates are compile-time text, so a
/// mismatch is a programming error caught by any test that builds the script.
fn fill(template: &'static str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 16 * args.len());
    let mut args = args.iter();
    let mut rest = template;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{{") {
            out.push('{');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("}}") {
            out.push('}');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("{}") {
            match args.next() {
                Some(value) => out.push_str(&quote(value)),
                None => debug_assert!(false, "template `{template}` has more {{}} than values"),
            }
            rest = after;
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
    }
    debug_assert!(
        args.next().is_none(),
        "template `{template}` has fewer {{}} than values"
    );
    out
}

/// Replace `{NAME}` with `values[NAME]` (`{{` and `}}` are literal braces). With `quote`,
/// each value is shell-quoted (for `shell` actions).
pub fn substitute(
    template: &str,
    values: &BTreeMap<String, String>,
    quote: bool,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push('}');
            rest = after;
        } else if let Some(inner) = tail.strip_prefix('{') {
            let end = inner
                .find('}')
                .ok_or_else(|| format!("unclosed `{{` in `{template}`"))?;
            let name = &inner[..end];
            let value = values
                .get(name)
                .ok_or_else(|| format!("`{{{name}}}` is not a declared parameter"))?;
            if quote {
                out.push_str(&self::quote(value));
            } else {
                out.push_str(value);
            }
            rest = &inner[end + 1..];
        } else {
            return Err(format!(
                "stray `}}` in `{template}` (write `}}}}` for a brace)"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// One here-document for [`Script::feed`]: what file descriptor reads it, and whether its
/// body is secret (redacted in logs).
pub struct HereDoc<'a> {
    pub fd: u8,
    pub body: &'a str,
    pub secret: bool,
}

impl<'a> HereDoc<'a> {
    /// Non-secret text on stdin (SQL that holds no password or hash).
    pub fn stdin(body: &'a str) -> Self {
        HereDoc {
            fd: 0,
            body,
            secret: false,
        }
    }

    /// A secret on file descriptor `fd`.
    pub fn secret(fd: u8, secret: &'a Secret) -> Self {
        HereDoc {
            fd,
            body: secret.expose(),
            secret: true,
        }
    }
}

/// How a script treats a failing step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnStepFailure {
    /// Stop the script (provision: the engine rolls back what was applied).
    Stop,
    /// Go on with the next step (teardown: remove as much as possible, then verify).
    Continue,
}

/// A remote `sh` script under construction.
///
/// The text may hold a secret (a password in a here-document); `log_text` is the same script
/// with secrets replaced, and is the only form that may be logged.
pub struct Script {
    text: Zeroizing<String>,
    log_text: String,
    tag: Tag,
}

impl Default for Script {
    fn default() -> Self {
        Self::new()
    }
}

impl Script {
    /// A script that starts with the protocol's prelude, under a new random tag.
    pub fn new() -> Self {
        let tag = Tag::new();
        let start = format!("hv_run={}\n{PRELUDE}", quote(tag.as_str()));
        Script {
            text: Zeroizing::new(start.clone()),
            log_text: start,
            tag,
        }
    }

    /// The tag of this script's protocol lines ([`protocol::Parsed`] reads them with it).
    pub fn tag(&self) -> &Tag {
        &self.tag
    }

    fn push(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
        self.log_text.push_str(line);
        self.log_text.push('\n');
    }

    /// Append a line: `template` with each `{}` replaced by the next value, quoted.
    pub fn cmd(&mut self, template: &'static str, args: &[&str]) -> &mut Self {
        let line = fill(template, args);
        self.push(&line);
        self
    }

    /// Like [`Script::cmd`] for a line too long to be worth logging (a restore's list of
    /// thousands of names): the log gets `summary` in its place.
    pub fn cmd_unlogged(
        &mut self,
        template: &'static str,
        args: &[&str],
        summary: &str,
    ) -> &mut Self {
        let line = fill(template, args);
        self.text.push_str(&line);
        self.text.push('\n');
        self.log_text.push_str(&format!("# {summary}\n"));
        self
    }

    /// Append literal program text.
    pub fn raw(&mut self, text: &'static str) -> &mut Self {
        self.push(text);
        self
    }

    /// Serialize with other handover runs on the same host (two grants provisioned at once,
    /// an expiry job): holds `/run/lock/handover.lock` until the script ends.
    pub fn lock_host(&mut self) -> &mut Self {
        self.raw(
            "mkdir -p /run/lock; exec 9>/run/lock/handover.lock; if ! flock -w 300 9; then echo 'another handover run on this host holds /run/lock/handover.lock' >&2; exit 1; fi",
        )
    }

    /// Append program text written by a playbook author (a `shell` action), whose values were
    /// already substituted quoted. It cannot hold secrets: secrets never reach playbooks.
    pub fn user_code(&mut self, code: &str) -> &mut Self {
        self.push(code);
        self
    }

    /// Append `template` (values quoted) reading `secret` on its stdin through a quoted
    /// here-document: the secret never reaches argv or the environment. The secret must not
    /// contain a newline; callers pass generated passwords and validated names only.
    pub fn with_secret_stdin(
        &mut self,
        template: &'static str,
        args: &[&str],
        secret_line: &Secret,
    ) -> &mut Self {
        const END: &str = "HANDOVER_SECRET_END";
        let line = fill(template, args);
        debug_assert!(!secret_line.expose().contains('\n'));
        self.text.push_str(&format!("{line} <<'{END}'\n"));
        self.text.push_str(secret_line.expose());
        self.text.push_str(&format!("\n{END}\n"));
        self.log_text
            .push_str(&format!("{line} <<'{END}'\n[redacted]\n{END}\n"));
        self
    }

    /// Append `template` (values quoted) fed by quoted here-documents, one per `(fd, body)`:
    /// `template FD<<'HANDOVER_DOC_FD' …`, the bodies following in order, then `after`
    /// (literal text, e.g. `)` closing a command substitution). Bodies are data, never
    /// expanded by the shell; a secret body (a password in an option file, SQL holding a
    /// password hash) is redacted in [`Script::log_text`]. Here-documents are pipes in `dash`:
    /// what they hold never reaches argv, the environment or a file.
    pub fn feed(
        &mut self,
        template: &'static str,
        args: &[&str],
        docs: &[HereDoc<'_>],
        after: &'static str,
    ) -> &mut Self {
        let mut line = fill(template, args);
        for doc in docs {
            let fd = if doc.fd == 0 {
                String::new()
            } else {
                doc.fd.to_string()
            };
            line.push_str(&format!(" {fd}<<'HANDOVER_DOC_{}'", doc.fd));
        }
        self.text.push_str(&line);
        self.text.push('\n');
        self.log_text.push_str(&line);
        self.log_text.push('\n');
        for doc in docs {
            let end = format!("HANDOVER_DOC_{}", doc.fd);
            let body = doc.body.strip_suffix('\n').unwrap_or(doc.body);
            debug_assert!(
                !body.lines().any(|l| l == end),
                "a body holds its delimiter"
            );
            self.text.push_str(body);
            self.text.push('\n');
            self.text.push_str(&end);
            self.text.push('\n');
            if doc.secret {
                self.log_text.push_str("[redacted]\n");
            } else {
                self.log_text.push_str(body);
                self.log_text.push('\n');
            }
            self.log_text.push_str(&end);
            self.log_text.push('\n');
        }
        if !after.is_empty() {
            self.push(after);
        }
        self
    }

    /// Run `body` as step `index`: its commands run under `set -e` in a subshell, and the step
    /// prints `step begin`, then `step done` or `step failed` with the exit status.
    pub fn step(
        &mut self,
        index: usize,
        on_failure: OnStepFailure,
        body: impl FnOnce(&mut Script),
    ) {
        let index = index.to_string();
        self.cmd("hv_step begin {}", &[&index]);
        self.raw("( set -e");
        body(self);
        self.raw(")");
        self.cmd(
            "hv_rc=$?; if [ \"$hv_rc\" -eq 0 ]; then hv_step 'done' {}; else hv_step 'failed' {} \"$hv_rc\";",
            &[&index, &index],
        );
        match on_failure {
            OnStepFailure::Stop => self.raw("exit 1; fi"),
            OnStepFailure::Continue => self.raw("fi"),
        };
    }

    /// Append the program text of `other`, a script built the same way (templates and quoted
    /// values), for instance to write it to a file on the host. Its prelude comes along, with
    /// its own tag: run it in a subshell, or this script's own lines take that tag too.
    pub fn append(&mut self, other: &Script) -> &mut Self {
        self.text.push_str(&other.text);
        self.log_text.push_str(&other.log_text);
        self
    }

    /// Whether the text holds a secret (a here-document from [`Script::with_secret_stdin`]).
    pub fn holds_secret(&self) -> bool {
        self.text.as_str() != self.log_text
    }

    /// The script to send: may contain secrets, never log it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The script with secrets redacted, for `-v` logs.
    pub fn log_text(&self) -> &str {
        &self.log_text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Run `sh -c 'printf %s QUOTED'` and return what the shell made of the quoted word.
    fn round_trip(value: &str) -> String {
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote(value)))
            .output()
            .expect("run /bin/sh");
        String::from_utf8(out.stdout).expect("utf-8")
    }

    #[test]
    fn quote_survives_a_real_shell() {
        for value in [
            "",
            "plain",
            "it's",
            "''",
            "a b\tc\nd",
            "$(id)`id`${HOME}",
            "-rf",
            "*?[a]",
            "\\'\\",
            "; rm -rf / #",
            "ünïcödé",
        ] {
            assert_eq!(round_trip(value), value, "value {value:?}");
        }
    }

    #[test]
    fn fill_quotes_every_value() {
        assert_eq!(fill("useradd -- {}", &["a b"]), "useradd -- 'a b'");
        assert_eq!(fill("x {} {}", &["1", "'"]), "x '1' ''\\'''");
    }

    #[test]
    fn fill_keeps_escaped_braces() {
        assert_eq!(
            fill("find {} -exec rm {{}} +", &["/a b"]),
            "find '/a b' -exec rm {} +"
        );
        assert_eq!(fill("awk '{{print}}'", &[]), "awk '{print}'");
    }

    #[test]
    fn secret_is_in_text_but_not_in_log_text() {
        let secret = Secret::new("hunter2hunter2".to_owned());
        let mut s = Script::new();
        s.with_secret_stdin("chpasswd", &[], &secret);
        assert!(s.text().contains("hunter2hunter2"));
        assert!(!s.log_text().contains("hunter2hunter2"));
        assert!(s.log_text().contains("[redacted]"));
        assert!(s.holds_secret());
        let mut outer = Script::new();
        outer.append(&s);
        assert!(outer.holds_secret() && !outer.log_text().contains("hunter2hunter2"));
        assert!(!Script::new().holds_secret());
    }

    #[test]
    fn feed_sends_bodies_on_their_descriptors_and_redacts_secrets() {
        let secret = Secret::new("hunter2 'quoted' $HOME".to_owned());
        let mut s = Script::new();
        s.feed(
            "hv_x=$(cat /dev/fd/3 -",
            &[],
            &[
                HereDoc::secret(3, &secret),
                HereDoc::stdin("SELECT 1;\n`id` $PATH"),
            ],
            ")",
        );
        s.raw("printf '%s\\n' \"$hv_x\"");
        assert!(!s.log_text().contains("hunter2"));
        assert!(s.log_text().contains("SELECT 1;"));
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(s.text())
            .output()
            .expect("run /bin/sh");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "hunter2 'quoted' $HOME\nSELECT 1;\n`id` $PATH\n"
        );
    }

    #[test]
    fn failing_step_stops_or_continues() {
        let mut s = Script::new();
        s.step(0, OnStepFailure::Continue, |s| {
            s.raw("false");
            s.raw("echo not-reached");
        });
        s.step(1, OnStepFailure::Stop, |s| {
            s.raw("true");
        });
        s.step(2, OnStepFailure::Stop, |s| {
            s.raw("exit 7");
        });
        s.raw("echo after");
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(s.text())
            .output()
            .expect("run /bin/sh");
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        let expected: String = [
            "step begin 0",
            "step failed 0 1",
            "step begin 1",
            "step done 1",
            "step begin 2",
            "step failed 2 7",
        ]
        .iter()
        .map(|line| format!("{} {line}\n", s.tag().as_str()))
        .collect();
        assert_eq!(stdout, expected);
        assert_eq!(out.status.code(), Some(1));
    }
}
