//! Command-line definitions (clap). Only parsing lives here; [`crate::request`] turns these
//! into validated requests.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Lend a vendor's support engineer temporary, scoped access to a server over SSH, and take it
/// back without leaving anything behind.
#[derive(Debug, Parser)]
#[command(name = "handover", version, about, long_about = None)]
pub struct Cli {
    /// Where grant records live [default: $XDG_STATE_HOME/handover or ~/.local/state/handover]
    #[arg(long, global = true, env = "HANDOVER_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Show more of what happens (-v), and the scripts run on the host with secrets redacted (-vv)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print only results and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a temporary account on a host and print its credentials once
    Provision(Box<ProvisionArgs>),
    /// End the account's sessions, remove everything the grant applied, verify, and report
    /// what drifted on the host since the baseline
    Teardown(TeardownArgs),
    /// Compare the host with the grant's baseline now (a possible back-door exits 3)
    Audit(AuditArgs),
    /// Put the scope back as the grant's backup has it (asks first; --check proves the backup
    /// restores without touching the host)
    Restore(RestoreArgs),
    /// Show what changed in the scope since the grant's backup, as a unified diff
    Diff(DiffArgs),
    /// Move a live grant's expiry (on the host and in the record, verified from the host);
    /// at most 30 days from the grant's start
    Extend(ExtendArgs),
    /// Shut a live grant without removing anything: its accounts locked, their sessions and
    /// processes ended, its firewall rules closed
    Suspend(SuspendArgs),
    /// Open a suspended grant again, as it was
    Resume(SuspendArgs),
    /// Write an access request template for a vendor to fill in (then `provision --request`)
    Request(RequestArgs),
    /// Give a live grant's logins new random passwords (or only the one named): the old ones
    /// are refused and their sessions ended; printed once, or sealed to the vendor's key
    Rotate(RotateArgs),
    /// List the grant's recorded sessions with what was typed in them and the files they
    /// transferred (during the window, copies the recordings so far first)
    Sessions(SessionsArgs),
    /// Play a recorded session back in the terminal
    Replay(ReplayArgs),
    /// Follow the vendor's terminal live, read-only, as it happens (Ctrl-C stops watching)
    Watch(WatchArgs),
    /// Write one archive of the grant's record, recordings and teardown report, with a
    /// SHA-256 manifest anyone can check (`sha256sum -c MANIFEST.sha256`)
    Export(ExportArgs),
    /// List grants
    List(JsonArg),
    /// Show one grant: host, account, actions and their state, history
    Show(ShowArgs),
    /// List the built-in playbooks, or print one
    Playbooks(PlaybooksArgs),
    /// Tear down every grant whose TTL has passed (for a cron job on your admin machine)
    Reap(ReapArgs),
    /// Remove the backups of grants revoked long enough ago (never of live grants)
    Prune(PruneArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(CompletionsArgs),
    /// Print the manual page (roff; `handover man | man -l -`), or write every page (one a
    /// subcommand too, `handover-provision.1`, …) into a directory
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove the backups of grants revoked at least this long ago (a whole number and s, m,
    /// h or d: 30d, 12h, 0s), and those a provision stopped before its record left behind
    #[arg(long, value_name = "DURATION")]
    pub older_than: String,

    /// Only list what would be removed
    #[arg(long)]
    pub dry_run: bool,

    /// Print one JSON object on stdout (the backups removed and those kept, with sizes)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReapArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// How many grants are torn down at once
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub parallel: usize,

    /// Only list the grants that would be torn down
    #[arg(long)]
    pub dry_run: bool,

    /// Print one JSON object on stdout (each grant's result, the live grants left alone)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct PlaybooksArgs {
    #[command(subcommand)]
    pub command: Option<PlaybooksCommand>,
}

#[derive(Debug, Subcommand)]
pub enum PlaybooksCommand {
    /// List the built-in playbooks (the default)
    List,
    /// Print a playbook's TOML: a built-in name or a file path containing `/`
    Show {
        #[arg(value_name = "NAME|FILE")]
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The host: `[LOGIN@]HOST[:PORT]` (IPv6 in brackets) or a Host alias of the ssh config;
    /// several hosts are provisioned concurrently as one batch
    #[arg(value_name = "[LOGIN@]HOST[:PORT]", required_unless_present = "hosts")]
    pub targets: Vec<String>,

    /// A file of targets, one per line (blank lines and `#` comments skipped): one batch with
    /// the targets given before it
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<PathBuf>,

    /// How many hosts of a batch are worked on at once
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub parallel: usize,

    /// In a batch, a different password on each host (and a different account name, unless
    /// --account); by default every host gets the same account and password
    #[arg(long)]
    pub distinct_credentials: bool,

    /// ssh client configuration to resolve host aliases with (HostName, User, Port,
    /// IdentityFile, IdentitiesOnly, UserKnownHostsFile, ProxyJump) [default: ~/.ssh/config]
    #[arg(short = 'F', long = "ssh-config", value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,

    /// The CMS directory the account may work in (read/write through ACLs)
    #[arg(long, value_name = "DIR")]
    pub scope: Option<String>,

    /// How long the access lasts: 30m, 48h, 7d (at most 30d)
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub ttl: String,

    /// Name of the temporary account [default: support- and 6 random characters]
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,

    /// Playbook to run: a built-in name (see `handover playbooks`) or a TOML file path
    /// containing `/` [default: linux-user, or linux-root with --level root]
    #[arg(long, value_name = "NAME|FILE")]
    pub playbook: Option<String>,

    /// Access level: `user`, or `root` (the linux-root playbook: sudo with the account's
    /// password; only when the vendor cannot work without it)
    #[arg(long, value_name = "LEVEL", value_enum)]
    pub level: Option<LevelArg>,

    /// A value for one of the playbook's parameters (repeatable), e.g. --param ip=203.0.113.7
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,

    /// Let the account log in only from this IPv4/IPv6 address or CIDR network (repeatable);
    /// without it, from anywhere. Forwarding and tunnels are always off for the account
    #[arg(long = "allow-from", value_name = "CIDR")]
    pub allow_from: Vec<String>,

    /// If the host runs a firewall (ufw, firewalld, iptables or nftables), let the
    /// --allow-from addresses reach sshd through it for the grant (rules of the grant's own,
    /// removed at teardown and by the expiry guard); a host without one is left alone
    #[arg(long, requires = "allow_from")]
    pub open_firewall: bool,

    /// Do not back up the scope before the first change (by default its files are copied to
    /// this machine, beside the grant's record)
    #[arg(long)]
    pub no_backup: bool,

    /// Prove the backup restores before the first change, as `handover restore --check` does:
    /// its files unpacked here and compared with the manifest, its database loaded into a
    /// temporary database on the same server and compared; provision stops if it does not
    #[arg(long, requires = "scope", conflicts_with = "no_backup")]
    pub verify_backup: bool,

    /// Keep the scope's archive on the host (root's alone, in /var/backups/handover/GRANT)
    /// instead of copying it here, for a site too big to copy; its manifest and the
    /// database's dump still come here. The vendor, with root, could delete it
    #[arg(long, requires = "scope", conflicts_with = "no_backup")]
    pub backup_on_host: bool,

    /// The database backed up with the scope: NAME (on --db's engine, else MariaDB/MySQL),
    /// mysql:NAME or postgres:NAME, or `none` for the files only [default: --db-name, else the
    /// one named in the CMS config in --scope: Composr _config.php or WordPress wp-config.php]
    #[arg(long, value_name = "NAME", conflicts_with = "no_backup")]
    pub backup_db: Option<String>,

    /// Let this account alone log in with its password where the host's SSH policy refuses
    /// password logins (PasswordAuthentication, AuthenticationMethods, AllowUsers,
    /// AllowGroups): settings in the grant's own Match block, removed at teardown. Preflight
    /// says when it is needed
    #[arg(long)]
    pub password_login: bool,

    /// Record every session of the account on the host, out of its reach (its terminal, its
    /// commands, its sudo, its sftp transfers), copied to you at teardown: `auto` records
    /// what the host allows and says what it cannot, `require` refuses a host that cannot
    /// record, `off` records nothing
    #[arg(long, value_name = "MODE", value_enum, default_value_t = RecordArg::Auto)]
    pub record: RecordArg,

    /// The vendor's SSH public key (ssh-ed25519 or RSA ≥ 2048; a .pub file or the key text):
    /// the account also logs in with it, from a file it cannot change (restricted; `from=`
    /// with --allow-from); the password stays for sudo. Default: the --seal-to key
    #[arg(long, value_name = "FILE|KEY")]
    pub vendor_key: Option<String>,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// known_hosts file to check the host key against [default: ~/.ssh/known_hosts]
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,

    /// Record an unknown host key in the known_hosts file (like OpenSSH's accept-new); a
    /// changed key is always refused
    #[arg(long)]
    pub accept_new_host_key: bool,

    /// Do not take a baseline of the host's persistence surface before the first change;
    /// teardown then skips the drift report (it still verifies the grant's own actions and hands
    /// the account's leftover files to root)
    #[arg(long)]
    pub no_baseline: bool,

    /// Print one JSON object on stdout (grant, host, port, account, password, expires_at, …)
    #[arg(long)]
    pub json: bool,

    /// Provision what the vendor's access request asks for (written by `handover request`):
    /// its scope, level, database and CMS accounts, addresses, time and key, after showing it
    /// to you; the credentials are sealed to the key in it
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["scope", "ttl", "allow_from", "seal_to", "vendor_key", "db", "wp_admin"]
    )]
    pub request: Option<PathBuf>,

    /// With --request: provision without asking (needed without a terminal)
    #[arg(long, requires = "request")]
    pub yes: bool,

    /// Lend an existing account: it gets a fresh random password for the window (repeatable;
    /// its current password hash is kept in the grant record)
    #[arg(long = "rotate", value_name = "ACCOUNT")]
    pub rotate: Vec<String>,

    /// What lent accounts get after the window: their original password back (`restore`) or
    /// a new random one shown to you at teardown (`rotate`)
    #[arg(long, value_name = "WHAT", value_enum, default_value_t = AfterArg::Restore)]
    pub after: AfterArg,

    /// Allow --rotate root (root's password is lent to the vendor)
    #[arg(long)]
    pub allow_root_rotation: bool,

    /// Lend an existing user of the WordPress site in --scope (its login): a fresh random
    /// password for the window, its logins ended; restored or rotated per --after, the
    /// window's logins ended (repeatable; its original hash is kept in the grant record)
    #[arg(long = "rotate-wp-user", value_name = "LOGIN")]
    pub rotate_wp_user: Vec<String>,

    /// Give the vendor a temporary administrator of the WordPress site in --scope too (as the
    /// wordpress-admin playbook does), beside what the playbook gives
    #[arg(long)]
    pub wp_admin: bool,

    /// With --wp-admin: the administrator who gets what the temporary one wrote, at teardown
    /// [default: the earliest administrator]
    #[arg(long, value_name = "LOGIN", requires = "wp_admin")]
    pub wp_reassign: Option<String>,

    /// With --wp-admin on a WordPress multisite network: the address of the one site it
    /// administers (like `http://example.org/shop/`)
    #[arg(long, value_name = "ADDRESS", requires = "wp_admin")]
    pub wp_site: Option<String>,

    /// With --wp-admin on a WordPress multisite network: make it a super admin of the whole
    /// network (only when support needs the network's settings)
    #[arg(long, requires = "wp_admin")]
    pub wp_super_admin: bool,

    /// Give the vendor a temporary database account: `mysql` (MariaDB/MySQL) or `postgres`,
    /// reachable from the host itself only, with a random password and all privileges on one
    /// database (--db-name, or the one named in the CMS config in --scope)
    #[arg(long, value_name = "ENGINE", value_enum)]
    pub db: Option<DbArg>,

    /// The database for --db [default: read from the CMS config in --scope: Composr
    /// _config.php or WordPress wp-config.php]
    #[arg(long, value_name = "NAME", requires = "db")]
    pub db_name: Option<String>,

    /// Lend an existing MariaDB/MySQL account (`NAME` or `NAME@HOST`, host `localhost` by
    /// default): a fresh random password for the window, restored or rotated per --after
    /// (repeatable; its stored hash is kept in the grant record)
    #[arg(long = "rotate-db-user", value_name = "NAME[@HOST]")]
    pub rotate_db_user: Vec<String>,

    /// The database administrator handover acts as [default: the host's root access: root
    /// through MariaDB's unix socket, `postgres` through `runuser -u postgres`]
    #[arg(long, value_name = "NAME")]
    pub db_admin_user: Option<String>,

    /// For servers that need a password: the environment variable (here, not on the host)
    /// holding the database administrator's password; teardown reads the same variable
    #[arg(long, value_name = "VAR")]
    pub db_admin_password_env: Option<String>,

    /// Seal the credentials to the vendor's SSH public key (ssh-ed25519 or RSA ≥ 2048; a
    /// .pub file or the key text) instead of printing the password: age format, armoured
    #[arg(long, value_name = "FILE|KEY")]
    pub seal_to: Option<String>,

    /// Write the sealed credentials to FILE instead of stdout (needs --seal-to)
    #[arg(long, value_name = "FILE", requires = "seal_to")]
    pub seal_out: Option<PathBuf>,
}

/// `teardown` and `audit`: a grant, and how to log in to its host.
#[derive(Debug, Args)]
pub struct TeardownArgs {
    /// The grant id (see `handover list`), or a batch id (`b-…`): every grant of the batch
    pub grant: String,

