//! The second stage of input: the raw command line ([`crate::cli`]) turned into validated
//! requests, every value checked once, before the state directory or the network is touched.
//! Nothing downstream checks input again.

use crate::access::AccessRequest;
use crate::actions::db_sql::{valid_db_host, valid_db_name, valid_db_user};
use crate::actions::{
    self, Action, After, DbAdmin, DbEngine, DbUser, RotateDbUser, RotatePassword,
};
use crate::backup::database::DbChoice;
use crate::batch;
use crate::cli::{self, AfterArg, ConnectArgs, DbArg, LevelArg};
use crate::engine::{ConnectOptions, ProvisionRequest};
use crate::error::Error;
use crate::ids::{GrantId, GrantOrBatch};
use crate::input::{AccountName, AllowFrom, InputError, ScopeDir, Ttl};
use crate::playbook::{self, Playbook, PlaybookError};
use crate::progress::Progress;
use crate::secret::Secret;
use crate::ssh::AuthOptions;
use crate::ssh::config::{Route, SshConfig};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// `handover provision`, checked: one host or a batch.
pub struct Provision {
    /// The grant for the first host; a batch makes one per host from it.
    pub request: ProvisionRequest,
    /// Every target as given, with its route; one for a single host.
    pub hosts: Vec<(String, Route)>,
    /// Several hosts at once (or `--hosts`).
    pub batch: Option<batch::BatchOptions>,
    pub json: bool,
    pub seal_to: Option<String>,
    pub seal_out: Option<PathBuf>,
    /// `--request FILE`: what the vendor asked for, shown to the customer before anything
    /// happens.
    pub access: Option<AccessRequest>,
    /// `--yes`: provision a request without asking.
    pub yes: bool,
}

/// `handover teardown`: a grant or a batch.
pub struct Teardown {
    pub target: GrantOrBatch,
    pub connect: ConnectOptions,
    pub parallel: usize,
    pub json: bool,
    pub seal_to: Option<String>,
    pub seal_out: Option<PathBuf>,
}

/// `handover audit`.
pub struct Audit {
    pub grant: GrantId,
    pub connect: ConnectOptions,
    pub json: bool,
}

/// What `handover restore` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreMode {
    /// Change the host; `yes`: without asking.
    Apply { yes: bool },
    /// List what would change.
    DryRun,
    /// Prove the backup restores, on this machine.
    Check,
}

/// `handover restore`.
pub struct Restore {
    pub grant: GrantId,
    pub connect: ConnectOptions,
    pub parts: crate::engine::RestoreParts,
    pub mode: RestoreMode,
    pub json: bool,
}

/// `handover diff`.
pub struct Diff {
    pub grant: GrantId,
    pub connect: ConnectOptions,
    pub json: bool,
}

/// `handover reap`.
pub struct Reap {
    pub connect: ConnectOptions,
    pub parallel: usize,
    pub dry_run: bool,
    pub json: bool,
}

/// `--vendor-key`, else the `--seal-to` key (the vendor's either way): its `TYPE BASE64`.
fn vendor_key(given: Option<&str>, seal_to: Option<&str>) -> Result<Option<String>, Error> {
    let key = match (given, seal_to) {
        (Some(key), _) => crate::seal::VendorKey::parse("--vendor-key", key)?,
        (None, Some(key)) => crate::seal::VendorKey::parse("--seal-to", key)?,
        (None, None) => return Ok(None),
    };
    Ok(Some(key.openssh))
}

