//! The documents handover prints with `--json` and keeps on disk (the grant record), typed, so
//! that a test reads `report.verified` rather than picking `["verified"]` out of JSON. Each
//! displays as the JSON it stands for (`{:#}` pretty), for assertion messages.
//!
//! Optional fields are `Option` where handover prints `null` or leaves them out; a field that
//! handover stops printing fails every test that parses the document.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Parse `text` as a `T`; panics with the text when it is not one.
#[track_caller]
pub fn parse<T: DeserializeOwned>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|e| {
        panic!(
            "not a {} ({e}):\n{text}",
            std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("document")
        )
    })
}

/// The value on the line labelled `label` of a credentials document as provision prints it
/// without `--json`, or as a sealed document holds it (`grant      20261123-abcdef`).
#[track_caller]
pub fn labelled<'a>(doc: &'a str, label: &str) -> &'a str {
    doc.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{label}` in:\n{doc}"))
}

/// `Display` as the JSON the document stands for.
macro_rules! shown_as_json {
    ($($name:ident),* $(,)?) => {$(
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let text = if f.alternate() {
                    serde_json::to_string_pretty(self)
                } else {
                    serde_json::to_string(self)
                };
                f.write_str(&text.map_err(|_| std::fmt::Error)?)
            }
        }
    )*};
}

shown_as_json!(
    Provisioned,
    Database,
    TeardownReport,
    Check,
    Drift,
    DriftItem,
    Cms,
    AuditReport,
    Batch,
    BatchHost,
    Teardowns,
    GrantTeardown,
    Listed,
    Summary,
    Shown,
    Record,
    RecordAction,
    ErrorReport,
);

/// The value of `field` of `doc`, which this test expects to be there.
#[track_caller]
fn present<'a>(value: Option<&'a String>, field: &str, doc: &dyn std::fmt::Display) -> &'a str {
    value
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no `{field}` in {doc}"))
}

/// The password of `account` in a map of passwords, which this test expects to be there.
#[track_caller]
fn password_of<'a>(
    passwords: &'a BTreeMap<String, Option<String>>,
    account: &str,
    doc: &dyn std::fmt::Display,
) -> &'a str {
    present(
        passwords.get(account).and_then(Option::as_ref),
        account,
        doc,
    )
}

/// `fn FIELD(&self) -> &str` for optional fields a test expects to be there: it panics with
/// the document when the field is absent.
macro_rules! expected {
    ($doc:ident: $($field:ident),+) => {
        impl $doc {$(
            #[track_caller]
            pub fn $field(&self) -> &str {
                present(self.$field.as_ref(), stringify!($field), self)
            }
        )+}
    };
}

expected!(Provisioned: account, password);
expected!(Database: password);
expected!(BatchHost: grant, account, password, error);

/// `handover provision --json` of one grant (and, with a few more fields, each host of a batch).
#[derive(Debug, Serialize, Deserialize)]
pub struct Provisioned {
    #[serde(rename = "grant")]
    pub id: String,
    pub host: String,
    pub port: u16,
    pub host_key_fingerprint: String,
    /// The temporary account; `None` for a playbook that creates none (`lend`, composr).
    pub account: Option<String>,
    /// Its password; `None` when sealed or when there is no account.
    pub password: Option<String>,
    /// The fingerprint of the vendor's key the account also logs in with.
    pub vendor_key: Option<String>,
    /// The backup of the scope taken before the first change.
    pub backup: Option<Backup>,
    /// Lent accounts and their passwords for the window (`--rotate`, `--rotate-db-user`).
    pub lent: BTreeMap<String, Option<String>>,
    pub databases: Vec<Database>,
    /// Temporary CMS accounts (a WordPress administrator).
    #[serde(default)]
    pub cms_accounts: Vec<CmsAccount>,
    pub expires_at: String,
    pub level: String,
    pub scope: Option<String>,
    pub playbook: String,
    pub allow_from: Vec<String>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    pub sealed: Option<String>,
    pub sealed_file: Option<String>,
}

impl Provisioned {
    /// Whether the account's sessions are recorded: not where the host cannot record (sudo
    /// older than 1.9.8: Debian 11), which provision names in a warning.
    pub fn recorded(&self) -> bool {
        !self.warnings.iter().any(|w| w.contains("not recorded"))
    }

    /// The password `account` is lent with for the window.
    #[track_caller]
    pub fn lent(&self, account: &str) -> &str {
        password_of(&self.lent, account, self)
    }

    /// The one temporary database account; its user is the temporary account's name.
    #[track_caller]
    pub fn database(&self) -> &Database {
        let [db] = self.databases.as_slice() else {
            panic!("not one database in {self}")
        };
        assert_eq!(db.user, self.account(), "{self}");
        db
    }

    #[track_caller]
    pub fn expires_at(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::parse(
            &self.expires_at,
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap_or_else(|e| panic!("expires_at is not RFC 3339 ({e}): {self}"))
    }
}

/// A temporary CMS account of a grant.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CmsAccount {
    pub cms: String,
    pub login_url: String,
    pub user: String,
    pub password: Option<String>,
}

/// A temporary database account of a grant.
#[derive(Debug, Serialize, Deserialize)]
pub struct Database {
    pub engine: String,
    pub database: Option<String>,
    pub database_from: Option<String>,
    pub user: String,
    pub host: String,
    pub password: Option<String>,
}

impl Database {
    #[track_caller]
    pub fn name(&self) -> &str {
        present(self.database.as_ref(), "database", self)
    }
}

/// `handover teardown GRANT --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TeardownReport {
    pub grant: String,
    pub state: String,
    pub already_revoked: bool,
    pub verified: bool,
    pub checks: Vec<Check>,
    /// Files in the scope handed to the scope's owner.
    pub reassigned: Vec<String>,
    /// Lent accounts' new passwords (`--after rotate`); `None` when sealed.
    pub new_passwords: BTreeMap<String, Option<String>>,
    pub sealed: Option<String>,
    pub sealed_file: Option<String>,
    pub reassigned_to_root: Vec<String>,
    /// Processes of the window's logins ended, whatever user they ran as.
    pub processes_ended: Vec<WindowProcess>,
    /// System services restarted during the window, left running.
    pub left_running: Vec<WindowProcess>,
    pub warnings: Vec<String>,
    /// How the site differs from its backup, in counts.
    pub site: Option<SiteChanges>,
    pub drift: Option<Drift>,
}