    /// How many grants of a batch are torn down at once
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub parallel: usize,

    /// Seal new passwords of lent accounts (`--after rotate`) to this SSH public key instead
    /// of printing them
    #[arg(long, value_name = "FILE|KEY")]
    pub seal_to: Option<String>,

    /// Write the sealed passwords to FILE instead of stdout (needs --seal-to)
    #[arg(long, value_name = "FILE", requires = "seal_to")]
    pub seal_out: Option<PathBuf>,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Print the report as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The grant id (see `handover list`)
    pub grant: String,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Print the report as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The grant id (see `handover list`)
    pub grant: String,

    /// Restore the scope's files (without --files or --db: everything the backup has)
    #[arg(long)]
    pub files: bool,

    /// Restore the database (without --files or --db: everything the backup has)
    #[arg(long)]
    pub db: bool,

    /// Only list what would change; change nothing
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,

    /// Prove the backup restores, on this machine, touching nothing of the host: unpack it into
    /// a temporary directory and compare every entry with the manifest
    #[arg(long)]
    pub check: bool,

    /// Restore without asking (needed without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Print the report as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The grant id (see `handover list`)
    pub grant: String,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Print the changes as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `handover.1` and a page for each subcommand into DIR instead of printing
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// Write it to FILE (which must not exist yet) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The grant id (see `handover list`)
    pub grant: String,