/// How to log in, from the command line and the environment; `known_hosts` is `--known-hosts`.
pub fn connect_options(
    args: &ConnectArgs,
    known_hosts: Option<PathBuf>,
    accept_new: bool,
) -> Result<ConnectOptions, Error> {
    let known_hosts_given = known_hosts.is_some();
    let known_hosts = match known_hosts {
        Some(path) => path,
        None => std::env::home_dir()
            .map(|home| home.join(".ssh/known_hosts"))
            .ok_or_else(|| {
                InputError::new(
                    "--known-hosts",
                    "",
                    "a known_hosts file: there is no home directory to find ~/.ssh/known_hosts in",
                )
            })?,
    };
    if args.connect_timeout == 0 || args.connect_timeout > 600 {
        return Err(InputError::new(
            "--connect-timeout",
            &args.connect_timeout.to_string(),
            "seconds from 1 to 600",
        )
        .into());
    }
    Ok(ConnectOptions {
        auth: AuthOptions {
            identity: args.identity.clone(),
            identities: Vec::new(),
            identities_only: false,
            key_passphrase: Secret::from_env("HANDOVER_KEY_PASSPHRASE"),
            password: Secret::from_env("HANDOVER_SSH_PASSWORD"),
            interactive: std::io::stdin().is_terminal(),
        },
        become_root: args.become_root,
        become_password: Secret::from_env("HANDOVER_BECOME_PASSWORD"),
        known_hosts,
        known_hosts_given,
        accept_new_host_key: accept_new,
        connect_timeout: Duration::from_secs(args.connect_timeout),
    })
}

/// `--playbook` wins; `--level root` alone means linux-root; both must agree.
fn playbook_name(playbook: Option<&str>, level: Option<LevelArg>) -> Result<String, Error> {
    match (playbook, level) {
        (Some(name), None) => Ok(name.to_owned()),
        (None, Some(LevelArg::Root)) => Ok("linux-root".to_owned()),
        (None, _) => Ok(playbook::DEFAULT.to_owned()),
        (Some(name), Some(level)) => {
            let level = match level {
                LevelArg::User => "user",
                LevelArg::Root => "root",
            };
            let loaded = Playbook::load(name)?;
            if loaded.level.as_str() == level {
                Ok(name.to_owned())
            } else {
                Err(InputError::new(
                    "--level",
                    level,
                    format!(
                        "the level of playbook `{name}` ({}), or leave --level out",
                        loaded.level.as_str()
                    ),
                )
                .into())
            }
        }
    }
}

fn after(arg: AfterArg) -> After {
    match arg {
        AfterArg::Restore => After::Restore,
        AfterArg::Rotate => After::Rotate,
    }
}

/// `--rotate ACCOUNT`…: the lent accounts, checked before anything happens.
fn rotations(accounts: &[String], after: After, allow_root: bool) -> Result<Vec<Action>, Error> {
    let mut seen = Vec::new();
    for account in accounts {
        // Existing accounts may have any name a system allows; the pattern still keeps
        // shell and option characters out.
        let ok = account.len() <= 32
            && account
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && account.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.')
            });
        if !ok {
            return Err(InputError::new(
                "--rotate",
                account,
                "an existing account's name, like `admin`",
            )
            .into());
        }
        if account == "root" && !allow_root {
            return Err(InputError::new(
                "--rotate",
                account,
                "an account other than root; lending root's password needs --allow-root-rotation",
            )
            .into());
        }
        if seen.contains(account) {
            return Err(InputError::new("--rotate", account, "each account once").into());
        }
        seen.push(account.clone());
    }
    Ok(seen
        .into_iter()
        .map(|account| Action::RotatePassword(RotatePassword { account, after }))
        .collect())
}

/// The database actions and how they reach the server, checked before anything happens.
struct Databases {
    actions: Vec<Action>,
    admin: DbAdmin,
    admin_password: Option<Secret>,
}

/// `--db-admin-password-env VAR`: the variable's name, and its value.
fn db_admin_password(var: &str) -> Result<Secret, Error> {
    let ok = !var.is_empty()
        && var.len() <= 64
        && var
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !var.starts_with(|c: char| c.is_ascii_digit());
    if !ok {
        return Err(InputError::new(
            "--db-admin-password-env",
            var,
            "the name of an environment variable, like DB_ADMIN_PASSWORD",
        )
        .into());
    }
    let Some(password) = Secret::from_env(var) else {
        return Err(InputError::new(
            "--db-admin-password-env",
            var,
            format!(
                "a variable that is set: export {var} with the database administrator's password"
            ),
        )
        .into());
    };
    // Option and service files end a value at the line's end; PostgreSQL's service files
    // also drop spaces at either end.
    if password.expose().contains(['\n', '\r', '\0'])
        || password.expose().trim() != password.expose()
    {
        return Err(InputError::new(
            "--db-admin-password-env",
            var,
            "a password without line breaks or spaces at either end",
        )
        .into());
    }
    Ok(password)
}

