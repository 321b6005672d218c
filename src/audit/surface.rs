//! What the collector's lines describe: a [`Surface`], and the [`Baseline`] stored with a grant.

use super::AuditError;
use crate::ids::GrantId;
use crate::text::sanitize;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use time::OffsetDateTime;

/// Format version of the baseline file, raised whenever what the collector records changes:
/// a baseline of another version cannot be compared item by item (every newly covered file
/// would read as added), so the drift check says it could not be made instead. 2: the wider
/// surface (system executables, tmpfiles.d, Python hooks, …; subordinate ids per account).
/// 3: established connections, packages and their maintainer scripts, other web roots, git
/// repositories (hooks and config entries that run programs) and the payloads hooks name.
/// 4: a WordPress site's administrators, application passwords, plugins, themes, scheduled
/// events and site-opening options. 5: a multisite network's sites and super admins, and a
/// WordPress site's content (posts, pages, media).
pub const BASELINE_VERSION: u32 = 5;

/// The kinds of items in a [`Surface`], as stored.
pub mod kind {
    /// `SOURCE<TAB>ENTRY`: what the dynamic loader preloads, and where that is set.
    pub const PRELOAD: &str = "preload";
    /// Name -> `UID:GID:PASSWORD-FIELD:SHELL:HOME` (the field is `x`, `empty`, `locked`, `hash`).
    pub const ACCOUNT: &str = "account";
    /// Name -> `STATUS DIGEST -` for a passwd line holding a password itself.
    pub const PASSWD_HASH: &str = "passwd-hash";
    /// Name -> `STATUS DIGEST AGEING`: status `usable`, `empty`, `locked` or `none`, a salted
    /// digest of the whole shadow line (`-` without a hash), the ageing and expiry fields.
    pub const SHADOW: &str = "shadow";
    /// Name -> `GID:MEMBERS`.
    pub const GROUP: &str = "group";
    /// Like [`SHADOW`], for /etc/gshadow.
    pub const GSHADOW: &str = "gshadow";
    /// `FILE:NAME` (/etc/subuid or /etc/subgid) -> `START:COUNT[,START:COUNT…]`: the
    /// subordinate ids an account may map in a user namespace.
    pub const SUBID: &str = "subid";
    /// Path -> the file's state: `f MODE UID:GID SIZE sha256:HEX`, `l TARGET` or `d MODE UID:GID`.
    pub const FILE: &str = "file";
    /// `FILE<TAB>FINGERPRINT` -> `TYPE COMMENT`.
    pub const AUTHORIZED_KEY: &str = "authorized-key";
    /// A line of `sshd -T`.
    pub const SSHD: &str = "sshd";
    /// Path -> `MODE UID:GID SIZE SHA256`.
    pub const SETUID: &str = "setuid";
    /// A line of `getcap`.
    pub const CAPABILITY: &str = "capability";
    /// A loaded kernel module.
    pub const MODULE: &str = "module";
    /// `PROTO ADDRESS:PORT` -> program names.
    pub const LISTENING: &str = "listening";
    /// A firewall rule, without counters.
    pub const FIREWALL: &str = "firewall";
    /// `CONFIG<TAB>HOOK-PATH` -> the hook's state as for `file` items (a link followed: what git
    /// runs): a hook of a git repository, in its git directory's `hooks` (CONFIG is the
    /// repository's `config` there) or in the directory a `core.hooksPath` of CONFIG names.
    /// `*.sample` files are not hooks.
    pub const GIT_HOOK: &str = "git-hook";
    /// `CONFIG<TAB>KEY` -> the values (one per line, in the order set): an entry that runs a
    /// program (`core.fsmonitor`, `alias.x = !…`, filter and diff drivers, `include.path`, …) in
    /// a repository's `config` or a global git configuration file; KEY as git normalizes it
    /// (section and name lowercased, a subsection as written).
    pub const GIT_CONFIG: &str = "git-config";
    /// `HOOK<TAB>PATH` -> `sha256:HEX`: a program or script (PATH) that a file on the surface
    /// which runs something (HOOK: a unit's `Exec…=`, a cron line, a git hook or config entry,
    /// …) names by its absolute path.
    pub const PAYLOAD: &str = "payload";
    /// A running executable in a temporary directory, deleted, or in memory only.
    pub const PROCESS: &str = "process";
    /// `PROTO PEER-ADDRESS:PEER-PORT` -> program names (sorted, space-separated; empty when
    /// `ss` shows none): an established TCP connection or a UDP socket with a peer, but the
    /// clients of the host's own services (either end at a port the host listens on).
    pub const CONNECTION: &str = "connection";
    /// `NAME:ARCH` (dpkg) or `NAME.ARCH` (rpm) -> `VERSION STATUS`: a package whose files are
    /// on the disk (dpkg's status `installed`, or `unpacked`, `half-installed`, … midway).
    pub const PACKAGE: &str = "package";
    /// Path -> the state of a dpkg maintainer script (`/var/lib/dpkg/info/NAME.postinst`, …),
    /// as for `file` items, by inode and change time.
    pub const MAINTAINER_SCRIPT: &str = "maintainer-script";
    /// A web server's document root or alias (resolved) -> `web|cgi SOURCES`: `cgi` when
    /// every file there runs (ScriptAlias), the sources naming the directives and files.
    pub const WEB_ROOT: &str = "web-root";
    /// An item of a WordPress site in the scope, asked of WordPress: `admin LOGIN` -> roles,
    /// `app-password LOGIN UUID` -> name, `plugin FILE` -> `active`/`inactive`, `mu-plugin
    /// FILE`, `drop-in FILE`, `theme SLUG`, `cron HOOK` -> schedules, `option NAME` -> value;
    /// `error` -> what WordPress said when it did not answer.
    pub const WORDPRESS: &str = "wordpress";
    /// Path -> the state of a file under a [`WEB_ROOT`] a web server would run, as for `file`
    /// items, by inode and change time.
    pub const WEB_FILE: &str = "web-file";
}

