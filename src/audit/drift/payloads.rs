//! What the hooks run: the programs and scripts that files on the persistence surface which run
//! something (systemd units, cron lines, autostart entries, PAM's `pam_exec.so`, udev rules,
//! scripts, git hooks and config entries, …) name by their absolute paths. A new or changed
//! hook's line names them with their digests; one rewritten (or put in place) while the hook
//! that runs it stayed the same is drift of its own.

use super::{Change, Footprint, Report, delta};
use crate::audit::classify::classify;
use crate::audit::surface::{Surface, kind};
use std::collections::BTreeMap;

/// The payloads `hook` names in `now`: `runs PATH sha256:HEX, …`, or `None`.
pub(super) fn runs(now: &Surface, hook: &str) -> Option<String> {
    runs_where(now, hook, |_| true)
}

/// Those payloads of `hook` (a git configuration file) that `value` (one of its entries) names.
pub(super) fn runs_in(now: &Surface, hook: &str, value: &str) -> Option<String> {
    runs_where(now, hook, |path| names(value, path))
}

fn runs_where(now: &Surface, hook: &str, keep: impl Fn(&str) -> bool) -> Option<String> {
    let prefix = format!("{hook}\t");
    let list: Vec<String> = now
        .kind(kind::PAYLOAD)
        .range(prefix.clone()..)
        .take_while(|(key, _)| key.starts_with(&prefix))
        .filter_map(|(key, digest)| {
            let path = &key[prefix.len()..];
            keep(path).then(|| format!("{path} {digest}"))
        })
        .collect();
    (!list.is_empty()).then(|| format!("runs {}", list.join(", ")))
}

/// Whether `text` names `path` as a word of its own (not `/tmp/x.sh` in `/tmp/x.sh.bak`), as
/// the collector reads paths.
fn names(text: &str, path: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || "._/@+-".contains(c);
    text.match_indices(path).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(word)
            && !text[at + path.len()..].chars().next().is_some_and(word)
    })
}

/// Whether the item that records `hook` differs: the file, its git hook entries, or the entries
/// of the git configuration file it is.
fn hook_changed(before: &Surface, now: &Surface, hook: &str) -> bool {
    let file = |s: &Surface| s.kind(kind::FILE).get(hook).cloned();
    let git = |s: &Surface| {
        let hooks = s.kind(kind::GIT_HOOK).iter().filter(|(key, _)| {
            key.split_once('\t')
                .is_some_and(|(config, path)| path == hook || config == hook)
        });
        let entries = s.kind(kind::GIT_CONFIG).iter().filter(|(key, _)| {
            key.split_once('\t')
                .is_some_and(|(config, _)| config == hook)
        });
        hooks
            .chain(entries)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect::<Vec<_>>()
    };
    file(before) != file(now) || git(before) != git(now)
}

/// Whether `path` is itself on the surface and changed: its own line says so.
fn reported_elsewhere(before: &Surface, now: &Surface, path: &str) -> bool {
    let file = |s: &Surface| s.kind(kind::FILE).get(path).cloned();
    let hook = |s: &Surface| {
        s.kind(kind::GIT_HOOK)
            .iter()
            .filter(|(key, _)| key.split_once('\t').is_some_and(|(_, p)| p == path))
            .map(|(_, state)| state.clone())
            .collect::<Vec<_>>()
    };
    file(before) != file(now) || hook(before) != hook(now)
}

/// The category of what `hook` is: `git` for a git hook or configuration, else its file's.
fn category(now: &Surface, hook: &str) -> &'static str {
    let git = now.kind(kind::GIT_HOOK).keys().any(|key| {
        key.split_once('\t')
            .is_some_and(|(config, path)| path == hook || config == hook)
    }) || now.kind(kind::GIT_CONFIG).keys().any(|key| {
        key.split_once('\t')
            .is_some_and(|(config, _)| config == hook)
    });
    if git { "git" } else { classify(hook).0 }
}

