//! Integration tests: the `handover` binary against real OpenSSH sshd test hosts
//! (`scripts/testhost`), never mocks.
#![expect(
    clippy::expect_used,
    reason = "a test that cannot set up should stop with the reason"
)]

mod docs;
mod support;

mod access_request;
mod audit;
mod audit_window;
mod backup;
mod backup_db;
mod bad_input;
mod batch;
mod browser;
mod cli_docs;
#[cfg(feature = "failpoints")]
mod crash;
mod database;
mod diff;
mod drift_git;
mod drift_runtime;
mod expiry;
mod extend;
mod faults;
mod firewall;
mod host_keys;
mod jobs;
mod lifecycle;
mod login_policy;
mod manage;
mod minimal_hosts;
mod playbooks;
mod properties;
mod protocol;
mod reap;
mod recording;
mod restore;
mod rollback;
mod rotate;
mod seal;
mod sftp;
mod ssh_config;
mod sshd;
mod terminal;
mod window;
mod wordpress;
mod wp_admin;
mod wp_network;
