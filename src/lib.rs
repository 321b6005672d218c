//! handover: lend a vendor's support engineer temporary, scoped access to a server over SSH,
//! and take it back without leaving anything behind. See DESIGN.md for the vocabulary.

pub mod actions;
pub mod audit;
pub mod batch;
pub mod cli;
pub mod engine;
pub mod error;
pub mod failpoint;
pub mod ids;
pub mod input;
pub mod output;
pub mod playbook;
pub mod progress;
pub mod record;
pub mod seal;
pub mod secret;
pub mod shell;
pub mod ssh;
pub mod text;

use crate::cli::{Cli, Command, ConnectArgs};
use crate::engine::{ConnectOptions, ProvisionRequest};
use crate::error::{Error, ExitStatus};
use crate::ids::GrantId;
use crate::input::{AccountName, AllowFrom, ScopeDir, Ttl};
use crate::output::Progress;
use crate::playbook::Playbook;
use crate::record::Store;
use crate::secret::Secret;
use crate::ssh::AuthOptions;
use crate::ssh::config::SshConfig;
use clap::Parser;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// Parse the command line, run the command, and return the process exit code.
pub fn main_entry() -> u8 {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let json = match &cli.command {
        Command::Provision(a) => a.json,
        Command::Teardown(a) => a.json,
        Command::Audit(a) => a.json,
        Command::List(a) => a.json,
        Command::Show(a) => a.json,
        Command::Reap(a) => a.json,
        Command::Playbooks(_) | Command::Completions(_) | Command::Man => false,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("handover: error: could not start the async runtime: {e}");
            return ExitStatus::Failed.code();
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(status) => status.code(),
        Err(e) => {
            output::error(&e, json);
            e.exit_status().code()
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, _) => tracing::Level::DEBUG,
    };
    // Only handover's own events in detail: libraries (russh's packet traces, …) stay at
    // warnings, so -vv shows what runs on the host and never a library's view of the wire.
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(level.min(tracing::Level::WARN))
        .with_target("handover", level);
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(std::io::stderr().is_terminal())
                .without_time(),
        )
        .with(filter)
        .try_init();
}

fn secret_env(name: &str) -> Option<Secret> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}

fn connect_options(
    args: &ConnectArgs,
    known_hosts: Option<PathBuf>,
    accept_new: bool,
) -> Result<ConnectOptions, Error> {
    let known_hosts = match known_hosts {
        Some(path) => path,
        None => std::env::home_dir()
            .map(|home| home.join(".ssh/known_hosts"))
            .ok_or_else(|| {
                input::InputError::new(
                    "--known-hosts",
                    "",
                    "a known_hosts file: there is no home directory to find ~/.ssh/known_hosts in",
                )
            })?,
    };
    if args.connect_timeout == 0 || args.connect_timeout > 600 {
        return Err(input::InputError::new(
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
            key_passphrase: secret_env("HANDOVER_KEY_PASSPHRASE"),
            password: secret_env("HANDOVER_SSH_PASSWORD"),
            interactive: std::io::stdin().is_terminal(),
        },
        become_root: args.become_root,
        become_password: secret_env("HANDOVER_BECOME_PASSWORD"),
        known_hosts,
        accept_new_host_key: accept_new,
        connect_timeout: Duration::from_secs(args.connect_timeout),
        jumps: Vec::new(),
        alias: None,
    })
}