/// One snapshot of the persistence surface: compact items (digests, modes, owners, listings),
/// never file contents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Surface {
    /// Items by kind (see the `kind` constants), then key.
    pub items: BTreeMap<String, BTreeMap<String, String>>,
    /// The CMS directory as resolved on the host, when one was hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Everything under the scope: path -> state as for `file` items, always with a digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cms: BTreeMap<String, String>,
}

static EMPTY: BTreeMap<String, String> = BTreeMap::new();

impl Surface {
    /// The items of one kind.
    pub fn kind(&self, kind: &str) -> &BTreeMap<String, String> {
        self.items.get(kind).unwrap_or(&EMPTY)
    }

    fn insert(&mut self, kind: &str, key: impl Into<String>, value: impl Into<String>) {
        self.items
            .entry(kind.to_owned())
            .or_default()
            .insert(key.into(), value.into());
    }

    /// How many items the surface holds, CMS entries included.
    pub fn len(&self) -> usize {
        self.items.values().map(BTreeMap::len).sum::<usize>() + self.cms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
impl Surface {
    /// A surface of `(kind, key, value)` items, for tests.
    pub(crate) fn of(items: &[(&str, &str, &str)]) -> Surface {
        let mut s = Surface::default();
        for (kind, key, value) in items {
            s.insert(kind, *key, *value);
        }
        s
    }
}

/// The state of one file, link or directory, as stored in a [`Surface`]:
/// `f MODE UID:GID SIZE sha256:HEX` (or `inode:I ctime:C` for a file too large to hash),
/// `l TARGET`, `d MODE UID:GID`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FileState {
    File {
        mode: u32,
        owner: String,
        size: u64,
        /// `sha256:HEX`, or `inode:I ctime:C` when the file was not hashed.
        content: String,
    },
    Link {
        target: String,
    },
    Dir {
        mode: u32,
        owner: String,
    },
}

impl FileState {
    pub(crate) fn parse(text: &str) -> Option<FileState> {
        let (kind, rest) = text.split_once(' ')?;
        match kind {
            "l" => Some(FileState::Link {
                target: rest.to_owned(),
            }),
            "d" => {
                let (mode, owner) = rest.split_once(' ')?;
                Some(FileState::Dir {
                    mode: u32::from_str_radix(mode, 8).ok()?,
                    owner: owner.to_owned(),
                })
            }
            "f" => {
                let mut parts = rest.splitn(4, ' ');
                let mode = u32::from_str_radix(parts.next()?, 8).ok()?;
                let owner = parts.next()?.to_owned();
                let size = parts.next()?.parse().ok()?;
                let content = parts.next()?.to_owned();
                Some(FileState::File {
                    mode,
                    owner,
                    size,
                    content,
                })
            }
            _ => None,
        }
    }