/// `--rotate-db-user NAME[@HOST]`…: lent MariaDB/MySQL accounts, never the administrator's.
fn lent_db_users(args: &cli::ProvisionArgs, admin: &DbAdmin) -> Result<Vec<Action>, Error> {
    let mut list = Vec::new();
    let after = after(args.after);
    let admin_name = args
        .db_admin_user
        .clone()
        .unwrap_or_else(|| DbEngine::Mysql.default_admin().to_owned());
    let mut seen: Vec<(String, String)> = Vec::new();
    for value in &args.rotate_db_user {
        let (user, host) = value.split_once('@').unwrap_or((value, "localhost"));
        if !valid_db_user(user) || !valid_db_host(host) {
            return Err(InputError::new(
                "--rotate-db-user",
                value,
                "an existing MariaDB/MySQL account: NAME or NAME@HOST (host `localhost` by default)",
            )
            .into());
        }
        if user == admin_name {
            return Err(InputError::new(
                "--rotate-db-user",
                value,
                format!("an account other than `{admin_name}`, which handover itself uses to administer the server"),
            )
            .into());
        }
        let key = (user.to_owned(), host.to_owned());
        if seen.contains(&key) {
            return Err(InputError::new("--rotate-db-user", value, "each account once").into());
        }
        seen.push(key);
        list.push(Action::RotateDbUser(RotateDbUser {
            user: user.to_owned(),
            host: host.to_owned(),
            after,
            admin: admin.clone(),
        }));
    }
    Ok(list)
}

/// `--db`'s engine.
fn db_engine(args: &cli::ProvisionArgs) -> Option<DbEngine> {
    args.db.map(|db| match db {
        DbArg::Mysql | DbArg::Mariadb => DbEngine::Mysql,
        DbArg::Postgres | DbArg::Postgresql => DbEngine::Postgres,
    })
}

/// `--backup-db [ENGINE:]NAME|none`: which database the backup dumps with the scope's files;
/// without it, `--db-name`'s (with `--db`), else the one the CMS config in the scope names.
fn backup_db(args: &cli::ProvisionArgs, scope: Option<&ScopeDir>) -> Result<DbChoice, Error> {
    let engine = db_engine(args);
    let Some(value) = args.backup_db.as_deref() else {
        if args.no_backup || scope.is_none() {
            return Ok(DbChoice::None);
        }
        return Ok(match (engine, &args.db_name) {
            (Some(engine), Some(name)) if valid_db_name(name) => DbChoice::Named {
                engine,
                name: name.clone(),
                from: "--db-name".to_owned(),
            },
            _ => DbChoice::FromConfig {
                engine: engine.unwrap_or(DbEngine::Mysql),
            },
        });
    };
    if scope.is_none() {
        return Err(InputError::new(
            "--backup-db",
            value,
            "only with --scope: the database is backed up with the scope's files",
        )
        .into());
    }
    if value == "none" {
        return Ok(DbChoice::None);
    }
    let (engine, name) = match value.split_once(':') {
        Some((engine, name)) => (
            DbEngine::parse(engine).ok_or_else(|| {
                InputError::new(
                    "--backup-db",
                    value,
                    "ENGINE:NAME with ENGINE `mysql` (or `mariadb`) or `postgres` (or `postgresql`)",
                )
            })?,
            name,
        ),
        None => (engine.unwrap_or(DbEngine::Mysql), value),
    };
    if !valid_db_name(name) {
        return Err(InputError::new(
            "--backup-db",
            value,
            "[ENGINE:]NAME with a database name matching ^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$, or `none`",
        )
        .into());
    }
    Ok(DbChoice::Named {
        engine,
        name: name.to_owned(),
        from: "--backup-db".to_owned(),
    })
}

