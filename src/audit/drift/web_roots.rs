//! The web servers' other document roots and aliases, watched like the scope for new files a
//! web server would run (a web shell, an `.htaccess`), and those are persistence drift: unlike
//! the scope, where support works, nobody should be adding programs there.

use super::files::{describe_new, state_changes};
use super::{Change, Footprint, Report, delta};
use crate::audit::classify::server_executes;
use crate::audit::surface::{FileState, Surface, kind};
use std::collections::BTreeMap;

/// How many new files a new web root's item names.
const LISTED: usize = 5;

/// `web|cgi SOURCES` -> what the report says of the root: where it is configured (the first
/// source, and how many more), and for a ScriptAlias directory that every file there runs.
fn describe_root(value: &str) -> String {
    let (root_kind, sources) = value.split_once(' ').unwrap_or((value, ""));
    let mut sources = sources.split("; ").filter(|s| !s.is_empty());
    let mut text = sources.next().unwrap_or("").to_owned();
    let more = sources.count();
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    if root_kind == "cgi" {
        text.push_str(": every file there runs");
    }
    text
}

fn under(path: &str, root: &str) -> bool {
    path.strip_prefix(root)
        .is_some_and(|rest| rest.starts_with('/'))
}

impl Report {
    pub(super) fn web_roots(&mut self, before: &Surface, now: &Surface, own: &Footprint) {
        let (roots_b, roots_a) = (before.kind(kind::WEB_ROOT), now.kind(kind::WEB_ROOT));
        let mut in_new_roots: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (path, b, a) in delta(before.kind(kind::WEB_FILE), now.kind(kind::WEB_FILE)) {
            if own.owns_path(path) {
                continue;
            }
            // A file removed is no back-door.
            let Some(a) = a.and_then(FileState::parse) else {
                continue;
            };
            let roots: Vec<(&String, &String)> = roots_a
                .iter()
                .filter(|(root, _)| under(path, root))
                .collect();
            // The deepest root holding it names it; a file of no root any more (its
            // configuration changed, which the report names) is left.
            let Some((root, value)) = roots.iter().max_by_key(|(root, _)| root.len()) else {
                continue;
            };
            let every_file_runs = roots.iter().any(|(_, v)| v.starts_with("cgi "));
            if !every_file_runs && !server_executes(path) {
                continue;
            }
            if !roots_b.contains_key(*root) {
                in_new_roots.entry(root.as_str()).or_default().push(path);
                continue;
            }
            let source = describe_root(value);
            match b.and_then(FileState::parse) {
                None => self.push(
                    "web roots",
                    path,
                    Change::Added,
                    format!(
                        "new file a web server would run in web root {root} ({source}): {path} ({})",
                        describe_new(&a)
                    ),
                ),
                Some(b) => {
                    let changes = state_changes(&b, &a, false);
                    if !changes.is_empty() {
                        self.push(
                            "web roots",
                            path,
                            Change::Changed,
                            format!(
                                "file a web server would run in web root {root} ({source}) changed: {path} ({})",
                                changes.join(", ")
                            ),
                        );
                    }
                }
            }
        }
        for (root, files) in in_new_roots {
            let mut listed = files
                .iter()
                .take(LISTED)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            if files.len() > LISTED {
                listed.push_str(&format!(", and {} more", files.len() - LISTED));
            }
            let count = files.len();
            let noun = if count == 1 { "file" } else { "files" };
            self.push(
                "web roots",
                root,
                Change::Added,
                format!(
                    "new web root {root} ({}) with {count} {noun} a web server would run: {listed}",
                    describe_root(&roots_a[root])
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::audit::drift::{Footprint, compare};
    use crate::audit::surface::{Surface, kind};

    fn surface(roots: &[(&str, &str)], files: &[(&str, &str)]) -> Surface {
        let mut s = Surface::default();
        for (item_kind, items) in [(kind::WEB_ROOT, roots), (kind::WEB_FILE, files)] {
            for (key, value) in items {
                s.items
                    .entry(item_kind.to_owned())
                    .or_default()
                    .insert((*key).to_owned(), (*value).to_owned());
            }
        }
        s
    }

    const OTHER: (&str, &str) = (
        "/srv/other",
        "web DocumentRoot in /etc/apache2/sites-available/other.conf",
    );
    const SITE2: (&str, &str) = (
        "/srv/site2",
        "web root in /etc/nginx/sites-enabled/site2; AliasMatch in /etc/apache2/sites-available/other.conf",
    );
    const CGI: (&str, &str) = (
        "/usr/lib/cgi-bin",
        "cgi ScriptAlias in /etc/apache2/conf-available/serve-cgi-bin.conf",
    );

    #[test]
    fn new_and_changed_files_a_web_server_runs_are_named_with_their_root() {
        let before = surface(
            &[OTHER, SITE2, CGI],
            &[("/srv/other/index.php", "f 644 33:33 10 inode:1 ctime:1.5")],
        );
        let after = surface(
            &[OTHER, SITE2, CGI],
            &[
                ("/srv/other/index.php", "f 644 33:33 12 inode:1 ctime:9.5"),
                ("/srv/other/shell.php", "f 644 0:0 30 inode:2 ctime:9.5"),
                (
                    "/srv/site2/uploads/up.PHP.jpg",
                    "f 666 1003:1003 5 inode:3 ctime:9.5",
                ),
                ("/usr/lib/cgi-bin/tool", "f 755 0:0 5 inode:4 ctime:9.5"),
                // Not what a web server runs, under a plain root: not drift (the collector
                // does not record such files; a stray one is ignored).
                (
                    "/srv/site2/uploads/notes.txt",
                    "f 644 0:0 5 inode:5 ctime:9.5",
                ),
            ],
        );
        let drift = compare(&before, &after, &Footprint::default());
        let items = drift.triples();
        assert_eq!(
            items,
            [
                (
                    "web roots",
                    "/srv/other/index.php",
                    "file a web server would run in web root /srv/other (DocumentRoot in /etc/apache2/sites-available/other.conf) changed: /srv/other/index.php (replaced or modified: new inode or change time, 10 → 12 bytes)"
                ),
                (
                    "web roots",
                    "/srv/other/shell.php",
                    "new file a web server would run in web root /srv/other (DocumentRoot in /etc/apache2/sites-available/other.conf): /srv/other/shell.php (mode 644, owner root)"
                ),
                (
                    "web roots",
                    "/srv/site2/uploads/up.PHP.jpg",
                    "new file a web server would run in web root /srv/site2 (root in /etc/nginx/sites-enabled/site2 and 1 more): /srv/site2/uploads/up.PHP.jpg (mode 666, owner uid:gid 1003:1003)"
                ),
                (
                    "web roots",
                    "/usr/lib/cgi-bin/tool",
                    "new file a web server would run in web root /usr/lib/cgi-bin (ScriptAlias in /etc/apache2/conf-available/serve-cgi-bin.conf: every file there runs): /usr/lib/cgi-bin/tool (mode 755, owner root)"
                ),
            ]
        );
        // Removed files are no back-door.
        let without = surface(&[OTHER, SITE2, CGI], &[]);
        assert!(!compare(&after, &without, &Footprint::default()).found());
    }

    #[test]
    fn a_new_root_is_one_item_listing_its_files() {
        let before = surface(&[OTHER], &[]);
        let files: Vec<(String, &str)> = (1..=7)
            .map(|i| (format!("/srv/new/{i}.php"), "f 644 0:0 1 inode:1 ctime:1.5"))
            .collect();
        let files: Vec<(&str, &str)> = files.iter().map(|(p, s)| (p.as_str(), *s)).collect();
        let after = surface(
            &[
                OTHER,
                ("/srv/new", "web root in /etc/nginx/conf.d/new.conf"),
            ],
            &files,
        );
        let drift = compare(&before, &after, &Footprint::default());
        assert_eq!(drift.persistence.len(), 1, "{:#?}", drift.persistence);
        assert_eq!(drift.persistence[0].path, "/srv/new");
        assert_eq!(
            drift.persistence[0].text,
            "new web root /srv/new (root in /etc/nginx/conf.d/new.conf) with 7 files a web server would run: /srv/new/1.php, /srv/new/2.php, /srv/new/3.php, /srv/new/4.php, /srv/new/5.php, and 2 more"
        );
    }
}