    fn text(&self) -> String {
        match self {
            FileState::File {
                mode,
                owner,
                size,
                content,
            } => format!("f {mode:o} {owner} {size} {content}"),
            FileState::Link { target } => format!("l {target}"),
            FileState::Dir { mode, owner } => format!("d {mode:o} {owner}"),
        }
    }
}

/// One `b m|cm` line: `TYPE MODE UID GID SIZE INODE CTIME PATH<TAB>LINK-TARGET`.
struct Meta {
    path: String,
    kind: char,
    mode: u32,
    owner: String,
    size: u64,
    inode: String,
    ctime: String,
    target: String,
}

impl Meta {
    fn parse(body: &str) -> Option<Meta> {
        let (left, target) = body.split_once('\t').unwrap_or((body, ""));
        let mut parts = left.splitn(8, ' ');
        let kind = parts.next()?.chars().next()?;
        let mode = u32::from_str_radix(parts.next()?, 8).ok()?;
        let uid = parts.next()?;
        let gid = parts.next()?;
        let size = parts.next()?.parse().ok()?;
        let inode = parts.next()?.to_owned();
        let ctime = parts.next()?.to_owned();
        let path = parts.next()?.to_owned();
        Some(Meta {
            path,
            kind,
            mode,
            owner: format!("{uid}:{gid}"),
            size,
            inode,
            ctime,
            target: target.to_owned(),
        })
    }

    fn state(self, hashes: &BTreeMap<String, String>) -> Option<(String, FileState)> {
        let state = match self.kind {
            'f' => FileState::File {
                mode: self.mode,
                owner: self.owner,
                size: self.size,
                content: match hashes.get(&self.path) {
                    Some(hash) => format!("sha256:{hash}"),
                    None => format!("inode:{} ctime:{}", self.inode, self.ctime),
                },
            },
            'l' => FileState::Link {
                target: self.target,
            },
            'd' => FileState::Dir {
                mode: self.mode,
                owner: self.owner,
            },
            _ => return None,
        };
        Some((self.path, state))
    }
}

/// `HASH  PATH` (sha256sum's output) -> (path, hash).
fn hash_line(body: &str) -> Option<(String, String)> {
    let hash = body.get(..64)?;
    let path = body.get(64..)?.strip_prefix("  ")?;
    hash.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| (path.to_owned(), hash.to_owned()))
}

/// Everything one run of the collector printed.
#[derive(Debug, Default)]
pub struct Collected {
    pub surface: Surface,
    /// Files of the removed account handed to root (teardown).
    pub reassigned: Vec<String>,
    /// How long the collector ran on the host, in milliseconds.
    pub remote_ms: Option<u64>,
    /// The collector printed its last line: nothing was cut off.
    pub complete: bool,
}