/// Teardown's counts of what changed in the site since its backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteChanges {
    pub files_added: usize,
    pub files_changed: usize,
    pub files_removed: usize,
    pub tables_added: Option<usize>,
    pub tables_changed: Option<usize>,
    pub tables_removed: Option<usize>,
}

/// A backup of the scope, in provision's report.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    pub dir: String,
    pub scope: String,
    pub entries: usize,
    pub stream_bytes: u64,
    pub stream_sha256: String,
    pub archive_bytes: u64,
    /// The site's database, dumped with the files.
    pub database: Option<DbDump>,
    /// Why no database was dumped.
    pub database_skipped: Option<String>,
    /// Provision proved it restores (`--verify-backup`).
    #[serde(default)]
    pub verified: bool,
    /// Where the archive is on the host (`--backup-on-host`).
    pub on_host: Option<String>,
    /// That archive's SHA-256.
    pub archive_sha256: Option<String>,
}

/// The database's dump in a backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbDump {
    pub engine: String,
    pub name: String,
    pub name_from: String,
    pub admin: serde_json::Value,
    pub file: String,
    pub schema_file: String,
    pub stream_bytes: u64,
    pub stream_sha256: String,
    pub archive_bytes: u64,
    pub tables: BTreeMap<String, TableStats>,
    #[serde(default)]
    pub non_transactional: Vec<String>,
    #[serde(default)]
    pub changed_during_dump: Vec<String>,
}

/// One table's rows at dump time.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TableStats {
    pub rows: u64,
    pub checksum: String,
}

/// A process of the window, in a teardown report.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowProcess {
    pub pid: u32,
    pub user: String,
    pub command: String,
    pub sockets: Vec<String>,
    pub restart: Option<String>,
}