impl Report {
    /// Payloads rewritten, or put in place, while every hook that runs them stayed the same (a
    /// changed or new hook's own line names its payloads). A payload gone runs nothing: not
    /// reported.
    pub(super) fn payloads(&mut self, before: &Surface, now: &Surface, own: &Footprint) {
        // Payload path -> (the hooks that run it, changed rather than new, digest now).
        let mut by_path: BTreeMap<&str, (Vec<&str>, bool, &str)> = BTreeMap::new();
        for (key, b, a) in delta(before.kind(kind::PAYLOAD), now.kind(kind::PAYLOAD)) {
            let (Some((hook, path)), Some(digest)) = (key.split_once('\t'), a) else {
                continue;
            };
            if own.owns_path(hook)
                || own.owns_path(path)
                || hook_changed(before, now, hook)
                || reported_elsewhere(before, now, path)
            {
                continue;
            }
            let entry = by_path.entry(path).or_insert((Vec::new(), false, digest));
            entry.0.push(hook);
            entry.1 |= b.is_some();
        }
        for (path, (hooks, changed, digest)) in by_path {
            let category = category(now, hooks[0]);
            let hooks = hooks.join(", ");
            if changed {
                self.push(
                    category,
                    path,
                    Change::Changed,
                    format!("{path} (run by {hooks}) changed (now {digest})"),
                );
            } else {
                self.push(
                    category,
                    path,
                    Change::Added,
                    format!("{path} (run by {hooks}) appeared ({digest})"),
                );
            }
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

    fn texts(before: &Surface, after: &Surface) -> Vec<String> {
        compare(before, after, &Footprint::default())
            .persistence
            .iter()
            .map(|i| i.text.clone())
            .collect()
    }

    const CRON: (&str, &str, &str) = (kind::FILE, "/etc/cron.d/backup", "f 644 0:0 40 sha256:aa");

    #[test]
    fn a_new_hook_names_its_payloads() {
        let before = surface(&[]);
        let after = surface(&[
            CRON,
            (
                kind::PAYLOAD,
                "/etc/cron.d/backup\t/opt/tools/run.sh",
                "sha256:ab12",
            ),
            (
                kind::PAYLOAD,
                "/etc/cron.d/backup\t/opt/tools/other.sh",
                "sha256:cd34",
            ),
            (
                kind::FILE,
                "/etc/systemd/system/x.service",
                "f 644 0:0 40 sha256:bb",
            ),
            (
                kind::PAYLOAD,
                "/etc/systemd/system/x.service\t/usr/local/lib/x/y.sh",
                "sha256:ef56",
            ),
        ]);
        assert_eq!(
            texts(&before, &after),
            [
                "new cron file /etc/cron.d/backup (mode 644, owner root; runs /opt/tools/other.sh sha256:cd34, /opt/tools/run.sh sha256:ab12)",
                "new systemd unit /etc/systemd/system/x.service (mode 644, owner root; runs /usr/local/lib/x/y.sh sha256:ef56)",
            ]
        );
    }

    #[test]
    fn a_payload_rewritten_under_an_unchanged_hook_is_drift() {
        let payload = "/etc/cron.d/backup\t/opt/tools/run.sh";
        let before = surface(&[CRON, (kind::PAYLOAD, payload, "sha256:ab12")]);
        let after = surface(&[CRON, (kind::PAYLOAD, payload, "sha256:9999")]);
        let drift = compare(&before, &after, &Footprint::default());
        assert_eq!(
            drift.persistence[0].text,
            "/opt/tools/run.sh (run by /etc/cron.d/backup) changed (now sha256:9999)"
        );
        assert_eq!(drift.persistence[0].category, "cron");
        assert_eq!(drift.persistence[0].path, "/opt/tools/run.sh");
        assert_eq!(drift.persistence.len(), 1);
        // Put in place where the unchanged hook names it.
        let after = surface(&[
            CRON,
            (kind::PAYLOAD, payload, "sha256:ab12"),
            (
                kind::PAYLOAD,
                "/etc/cron.d/backup\t/opt/tools/new.sh",
                "sha256:77",
            ),
        ]);
        assert_eq!(
            texts(&before, &after),
            ["/opt/tools/new.sh (run by /etc/cron.d/backup) appeared (sha256:77)"]
        );
        // Gone: it runs nothing.
        assert!(texts(&before, &surface(&[CRON])).is_empty());
    }

    #[test]
    fn a_changed_hook_names_its_payloads_once() {
        let payload = "/etc/cron.d/backup\t/opt/tools/run.sh";
        let before = surface(&[CRON, (kind::PAYLOAD, payload, "sha256:ab12")]);
        let after = surface(&[
            (kind::FILE, "/etc/cron.d/backup", "f 644 0:0 41 sha256:a2"),
            (kind::PAYLOAD, payload, "sha256:9999"),
        ]);
        assert_eq!(
            texts(&before, &after),
            [
                "cron file /etc/cron.d/backup changed (content changed, 40 → 41 bytes; runs /opt/tools/run.sh sha256:9999)"
            ]
        );
    }

    #[test]
    fn a_payload_on_the_surface_itself_is_reported_once() {
        let payload = "/etc/cron.d/backup\t/usr/local/bin/tool";
        let before = surface(&[
            CRON,
            (kind::FILE, "/usr/local/bin/tool", "f 755 0:0 10 sha256:11"),
            (kind::PAYLOAD, payload, "sha256:11"),
        ]);
        let after = surface(&[
            CRON,
            (kind::FILE, "/usr/local/bin/tool", "f 755 0:0 12 sha256:22"),
            (kind::PAYLOAD, payload, "sha256:22"),
        ]);
        assert_eq!(
            texts(&before, &after),
            [
                "program in /usr/local/bin /usr/local/bin/tool changed (content changed, 10 → 12 bytes)"
            ]
        );
    }

    #[test]
    fn a_git_entry_names_only_the_payloads_its_value_names() {
        let config = "/srv/app/.git/config";
        assert!(names("/tmp/x.sh --flag", "/tmp/x.sh"));
        assert!(names("!sh -c '/tmp/x.sh'", "/tmp/x.sh"));
        assert!(!names("/tmp/x.sh.bak", "/tmp/x.sh"));
        assert!(!names("/a/tmp/x.sh", "/tmp/x.sh"));
        let now = surface(&[
            (kind::PAYLOAD, &format!("{config}\t/tmp/x.sh"), "sha256:aa"),
            (kind::PAYLOAD, &format!("{config}\t/tmp/y.sh"), "sha256:bb"),
        ]);
        assert_eq!(
            runs_in(&now, config, "/tmp/x.sh").as_deref(),
            Some("runs /tmp/x.sh sha256:aa")
        );
        assert_eq!(runs_in(&now, config, "less"), None);
        assert_eq!(
            runs(&now, config).as_deref(),
            Some("runs /tmp/x.sh sha256:aa, /tmp/y.sh sha256:bb")
        );
    }
}