impl Collected {
    /// Read the collector's lines among a script's output: those starting with `tag` (from
    /// [`super::collect`]) and ` b `; other lines are the engine's.
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a String>, tag: &str) -> Collected {
        let mut collected = Collected::default();
        let surface = &mut collected.surface;
        let (mut metas, mut hashes, mut cms_metas, mut cms_hashes) =
            (Vec::new(), BTreeMap::new(), Vec::new(), BTreeMap::new());
        let mut setuid = Vec::new();
        let (mut git_metas, mut git_hashes, mut git_dirs) =
            (Vec::new(), BTreeMap::new(), Vec::new());
        let (mut script_metas, mut web_metas) = (Vec::new(), Vec::new());
        for line in lines {
            let Some(rest) = line.strip_prefix(tag).and_then(|l| l.strip_prefix(" b ")) else {
                continue;
            };
            // Host text: no control sequences survive into the baseline or the report.
            let rest = sanitize(rest);
            let (tag, body) = rest.split_once(' ').unwrap_or((rest.as_str(), ""));
            let tabbed = || body.split_once('\t').unwrap_or((body, ""));
            match tag {
                "preload" => {
                    let (source, entry) = tabbed();
                    surface.insert(kind::PRELOAD, format!("{source}\t{entry}"), "");
                }
                "acct" => surface.insert(kind::ACCOUNT, tabbed().0, tabbed().1),
                "pwhash" => surface.insert(kind::PASSWD_HASH, tabbed().0, tabbed().1),
                "shadow" => surface.insert(kind::SHADOW, tabbed().0, tabbed().1),
                "gshadow" => surface.insert(kind::GSHADOW, tabbed().0, tabbed().1),
                "grp" => surface.insert(kind::GROUP, tabbed().0, tabbed().1),
                "subid" => surface.insert(kind::SUBID, tabbed().0, tabbed().1),
                "m" => metas.extend(Meta::parse(body)),
                "h" => hashes.extend(hash_line(body)),
                "cm" => cms_metas.extend(Meta::parse(body)),
                "ch" => cms_hashes.extend(hash_line(body)),
                "akey" => {
                    let (left, value) = tabbed();
                    if let Some((fingerprint, file)) = left.split_once(' ') {
                        surface.insert(
                            kind::AUTHORIZED_KEY,
                            format!("{file}\t{fingerprint}"),
                            value,
                        );
                    }
                }
                "sshd" => surface.insert(kind::SSHD, body, ""),
                "suid" => {
                    let (path, value) = tabbed();
                    setuid.push((path.to_owned(), value.to_owned()));
                }
                "cap" => surface.insert(kind::CAPABILITY, body, ""),
                "mod" => surface.insert(kind::MODULE, body, ""),
                "listen" => surface.insert(kind::LISTENING, tabbed().0, tabbed().1),
                "fw" => surface.insert(kind::FIREWALL, body, ""),
                "proc" => surface.insert(kind::PROCESS, body, ""),
                "gcfg" => {
                    let (config, rest) = tabbed();
                    if let Some((key, value)) = rest.split_once('\t') {
                        let values = surface
                            .items
                            .entry(kind::GIT_CONFIG.to_owned())
                            .or_default()
                            .entry(format!("{config}\t{key}"))
                            .or_default();
                        if !values.is_empty() {
                            values.push('\n');
                        }
                        values.push_str(value);
                    }
                }
                "gdir" => {
                    let (config, dir) = tabbed();
                    git_dirs.push((config.to_owned(), dir.to_owned()));
                }
                "gm" => git_metas.extend(Meta::parse(body)),
                "gh" => git_hashes.extend(hash_line(body)),
                "payload" => {
                    let (hook, rest) = tabbed();
                    if let Some((path, digest)) = rest.rsplit_once(' ') {
                        surface.insert(
                            kind::PAYLOAD,
                            format!("{hook}\t{path}"),
                            format!("sha256:{digest}"),
                        );
                    }
                }
                "conn" => {
                    let (peer, programs) = tabbed();
                    let mut programs: Vec<&str> = programs.split_whitespace().collect();
                    programs.sort_unstable();
                    programs.dedup();
                    surface.insert(kind::CONNECTION, peer, programs.join(" "));
                }
                "pkg" => surface.insert(kind::PACKAGE, tabbed().0, tabbed().1),
                "dm" => script_metas.extend(Meta::parse(body)),
                "webroot" => surface.insert(kind::WEB_ROOT, tabbed().0, tabbed().1),
                "wm" => web_metas.extend(Meta::parse(body)),
                "own" => collected.reassigned.push(body.to_owned()),
                "scope" => surface.scope = Some(body.to_owned()),
                "ms" => collected.remote_ms = body.trim().parse().ok(),
                "wp" => surface.insert(kind::WORDPRESS, tabbed().0, tabbed().1),
                "wp-error" => surface.insert(kind::WORDPRESS, "error", body),
                "end" => collected.complete = true,
                _ => {}
            }
        }
        for meta in metas {
            if let Some((path, state)) = meta.state(&hashes) {
                surface.insert(kind::FILE, path, state.text());
            }
        }
        // Maintainer scripts and web files are recorded by metadata only (no digests).
        for (item_kind, metas) in [
            (kind::MAINTAINER_SCRIPT, script_metas),
            (kind::WEB_FILE, web_metas),
        ] {
            for meta in metas {
                if let Some((path, state)) = meta.state(&BTreeMap::new()) {
                    surface.insert(item_kind, path, state.text());
                }
            }
        }
        for meta in cms_metas {
            if let Some((path, state)) = meta.state(&cms_hashes) {
                surface.cms.insert(path, state.text());
            }
        }
        // A hook belongs to every configuration whose hooks directory holds it.
        for meta in git_metas {
            if meta.kind == 'd' {
                continue;
            }
            let Some((path, state)) = meta.state(&git_hashes) else {
                continue;
            };
            let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            for (config, _) in git_dirs.iter().filter(|(_, d)| d == dir) {
                surface.insert(kind::GIT_HOOK, format!("{config}\t{path}"), state.text());
            }
        }
        for (path, value) in setuid {
            // MODE UID GID SIZE -> MODE UID:GID SIZE DIGEST
            let mut parts = value.split(' ');
            let (mode, uid, gid, size) = (
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            let digest = hashes
                .get(&path)
                .map_or_else(|| "-".to_owned(), |h| format!("sha256:{h}"));
            surface.insert(
                kind::SETUID,
                path,
                format!("{mode} {uid}:{gid} {size} {digest}"),
            );
        }
        collected.reassigned.sort();
        collected.reassigned.dedup();
        collected
    }
}