impl TeardownReport {
    #[track_caller]
    pub fn new_password(&self, account: &str) -> &str {
        password_of(&self.new_passwords, account, self)
    }

    #[track_caller]
    pub fn drift(&self) -> &Drift {
        self.drift
            .as_ref()
            .unwrap_or_else(|| panic!("no drift report in {self}"))
    }

    pub fn failed_checks(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.ok).collect()
    }
}

/// One verification of a teardown.
#[derive(Debug, Serialize, Deserialize)]
pub struct Check {
    pub check: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// The drift report of a teardown or an audit.
#[derive(Debug, Serialize, Deserialize)]
pub struct Drift {
    pub checked: bool,
    /// `no drift detected`, `drift detected` or `not checked`.
    pub status: String,
    pub reason: Option<String>,
    pub persistence: Vec<DriftItem>,
    pub cms: Option<Cms>,
    #[serde(default)]
    pub warnings: Vec<String>,
    pub baseline_taken_at: Option<String>,
}

impl Drift {
    /// Whether a persistence item at `path` (at any path for `None`) has a text that says every
    /// one of `words`.
    pub fn reports(&self, path: Option<&str>, words: &[&str]) -> bool {
        self.persistence.iter().any(|item| {
            path.is_none_or(|path| item.path == path)
                && words.iter().all(|word| item.text.contains(word))
        })
    }

    /// The paths of the persistence items, in the order reported.
    pub fn paths(&self) -> Vec<&str> {
        self.persistence.iter().map(|i| i.path.as_str()).collect()
    }

    #[track_caller]
    pub fn cms(&self) -> &Cms {
        self.cms
            .as_ref()
            .unwrap_or_else(|| panic!("no CMS part in {self}"))
    }
}

/// One change on the persistence surface.
#[derive(Debug, Serialize, Deserialize)]
pub struct DriftItem {
    pub category: String,
    pub path: String,
    pub change: String,
    pub text: String,
}

/// What changed in the CMS directory during the window.
#[derive(Debug, Serialize, Deserialize)]
pub struct Cms {
    pub scope: String,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub review: Vec<String>,
    /// WordPress content added, edited or deleted (absent when none).
    #[serde(default)]
    pub content: Vec<String>,
}

/// `handover audit GRANT --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditReport {
    pub grant: String,
    pub state: String,
    pub drift: Drift,
}

/// `handover provision --json` of several hosts: one batch.
#[derive(Debug, Serialize, Deserialize)]
pub struct Batch {
    pub batch: String,
    pub ok: bool,
    pub exit_code: i32,
    pub succeeded: usize,
    pub failed: usize,
    pub hosts: Vec<BatchHost>,
}

/// One host of a batch: what provision printed for it, or why it failed.
#[derive(Debug, Serialize, Deserialize)]
pub struct BatchHost {
    pub target: String,
    pub host: String,
    pub ok: bool,
    pub exit_code: i32,
    pub error: Option<String>,
    pub grant: Option<String>,
    /// Only for a failed host: `revoked` when rolled back, `partial` when something remains.
    pub state: Option<String>,
    pub account: Option<String>,
    pub password: Option<String>,
    /// A host's temporary CMS accounts (absent for a failed host).
    #[serde(default)]
    pub cms_accounts: Vec<CmsAccount>,
}

/// `handover teardown BATCH --json` and `handover reap --json`: the teardown of many grants.
#[derive(Debug, Serialize, Deserialize)]
pub struct Teardowns {
    pub ok: bool,
    pub exit_code: i32,
    /// Each grant torn down (absent from a dry run of reap).
    pub grants: Option<Vec<GrantTeardown>>,
    /// The batch torn down.
    pub batch: Option<String>,
    /// What reap left alone: grants whose TTL has not passed.
    pub live: Option<Vec<String>>,
    /// What a dry run of reap would tear down.
    pub expired: Option<Vec<String>>,
}