    /// Only this login: `account` (the temporary account), `db`, `wordpress`, or a lent
    /// account's name as provision printed it
    #[arg(long, value_name = "NAME")]
    pub only: Option<String>,

    /// Seal the new credentials to the vendor's SSH public key instead of printing them
    #[arg(long, value_name = "FILE|KEY")]
    pub seal_to: Option<String>,

    /// Write the sealed credentials to FILE instead of stdout (needs --seal-to)
    #[arg(long, value_name = "FILE", requires = "seal_to")]
    pub seal_out: Option<PathBuf>,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Print the result as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SuspendArgs {
    /// The grant id, or a batch id for every grant of the batch (see `handover list`)
    pub grant: String,

    /// With a batch id: how many grants are changed at once
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub parallel: usize,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Print the result as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("until_when").required(true).args(["ttl", "until"])))]
pub struct ExtendArgs {
    /// The grant id, or a batch id for every grant of the batch (see `handover list`)
    pub grant: String,

    /// The new expiry, from now (a whole number and s, m, h or d: 2h, 3d)
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,

    /// The new expiry as a time (RFC 3339: 2026-12-05T18:00:00Z)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// With a batch id: how many grants are extended at once
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub parallel: usize,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Print the result as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// The grant id (see `handover list`)
    pub grant: String,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Print the sessions as one JSON object on stdout
    #[arg(long)]
    pub json: bool,