/// `--db`, `--db-name`, `--rotate-db-user`, `--db-admin-user`, `--db-admin-password-env`.
fn databases(
    args: &cli::ProvisionArgs,
    account: &AccountName,
    scope: Option<&ScopeDir>,
    playbook: &Playbook,
    backup_db: &DbChoice,
) -> Result<Databases, Error> {
    let engine = db_engine(args);
    let uses_db = engine.is_some()
        || !args.rotate_db_user.is_empty()
        || playbook.has_db_user()
        || *backup_db != DbChoice::None;
    if !uses_db && (args.db_admin_user.is_some() || args.db_admin_password_env.is_some()) {
        return Err(InputError::new(
            "--db-admin-user",
            args.db_admin_user.as_deref().unwrap_or(""),
            "only with --db, --rotate-db-user, a database playbook or a database in the backup (--scope without --no-backup)",
        )
        .into());
    }
    if let Some(user) = &args.db_admin_user
        && !valid_db_user(user)
    {
        return Err(InputError::new(
            "--db-admin-user",
            user,
            "a database account name matching ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$",
        )
        .into());
    }
    let admin_password = args
        .db_admin_password_env
        .as_deref()
        .map(db_admin_password)
        .transpose()?;
    let admin = DbAdmin {
        user: args.db_admin_user.clone(),
        password_env: args.db_admin_password_env.clone(),
    };
    let mut list = Vec::new();
    if let Some(engine) = engine {
        let database = match &args.db_name {
            Some(name) if valid_db_name(name) => Some(name.clone()),
            Some(name) => {
                return Err(InputError::new(
                    "--db-name",
                    name,
                    "a database name matching ^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$",
                )
                .into());
            }
            None if scope.is_some() => None,
            None => {
                return Err(InputError::new(
                    "--db",
                    engine.as_str(),
                    "--db-name NAME, or --scope pointing at a CMS whose config names its database",
                )
                .into());
            }
        };
        list.push(Action::DbUser(DbUser {
            engine,
            database,
            database_from: None,
            config_dir: scope.map(|s| s.as_str().to_owned()),
            user: account.to_string(),
            admin: admin.clone(),
        }));
    }
    list.extend(lent_db_users(args, &admin)?);
    Ok(Databases {
        actions: list,
        admin,
        admin_password,
    })
}

/// `--rotate-wp-user LOGIN`: lend an existing WordPress user of the site in the scope.
fn wp_lend(login: &str, scope: Option<&ScopeDir>, after: After) -> Result<Action, Error> {
    let Some(scope) = scope else {
        return Err(InputError::new(
            "--rotate-wp-user",
            login,
            "--scope pointing at the WordPress site's directory",
        )
        .into());
    };
    if !actions::valid_wp_login(login) {
        return Err(InputError::new(
            "--rotate-wp-user",
            login,
            "a WordPress login: up to 60 letters, digits, spaces, `_`, `.`, `-` and `@`",
        )
        .into());
    }
    Ok(Action::WpLend(actions::WpLend {
        site: scope.as_str().to_owned(),
        login: login.to_owned(),
        after,
    }))
}

/// `--wp-admin`: a temporary WordPress administrator of the site in the scope.
fn wp_admin(
    args: &cli::ProvisionArgs,
    account: &AccountName,
    scope: Option<&ScopeDir>,
    playbook: &Playbook,
) -> Result<Action, Error> {
    let Some(scope) = scope else {
        return Err(InputError::new(
            "--wp-admin",
            "",
            "--scope pointing at the WordPress site's directory",
        )
        .into());
    };
    if playbook.has_wp_admin() {
        return Err(InputError::new(
            "--wp-admin",
            playbook.name.as_str(),
            "a playbook without its own WordPress administrator (this one has one)",
        )
        .into());
    }
    let reassign = args.wp_reassign.clone().unwrap_or_default();
    if !reassign.is_empty() && !actions::valid_wp_login(&reassign) {
        return Err(InputError::new(
            "--wp-reassign",
            &reassign,
            "a WordPress login: up to 60 letters, digits, spaces, `_`, `.`, `-` and `@`",
        )
        .into());
    }
    let network_site = args.wp_site.clone().unwrap_or_default();
    if !network_site.is_empty() && !actions::valid_site_url(&network_site) {
        return Err(InputError::new(
            "--wp-site",
            &network_site,
            "the address of one site of the WordPress network, like http://example.org/shop/",
        )
        .into());
    }
    Ok(Action::WpAdmin(actions::WpAdmin {
        site: scope.as_str().to_owned(),
        login: account.to_string(),
        reassign,
        network_site,
        super_admin: args.wp_super_admin,
        login_url: None,
    }))
}