/// The snapshot taken at provision, before the first change, stored with the grant.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    pub grant: GrantId,
    #[serde(with = "time::serde::rfc3339")]
    pub taken_at: OffsetDateTime,
    /// Salt of the shadow-line digests: it keeps them from being matched against other hosts'
    /// or guessed from a list; it is not a secret.
    pub salt: String,
    pub surface: Surface,
}

impl Baseline {
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing maps of strings cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_json(path: &Path, bytes: &[u8]) -> Result<Baseline, AuditError> {
        let baseline: Baseline =
            serde_json::from_slice(bytes).map_err(|source| AuditError::Corrupt {
                path: path.to_owned(),
                source,
            })?;
        if baseline.version != BASELINE_VERSION {
            return Err(AuditError::Corrupt {
                path: path.to_owned(),
                source: serde::de::Error::custom(format!(
                    "format version {} (this handover reads {BASELINE_VERSION})",
                    baseline.version
                )),
            });
        }
        Ok(baseline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines()
            .map(|l| {
                if l.starts_with("b ") {
                    format!("hvtag {l}")
                } else {
                    l.to_owned()
                }
            })
            .collect()
    }

    #[test]
    fn lines_become_a_surface() {
        let hash = "a".repeat(64);
        let out = lines(&format!(
            "check ok 0.x\n\
             b acct root\t0:0:x:/bin/bash:/root\n\
             b shadow root\tusable 0123 20000:0:99999:7:::\n\
             b subid /etc/subuid:admin\t100000:65536\n\
             b m f 644 0 0 12 77 1.5 /etc/cron.d/job one\t\n\
             b h {hash}  /etc/cron.d/job one\n\
             b m f 644 0 0 99999999 78 2.5 /usr/local/bin/big\t\n\
             b m l 777 0 0 7 79 3.5 /etc/systemd/system/multi-user.target.wants/x.service\t/etc/x\n\
             b m d 755 0 0 4096 80 4.5 /etc/cron.d\t\n\
             b akey SHA256:abc /root/.ssh/authorized_keys\tED25519 me@laptop\n\
             b suid /usr/bin/su\t4755 0 0 1000\n\
             b h {hash}  /usr/bin/su\n\
             b cm f 644 33 33 3 90 5.5 /var/www/cms/a.php\t\n\
             b ch {hash}  /var/www/cms/a.php\n\
             b scope /var/www/cms\n\
             b listen tcp 0.0.0.0:22\tsshd\n\
             b own /tmp/left \u{1b}[31mover\n\
             b ms 812\n\
             b end\n"
        ));
        let c = Collected::from_lines(&out, "hvtag");
        assert!(c.complete);
        // Lines without the run's tag are not the collector's.
        let forged = vec!["b end".to_owned(), "other b end".to_owned()];
        assert!(!Collected::from_lines(&forged, "hvtag").complete);
        assert_eq!(c.remote_ms, Some(812));
        let s = &c.surface;
        assert_eq!(s.kind(kind::ACCOUNT)["root"], "0:0:x:/bin/bash:/root");
        assert_eq!(s.kind(kind::SUBID)["/etc/subuid:admin"], "100000:65536");
        assert_eq!(
            s.kind(kind::FILE)["/etc/cron.d/job one"],
            format!("f 644 0:0 12 sha256:{hash}")
        );
        assert_eq!(
            s.kind(kind::FILE)["/usr/local/bin/big"],
            "f 644 0:0 99999999 inode:78 ctime:2.5"
        );
        assert_eq!(
            s.kind(kind::FILE)["/etc/systemd/system/multi-user.target.wants/x.service"],
            "l /etc/x"
        );
        assert_eq!(s.kind(kind::FILE)["/etc/cron.d"], "d 755 0:0");
        assert_eq!(
            s.kind(kind::AUTHORIZED_KEY)["/root/.ssh/authorized_keys\tSHA256:abc"],
            "ED25519 me@laptop"
        );
        assert_eq!(
            s.kind(kind::SETUID)["/usr/bin/su"],
            format!("4755 0:0 1000 sha256:{hash}")
        );
        assert_eq!(
            s.cms["/var/www/cms/a.php"],
            format!("f 644 33:33 3 sha256:{hash}")
        );
        assert_eq!(s.scope.as_deref(), Some("/var/www/cms"));
        assert_eq!(s.kind(kind::LISTENING)["tcp 0.0.0.0:22"], "sshd");
        assert_eq!(c.reassigned, vec!["/tmp/left over".to_owned()]);
        for text in s.kind(kind::FILE).values() {
            assert_eq!(
                FileState::parse(text).map(|f| f.text()).as_ref(),
                Some(text)
            );
        }
    }

    #[test]
    fn connections_packages_and_web_roots_become_items() {
        let out = lines(
            "b conn tcp 10.201.1.2:7777\tsocat bash bash\n\
             b conn udp 192.0.2.53:53\t\n\
             b pkg hv-probe:all\t1.0 installed\n\
             b pkg libc6:amd64\t2.36-9 half-configured\n\
             b dm f 755 0 0 120 501 7.25 /var/lib/dpkg/info/hv-probe.postinst\t\n\
             b webroot /srv/other\tweb DocumentRoot in /etc/apache2/sites-available/other.conf\n\
             b wm f 644 33 33 5 601 8.5 /srv/other/shell.php\t\n\
             b wm l 777 0 0 11 602 8.5 /srv/other/p.php\t/etc/passwd\n\
             b end\n",
        );
        let c = Collected::from_lines(&out, "hvtag");
        let s = &c.surface;
        // Program names sorted, once each.
        assert_eq!(
            s.kind(kind::CONNECTION)["tcp 10.201.1.2:7777"],
            "bash socat"
        );
        assert_eq!(s.kind(kind::CONNECTION)["udp 192.0.2.53:53"], "");
        assert_eq!(s.kind(kind::PACKAGE)["hv-probe:all"], "1.0 installed");
        assert_eq!(
            s.kind(kind::PACKAGE)["libc6:amd64"],
            "2.36-9 half-configured"
        );
        assert_eq!(
            s.kind(kind::MAINTAINER_SCRIPT)["/var/lib/dpkg/info/hv-probe.postinst"],
            "f 755 0:0 120 inode:501 ctime:7.25"
        );
        assert_eq!(
            s.kind(kind::WEB_ROOT)["/srv/other"],
            "web DocumentRoot in /etc/apache2/sites-available/other.conf"
        );
        assert_eq!(
            s.kind(kind::WEB_FILE)["/srv/other/shell.php"],
            "f 644 33:33 5 inode:601 ctime:8.5"
        );
        assert_eq!(s.kind(kind::WEB_FILE)["/srv/other/p.php"], "l /etc/passwd");
        // None of them is a file of the persistence surface's walk.
        assert!(s.kind(kind::FILE).is_empty());
    }

    #[test]
    fn output_cut_short_is_incomplete() {
        let c = Collected::from_lines(&lines("b acct root\t0:0:x:/bin/bash:/root\n"), "hvtag");
        assert!(!c.complete);
    }

    #[test]
    fn git_and_payload_lines_become_items() {
        let hash = "b".repeat(64);
        let out = lines(&format!(
            "b gcfg /srv/app/.git/config\tcore.fsmonitor\t/tmp/x.sh\n\
             b gcfg /etc/gitconfig\tinclude.path\t/etc/a\n\
             b gcfg /etc/gitconfig\tinclude.path\t/etc/b\n\
             b gdir /srv/app/.git/config\t/srv/app/.git/hooks\n\
             b gdir /srv/app/.git/config\t/opt/hooks\n\
             b gdir /srv/other/.git/config\t/opt/hooks\n\
             b gm d 755 0 0 4096 1 1.5 /srv/app/.git/hooks\t\n\
             b gm f 755 0 0 20 2 1.5 /srv/app/.git/hooks/post-merge\t\n\
             b gh {hash}  /srv/app/.git/hooks/post-merge\n\
             b gm f 700 0 0 9 3 1.5 /opt/hooks/pre-push\t/opt/real\n\
             b gh {hash}  /opt/hooks/pre-push\n\
             b payload /etc/cron.d/backup one\t/opt/tools/run.sh {hash}\n\
             b end\n"
        ));
        let s = Collected::from_lines(&out, "hvtag").surface;
        assert_eq!(
            s.kind(kind::GIT_CONFIG)["/srv/app/.git/config\tcore.fsmonitor"],
            "/tmp/x.sh"
        );
        assert_eq!(
            s.kind(kind::GIT_CONFIG)["/etc/gitconfig\tinclude.path"],
            "/etc/a\n/etc/b"
        );
        let hooks: Vec<(&str, &str)> = s
            .kind(kind::GIT_HOOK)
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let state = |mode, size| format!("f {mode} 0:0 {size} sha256:{hash}");
        assert_eq!(
            hooks,
            [
                (
                    "/srv/app/.git/config\t/opt/hooks/pre-push",
                    state(700, 9).as_str()
                ),
                (
                    "/srv/app/.git/config\t/srv/app/.git/hooks/post-merge",
                    state(755, 20).as_str()
                ),
                (
                    "/srv/other/.git/config\t/opt/hooks/pre-push",
                    state(700, 9).as_str()
                ),
            ]
        );
        assert_eq!(
            s.kind(kind::PAYLOAD)["/etc/cron.d/backup one\t/opt/tools/run.sh"],
            format!("sha256:{hash}")
        );
        // Hooks are not files of the surface.
        assert!(s.kind(kind::FILE).is_empty());
    }
}