    /// The private SSH key the recordings were sealed to at teardown (`--seal-to`); its
    /// passphrase from HANDOVER_KEY_PASSPHRASE or a prompt
    #[arg(long, value_name = "FILE")]
    pub unseal_with: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The grant id (see `handover list`)
    pub grant: String,

    /// The session's id (see `handover sessions GRANT`)
    pub session: String,

    /// Play faster (2) or slower (0.5) than it happened
    #[arg(long, default_value_t = 1.0, value_name = "N")]
    pub speed: f64,

    /// Shorten every pause longer than this many seconds to it
    #[arg(long, value_name = "SECONDS")]
    pub max_pause: Option<f64>,

    /// The private SSH key the recordings were sealed to at teardown (`--seal-to`)
    #[arg(long, value_name = "FILE")]
    pub unseal_with: Option<PathBuf>,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The grant id (see `handover list`)
    pub grant: String,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The grant id (see `handover list`)
    pub grant: String,

    /// The archive to write (a tar file; refused if it exists)
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
}

/// How to log in to the host with the customer's own credentials.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Private key file (passphrase from HANDOVER_KEY_PASSPHRASE or a prompt); without it the
    /// ssh-agent is tried, then a password (HANDOVER_SSH_PASSWORD or a prompt)
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identity: Option<PathBuf>,

    /// Use sudo when the login is not root (password from HANDOVER_BECOME_PASSWORD, else the
    /// SSH password, else a prompt)
    #[arg(long = "become")]
    pub become_root: bool,

    /// Seconds to wait for the host to answer
    #[arg(long, default_value_t = 15, value_name = "SECONDS")]
    pub connect_timeout: u64,
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The grant id
    pub grant: String,

    /// Print JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// `--level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    User,
    Root,
}

/// `--record`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RecordArg {
    Auto,
    Require,
    Off,
}

/// `--after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AfterArg {
    Restore,
    Rotate,
}

/// `--db`: each engine by either of its names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DbArg {
    Mysql,
    Mariadb,
    Postgres,
    Postgresql,
}

impl Command {
    /// Whether the command prints one JSON document on stdout (`--json`): errors then come as
    /// JSON too.
    pub fn json(&self) -> bool {
        match self {
            Command::Provision(a) => a.json,
            Command::Teardown(a) => a.json,
            Command::Audit(a) => a.json,
            Command::Restore(a) => a.json,
            Command::Diff(a) => a.json,
            Command::Sessions(a) => a.json,
            Command::Extend(a) => a.json,
            Command::Suspend(a) | Command::Resume(a) => a.json,
            Command::Rotate(a) => a.json,
            Command::List(a) => a.json,
            Command::Show(a) => a.json,
            Command::Reap(a) => a.json,
            Command::Prune(a) => a.json,
            Command::Playbooks(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Replay(_)
            | Command::Watch(_)
            | Command::Export(_)
            | Command::Request(_) => false,
        }
    }
}