/// `--playbook` wins; `--level root` alone means linux-root; both must agree.
fn playbook_name(playbook: Option<&str>, level: Option<&str>) -> Result<String, Error> {
    match (playbook, level) {
        (Some(name), None) => Ok(name.to_owned()),
        (None, Some("root")) => Ok("linux-root".to_owned()),
        (None, _) => Ok(playbook::DEFAULT.to_owned()),
        (Some(name), Some(level)) => {
            let loaded = Playbook::load(name)?;
            if loaded.level.as_str() == level {
                Ok(name.to_owned())
            } else {
                Err(input::InputError::new(
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

/// `--rotate ACCOUNT`…: the lent accounts, checked before anything happens.
fn rotations(
    accounts: &[String],
    after: &str,
    allow_root: bool,
) -> Result<Vec<actions::Action>, Error> {
    let after = if after == "rotate" {
        actions::After::Rotate
    } else {
        actions::After::Restore
    };
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
            return Err(input::InputError::new(
                "--rotate",
                account,
                "an existing account's name, like `admin`",
            )
            .into());
        }
        if account == "root" && !allow_root {
            return Err(input::InputError::new(
                "--rotate",
                account,
                "an account other than root; lending root's password needs --allow-root-rotation",
            )
            .into());
        }
        if seen.contains(account) {
            return Err(input::InputError::new("--rotate", account, "each account once").into());
        }
        seen.push(account.clone());
    }
    Ok(seen
        .into_iter()
        .map(|account| actions::Action::RotatePassword(actions::RotatePassword { account, after }))
        .collect())
}

/// `--db`, `--db-name`, `--rotate-db-user`, `--db-admin-user`, `--db-admin-password-env`:
/// the database actions and how they reach the server, checked before anything happens.
struct DbRequest {
    actions: Vec<actions::Action>,
    admin: actions::DbAdmin,
    admin_password: Option<Secret>,
}

fn databases(
    args: &cli::ProvisionArgs,
    account: &AccountName,
    scope: Option<&ScopeDir>,
    playbook: &Playbook,
) -> Result<DbRequest, Error> {
    use actions::db_sql::{valid_db_host, valid_db_name, valid_db_user};
    let engine = args.db.as_deref().and_then(actions::DbEngine::parse);
    let uses_db = engine.is_some() || !args.rotate_db_user.is_empty() || playbook.has_db_user();
    if !uses_db && (args.db_admin_user.is_some() || args.db_admin_password_env.is_some()) {
        return Err(input::InputError::new(
            "--db-admin-user",
            args.db_admin_user.as_deref().unwrap_or(""),
            "only with --db, --rotate-db-user or a database playbook",
        )
        .into());
    }
    if let Some(user) = &args.db_admin_user
        && !valid_db_user(user)
    {
        return Err(input::InputError::new(
            "--db-admin-user",
            user,
            "a database account name matching ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$",
        )
        .into());
    }
    let admin_password = match &args.db_admin_password_env {
        None => None,
        Some(var) => {
            let ok = !var.is_empty()
                && var.len() <= 64
                && var
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && !var.starts_with(|c: char| c.is_ascii_digit());
            if !ok {
                return Err(input::InputError::new(
                    "--db-admin-password-env",
                    var,
                    "the name of an environment variable, like DB_ADMIN_PASSWORD",
                )
                .into());
            }
            let Some(password) = secret_env(var) else {
                return Err(input::InputError::new(
                    "--db-admin-password-env",
                    var,
                    format!("a variable that is set: export {var} with the database administrator's password"),
                )
                .into());
            };
            // Option and service files end a value at the line's end; PostgreSQL's service
            // files also drop spaces at either end.
            if password.expose().contains(['\n', '\r', '\0'])
                || password.expose().trim() != password.expose()
            {
                return Err(input::InputError::new(
                    "--db-admin-password-env",
                    var,
                    "a password without line breaks or spaces at either end",
                )
                .into());
            }
            Some(password)
        }
    };
    let admin = actions::DbAdmin {
        user: args.db_admin_user.clone(),
        password_env: args.db_admin_password_env.clone(),
    };
    let mut list = Vec::new();
    if let Some(engine) = engine {
        let database = match &args.db_name {
            Some(name) if valid_db_name(name) => Some(name.clone()),
            Some(name) => {
                return Err(input::InputError::new(
                    "--db-name",
                    name,
                    "a database name matching ^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$",
                )
                .into());
            }
            None if scope.is_some() => None,
            None => {
                return Err(input::InputError::new(
                    "--db",
                    engine.as_str(),
                    "--db-name NAME, or --scope pointing at a CMS whose config names its database",
                )
                .into());
            }
        };
        list.push(actions::Action::DbUser(actions::DbUser {
            engine,
            database,
            database_from: None,
            config_dir: scope.map(|s| s.as_str().to_owned()),
            user: account.to_string(),
            admin: admin.clone(),
        }));
    }
    let after = if args.after == "rotate" {
        actions::After::Rotate
    } else {
        actions::After::Restore
    };
    let admin_name = args
        .db_admin_user
        .clone()
        .unwrap_or_else(|| actions::DbEngine::Mysql.default_admin().to_owned());
    let mut seen: Vec<(String, String)> = Vec::new();
    for value in &args.rotate_db_user {
        let (user, host) = value.split_once('@').unwrap_or((value, "localhost"));
        if !valid_db_user(user) || !valid_db_host(host) {
            return Err(input::InputError::new(
                "--rotate-db-user",
                value,
                "an existing MariaDB/MySQL account: NAME or NAME@HOST (host `localhost` by default)",
            )
            .into());
        }
        if user == admin_name {
            return Err(input::InputError::new(
                "--rotate-db-user",
                value,
                format!("an account other than `{admin_name}`, which handover itself uses to administer the server"),
            )
            .into());
        }
        let key = (user.to_owned(), host.to_owned());
        if seen.contains(&key) {
            return Err(
                input::InputError::new("--rotate-db-user", value, "each account once").into(),
            );
        }
        seen.push(key);
        list.push(actions::Action::RotateDbUser(actions::RotateDbUser {
            user: user.to_owned(),
            host: host.to_owned(),
            after,
            admin: admin.clone(),
        }));
    }
    Ok(DbRequest {
        actions: list,
        admin,
        admin_password,
    })
}

/// `--seal-to`/`--seal-out`: the key is checked and the output file opened before the host
/// is touched, so a bad key or path fails early.
fn sealing(
    seal_to: Option<&str>,
    seal_out: Option<&std::path::Path>,
) -> Result<Option<output::Sealing>, Error> {
    let Some(key) = seal_to.map(seal::VendorKey::parse).transpose()? else {
        return Ok(None);
    };
    let out = match seal_out {
        Some(path) => Some((path.to_owned(), create_private_file(path)?)),
        None => None,
    };
    Ok(Some(output::Sealing { key, out }))
}

/// Create (or truncate) a file only its owner can read.
fn create_private_file(path: &std::path::Path) -> Result<std::fs::File, Error> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    // `mode` only applies to a new file: an existing one is narrowed to 0600 as well.
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|file| {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            Ok(file)
        })
        .map_err(|e| {
            input::InputError::new(
                "--seal-out",
                &path.display().to_string(),
                format!("a file that can be written ({e})"),
            )
            .into()
        })
}

fn open_store(dir: Option<PathBuf>) -> Result<Store, Error> {
    let dir = dir.or_else(record::default_state_dir).ok_or_else(|| {
        input::InputError::new(
            "--state-dir",
            "",
            "a directory: set --state-dir or HANDOVER_STATE_DIR (no home directory found)",
        )
    })?;
    Ok(Store::open(&dir)?)
}

async fn run(cli: Cli) -> Result<ExitStatus, Error> {
    let progress = Progress::auto(cli.quiet, cli.verbose);
    match cli.command {
        Command::Provision(args) => {
            // Validate everything before touching the state directory or the network.
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
            let (specs, routes): (Vec<String>, Vec<_>) = batch::resolve_targets(
                &args.targets,
                args.hosts.as_deref(),
                ssh_config.as_ref(),
                &default_login,
            )?
            .into_iter()
            .unzip();
            let is_batch = specs.len() > 1 || args.hosts.is_some();
            let parallel = batch::parallel(args.parallel)?;
            let target = routes[0].host.target.clone();
            let ttl = Ttl::parse(&args.ttl)?;
            let account = match &args.account {
                Some(name) => AccountName::parse("--account", name)?,
                None => AccountName::generate(),
            };
            let scope = args.scope.as_deref().map(ScopeDir::parse).transpose()?;
            let allow_from = AllowFrom::parse_all(&args.allow_from)?;
            let playbook = Playbook::load(&playbook_name(
                args.playbook.as_deref(),
                args.level.as_deref(),
            )?)?;
            // Only a new account gets the sshd restriction; silently letting a lent account log
            // in from anywhere would betray what the option promises.
            if !allow_from.is_empty() && !playbook.creates_account() && !args.open_firewall {
                return Err(playbook::PlaybookError::Invalid {
                    name: playbook.name,
                    message: "it creates no account, so --allow-from has nothing to limit: leave it out, or add --open-firewall to let those addresses through the host's firewall".to_owned(),
                }
                .into());
            }
            if playbook.requires_scope && scope.is_none() {
                return Err(playbook::PlaybookError::ScopeRequired {
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
                        .ok_or_else(|| input::InputError::new("--param", p, "NAME=VALUE"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let connect = connect_options(
                &args.connect,
                args.known_hosts.clone(),
                args.accept_new_host_key,
            )?;
            let mut extra_actions = rotations(&args.rotate, &args.after, args.allow_root_rotation)?;
            let db = databases(&args, &account, scope.as_ref(), &playbook)?;
            extra_actions.extend(db.actions);
            if args.open_firewall {
                extra_actions.push(actions::Action::Firewall(actions::Firewall {
                    sources: allow_from.iter().map(ToString::to_string).collect(),
                }));
            }
            let store = open_store(cli.state_dir)?;
            let sealing = sealing(args.seal_to.as_deref(), args.seal_out.as_deref())?;
            let connect = batch::connect_for(&connect, &routes[0], args.known_hosts.is_some());
            let request = ProvisionRequest {
                target,
                playbook,
                account,
                scope,
                ttl,
                params,
                allow_from,
                extra_actions,
                db_admin: db.admin,
                db_admin_password: db.admin_password,
                connect,
                baseline: !args.no_baseline,
                batch: None,
                password: None,
            };
            if is_batch {
                let options = batch::BatchOptions {
                    parallel,
                    distinct: args.distinct_credentials,
                    account_given: args.account.is_some(),
                    known_hosts_given: args.known_hosts.is_some(),
                };
                let hosts = specs.into_iter().zip(routes).collect();
                let (id, outcomes) =
                    batch::provision(&store, request, hosts, &options, &progress).await;
                progress.clear();
                return batch::print_provisioned(
                    &store,
                    &id,
                    &outcomes,
                    args.json,
                    sealing,
                    args.distinct_credentials,
                )
                .map_err(|source| Error::Handover {
                    grant: id.to_string(),
                    source,
                });
            }
            let provisioned = engine::provision(&store, request, &progress).await?;
            progress.clear();
            tracing::info!(
                executions = provisioned.remote_executions,
                "remote executions for provision"
            );
            let grant = provisioned.record.id.to_string();
            output::provisioned(&provisioned, args.json, sealing)
                .map_err(|source| Error::Handover { grant, source })?;
            Ok(ExitStatus::Success)
        }
        Command::Teardown(args) if args.grant.starts_with("b-") => {
            let id = ids::BatchId::parse(&args.grant)?;
            if args.seal_to.is_some() {
                return Err(input::InputError::new(
                    "--seal-to",
                    "",
                    "a single grant: tear down a batch without --seal-to",
                )
                .into());
            }
            let parallel = batch::parallel(args.parallel)?;
            let connect = connect_options(&args.connect, None, false)?;
            let store = open_store(cli.state_dir)?;
            let grants = batch::grants_of(&store, &id)?;
            progress.say(format!(
                "batch {id}: tearing down {} grants, {} at a time",
                grants.len(),
                parallel.min(grants.len())
            ));
            let outcomes = batch::teardown(&store, &grants, &connect, parallel, &progress).await;
            progress.clear();
            let mut extra = serde_json::Map::new();
            extra.insert("batch".into(), serde_json::json!(id.as_str()));
            Ok(
                batch::print_teardowns(&format!("batch {id}"), &outcomes, args.json, extra)
                    .map_err(Error::Output)?,
            )
        }
        Command::Teardown(args) => {
            let id = GrantId::parse(&args.grant)?;
            let connect = connect_options(&args.connect, None, false)?;
            let sealing = sealing(args.seal_to.as_deref(), args.seal_out.as_deref())?;
            let store = open_store(cli.state_dir)?;
            let report = engine::teardown(&store, &id, &connect, &progress).await?;
            progress.clear();
            tracing::info!(
                executions = report.remote_executions,
                "remote executions for teardown"
            );
            output::teardown(&report, args.json, sealing).map_err(|source| Error::Handover {
                grant: report.grant.clone(),
                source,
            })?;
            Ok(if report.success() {
                ExitStatus::Success
            } else {
                ExitStatus::NotVerified
            })
        }
        Command::Audit(args) => {
            let id = GrantId::parse(&args.grant)?;
            let connect = connect_options(&args.connect, None, false)?;
            let store = open_store(cli.state_dir)?;
            let report = engine::audit(&store, &id, &connect, &progress).await?;
            progress.clear();
            tracing::info!(
                executions = report.remote_executions,
                "remote executions for audit"
            );
            output::audit(&report, args.json).map_err(Error::Output)?;
            Ok(if report.drift.found() {
                ExitStatus::NotVerified
            } else {
                ExitStatus::Success
            })
        }
        Command::List(args) => {
            let store = open_store(cli.state_dir)?;
            output::list(&store.list()?, args.json);
            Ok(ExitStatus::Success)
        }
        Command::Playbooks(args) => {
            match args.command.unwrap_or(cli::PlaybooksCommand::List) {
                cli::PlaybooksCommand::List => output::playbooks()?,
                cli::PlaybooksCommand::Show { name } => match Playbook::built_in_text(&name) {
                    Some(text) if !name.contains('/') => print!("{text}"),
                    _ => {
                        // Validate before printing, so `show` doubles as a check of a file.
                        Playbook::load(&name)?;
                        let text = std::fs::read_to_string(&name).map_err(|source| {
                            playbook::PlaybookError::Read {
                                path: name.clone(),
                                source,
                            }
                        })?;
                        print!("{}", output::sanitize(&text));
                    }
                },
            }
            Ok(ExitStatus::Success)
        }
        Command::Show(args) => {
            let id = GrantId::parse(&args.grant)?;
            let store = open_store(cli.state_dir)?;
            output::show(&store.load(&id)?, args.json);
            Ok(ExitStatus::Success)
        }
        Command::Reap(args) => {
            let parallel = batch::parallel(args.parallel)?;
            let connect = connect_options(&args.connect, None, false)?;
            let store = open_store(cli.state_dir)?;
            let found = batch::expired(&store, record::now())?;
            for error in &found.unreadable {
                progress.say(format!("skipped: {error}"));
            }
            let mut extra = serde_json::Map::new();
            extra.insert(
                "live".into(),
                found
                    .live
                    .iter()
                    .map(|r| r.id.to_string())
                    .collect::<Vec<_>>()
                    .into(),
            );
            extra.insert("unreadable".into(), found.unreadable.clone().into());
            if args.dry_run || found.expired.is_empty() {
                let expired: Vec<String> = found.expired.iter().map(|r| r.id.to_string()).collect();
                if args.json {
                    // A dry run lists what would be reaped; a real run with nothing to reap
                    // has the same shape as one that reaped: an empty `grants`.
                    if args.dry_run {
                        extra.insert("expired".into(), expired.clone().into());
                    } else {
                        extra.insert("grants".into(), serde_json::Value::Array(Vec::new()));
                    }
                    extra.insert("ok".into(), true.into());
                    extra.insert("exit_code".into(), 0.into());
                    output::print_json(&serde_json::Value::Object(extra));
                } else if found.expired.is_empty() {
                    println!("no expired grants ({} live)", found.live.len());
                } else {
                    for r in &found.expired {
                        println!(
                            "{} {} expired {} ({})",
                            r.id,
                            batch::host_label(r),
                            output::rfc3339(r.expires_at),
                            r.state.as_str()
                        );
                    }
                }
                return Ok(ExitStatus::Success);
            }
            progress.say(format!(
                "reaping {} expired grants ({} live left alone)",
                found.expired.len(),
                found.live.len()
            ));
            let outcomes =
                batch::teardown(&store, &found.expired, &connect, parallel, &progress).await;
            progress.clear();
            Ok(batch::print_teardowns("reap", &outcomes, args.json, extra)
                .map_err(Error::Output)?)
        }
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "handover", &mut std::io::stdout());
            Ok(ExitStatus::Success)
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .and_then(|()| std::io::Write::write_all(&mut std::io::stdout(), &page))
                .map_err(Error::Output)?;
            Ok(ExitStatus::Success)
        }
    }
}