impl Teardowns {
    #[track_caller]
    pub fn grants(&self) -> &[GrantTeardown] {
        self.grants
            .as_deref()
            .unwrap_or_else(|| panic!("no `grants` in {self}"))
    }
}

/// One grant's teardown in a batch or reap.
#[derive(Debug, Serialize, Deserialize)]
pub struct GrantTeardown {
    pub grant: String,
    pub host: String,
    pub ok: bool,
    pub exit_code: i32,
    pub error: Option<String>,
    pub state: Option<String>,
}

/// `handover list --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Listed {
    pub grants: Vec<Summary>,
    pub errors: Vec<String>,
}

impl Listed {
    /// The ids of the grants in `state`.
    pub fn in_state(&self, state: &str) -> Vec<&str> {
        self.grants
            .iter()
            .filter(|g| g.state == state)
            .map(|g| g.grant.as_str())
            .collect()
    }
}

/// One grant as `list` shows it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Summary {
    pub grant: String,
    pub state: String,
    pub host: String,
    pub port: u16,
    pub account: String,
    pub playbook: String,
    pub level: String,
    pub scope: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub batch: Option<String>,
    /// The temporary CMS accounts: `cms`, `user`, `login_url` (no password).
    #[serde(default)]
    pub cms_accounts: Vec<serde_json::Value>,
}

/// `handover show GRANT --json`: the summary and the rest.
#[derive(Debug, Serialize, Deserialize)]
pub struct Shown {
    #[serde(flatten)]
    pub summary: Summary,
    pub host_key_fingerprint: String,
    pub login: String,
    pub actions: Vec<ShownAction>,
    pub events: Vec<Event>,
    pub baseline: bool,
    pub alias: Option<String>,
    pub jumps: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ShownAction {
    pub kind: String,
    pub status: String,
    pub what: String,
}

/// Something that happened to a grant.
#[derive(Debug, Serialize, Deserialize)]
pub struct Event {
    pub at: String,
    pub what: String,
}

/// A grant's record file, `STATE/grants/ID.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub state: String,
    pub host: RecordHost,
    pub playbook: String,
    pub level: String,
    pub account: String,
    pub scope: Option<String>,
    pub actions: Vec<RecordAction>,
    pub events: Vec<Event>,
    pub batch: Option<String>,
}

impl Record {
    /// The first action of `kind`.
    pub fn action(&self, kind: &str) -> Option<&RecordAction> {
        self.actions.iter().find(|a| a.kind() == kind)
    }

    /// The expiry guard: always the last action.
    #[track_caller]
    pub fn guard(&self) -> &RecordAction {
        let last = self
            .actions
            .last()
            .unwrap_or_else(|| panic!("no action in {self}"));
        assert_eq!(last.kind(), "expiry-guard", "the guard is not last: {self}");
        last
    }

    /// Whether an event's text satisfies `what`.
    pub fn has_event(&self, what: impl Fn(&str) -> bool) -> bool {
        self.events.iter().any(|e| what(&e.what))
    }
}

/// Where and how a grant's host is reached, with its pinned key.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordHost {
    pub host: String,
    pub port: u16,
    pub login: String,
    pub host_key: String,
    pub host_key_fingerprint: String,
    pub alias: Option<String>,
    #[serde(default)]
    pub identities: Vec<String>,
    /// Left out of the record when there are none.
    pub jumps: Option<Vec<RecordJump>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RecordJump {
    pub host: String,
    pub port: u16,
    pub login: String,
    pub host_key: String,
}

/// One action of a record: its parameters (`kind` and the rest), status and learned facts.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordAction {
    pub action: serde_json::Value,
    /// `pending`, `applied` or `undone`.
    pub status: String,
    #[serde(default)]
    pub facts: BTreeMap<String, String>,
}

impl RecordAction {
    pub fn kind(&self) -> &str {
        self.action["kind"].as_str().unwrap_or_default()
    }

    #[track_caller]
    pub fn fact(&self, name: &str) -> &str {
        present(self.facts.get(name), name, self)
    }
}

/// What a failed run prints on stdout with `--json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorReport {
    pub error: String,
    pub exit_code: i32,
}