impl Provision {
    /// Check everything `provision` was given; `progress` hears about skipped ssh config lines.
    pub fn from_args(
        mut args: cli::ProvisionArgs,
        progress: &Progress,
    ) -> Result<Provision, Error> {
        // A request stands for the options it fills in (clap refuses them beside it).
        let access = args
            .request
            .as_deref()
            .map(AccessRequest::load)
            .transpose()?;
        if let Some(access) = &access {
            args.scope = access.scope.as_ref().map(|s| s.as_str().to_owned());
            args.ttl = access.ttl.clone();
            args.allow_from = access.from.iter().map(ToString::to_string).collect();
            args.seal_to = Some(access.key.clone());
            args.db = access.database.as_deref().map(|d| match d {
                "postgres" => cli::DbArg::Postgres,
                _ => cli::DbArg::Mysql,
            });
            args.wp_admin = access.cms.is_some();
        }
        let default_login = std::env::var("USER").unwrap_or_else(|_| "root".to_owned());
        let ssh_config = SshConfig::load(args.ssh_config.as_deref())?;
        if let Some(config) = &ssh_config
            && !config.skipped_match_lines.is_empty()
        {
            progress.say(format!(
                "warning: ssh config `{}`: Match blocks are not supported and were skipped (line {})",
                config.path().display(),
                config
                    .skipped_match_lines
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let hosts = batch::resolve_targets(
            &args.targets,
            args.hosts.as_deref(),
            ssh_config.as_ref(),
            &default_login,
        )?;
        let is_batch = hosts.len() > 1 || args.hosts.is_some();
        let parallel = batch::parallel(args.parallel)?;
        let ttl = Ttl::parse(&args.ttl)?;
        let account = match &args.account {
            Some(name) => AccountName::parse("--account", name)?,
            None => AccountName::generate(),
        };
        let scope = args.scope.as_deref().map(ScopeDir::parse).transpose()?;
        let allow_from = AllowFrom::parse_all(&args.allow_from)?;
        let playbook = Playbook::load(&playbook_name(args.playbook.as_deref(), args.level)?)?;
        if let Some(access) = &access {
            access.within(&playbook)?;
        }
        // Only a new account gets the sshd restriction; silently letting a lent account log
        // in from anywhere would betray what the option promises.
        if !allow_from.is_empty() && !playbook.creates_account() && !args.open_firewall {
            return Err(PlaybookError::Invalid {
                name: playbook.name,
                message: "it creates no account, so --allow-from has nothing to limit: leave it out, or add --open-firewall to let those addresses through the host's firewall".to_owned(),
            }
            .into());
        }
        if playbook.requires_scope && scope.is_none() {
            return Err(PlaybookError::ScopeRequired {
                name: playbook.name,
            }
            .into());
        }
        let params = args
            .params
            .iter()
            .map(|p| {
                p.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or_else(|| InputError::new("--param", p, "NAME=VALUE"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let connect = connect_options(
            &args.connect,
            args.known_hosts.clone(),
            args.accept_new_host_key,
        )?;
        let mut extra_actions =
            rotations(&args.rotate, after(args.after), args.allow_root_rotation)?;
        let backup_db = backup_db(&args, scope.as_ref())?;
        let db = databases(&args, &account, scope.as_ref(), &playbook, &backup_db)?;
        extra_actions.extend(db.actions);
        if args.wp_admin {
            extra_actions.push(wp_admin(&args, &account, scope.as_ref(), &playbook)?);
        }
        for login in &args.rotate_wp_user {
            extra_actions.push(wp_lend(login, scope.as_ref(), after(args.after))?);
        }
        if args.open_firewall {
            extra_actions.push(Action::Firewall(actions::Firewall {
                sources: allow_from.iter().map(ToString::to_string).collect(),
            }));
        }
        let batch = is_batch.then_some(batch::BatchOptions {
            parallel,
            distinct: args.distinct_credentials,
            account_given: args.account.is_some(),
        });
        let request = ProvisionRequest {
            route: hosts[0].1.clone(),
            playbook,
            account,
            scope,
            ttl,
            params,
            allow_from,
            password_login: args.password_login,
            record: match args.record {
                cli::RecordArg::Auto => actions::RecordMode::Auto,
                cli::RecordArg::Require => actions::RecordMode::Require,
                cli::RecordArg::Off => actions::RecordMode::Off,
            },
            vendor_key: vendor_key(args.vendor_key.as_deref(), args.seal_to.as_deref())?,
            extra_actions,
            lend_after: after(args.after),
            db_admin: db.admin,
            db_admin_password: db.admin_password,
            connect,
            baseline: !args.no_baseline,
            backup: !args.no_backup,
            verify_backup: args.verify_backup,
            backup_on_host: args.backup_on_host,
            backup_db,
            batch: None,
            requester: access.as_ref().map(|a| a.requester.clone()),
            password: None,
        };
        Ok(Provision {
            request,
            hosts,
            batch,
            json: args.json,
            seal_to: args.seal_to,
            seal_out: args.seal_out,
            access,
            yes: args.yes,
        })
    }
}

impl Teardown {
    pub fn from_args(args: cli::TeardownArgs) -> Result<Teardown, Error> {
        let target = GrantOrBatch::parse(&args.grant)?;
        let parallel = match target {
            GrantOrBatch::Batch(_) => {
                if args.seal_to.is_some() {
                    return Err(InputError::new(
                        "--seal-to",
                        "",
                        "a single grant: tear down a batch without --seal-to",
                    )
                    .into());
                }
                batch::parallel(args.parallel)?
            }
            GrantOrBatch::Grant(_) => args.parallel,
        };
        Ok(Teardown {
            target,
            connect: connect_options(&args.connect, None, false)?,
            parallel,
            json: args.json,
            seal_to: args.seal_to,
            seal_out: args.seal_out,
        })
    }
}

impl Audit {
    pub fn from_args(args: cli::AuditArgs) -> Result<Audit, Error> {
        Ok(Audit {
            grant: GrantId::parse(&args.grant)?,
            connect: connect_options(&args.connect, None, false)?,
            json: args.json,
        })
    }
}

impl Restore {
    pub fn from_args(args: cli::RestoreArgs) -> Result<Restore, Error> {
        let grant = GrantId::parse(&args.grant)?;
        let mode = if args.check {
            RestoreMode::Check
        } else if args.dry_run {
            RestoreMode::DryRun
        } else {
            // Asking needs a terminal; without one, --yes says it was meant (nothing is touched
            // before this is settled).
            let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
            if !args.yes && !terminal {
                return Err(Error::NoTerminal {
                    what: format!("confirmation to restore grant `{grant}`"),
                    hint: "pass --yes to restore without asking, or --dry-run to see what would change".to_owned(),
                });
            }
            RestoreMode::Apply { yes: args.yes }
        };
        Ok(Restore {
            grant,
            connect: connect_options(&args.connect, None, false)?,
            // Neither: everything the backup has.
            parts: crate::engine::RestoreParts {
                files: args.files || !args.db,
                db: args.db || !args.files,
                explicit: args.files || args.db,
            },
            mode,
            json: args.json,
        })
    }
}

impl Diff {
    pub fn from_args(args: cli::DiffArgs) -> Result<Diff, Error> {
        Ok(Diff {
            grant: GrantId::parse(&args.grant)?,
            connect: connect_options(&args.connect, None, false)?,
            json: args.json,
        })
    }
}

impl Reap {
    pub fn from_args(args: cli::ReapArgs) -> Result<Reap, Error> {
        Ok(Reap {
            parallel: batch::parallel(args.parallel)?,
            connect: connect_options(&args.connect, None, false)?,
            dry_run: args.dry_run,
            json: args.json,
        })
    }
}
