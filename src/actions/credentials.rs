//! What the vendor is handed: each action that gives a login adds its part, with its secret,
//! as the apply script is built ([`super::Step::hand_over`]). Output only renders this.

use crate::secret::Secret;

/// The secrets of one grant and the lines that present them.
#[derive(Default)]
pub struct Credentials {
    /// `label value` lines of the credentials document, in plan order.
    pub lines: Vec<(&'static str, Secret)>,
    /// The temporary account's password (`password` in `--json`).
    pub password: Option<Secret>,
    /// Lent accounts: the name the customer knows them by, and the window's password.
    pub lent: Vec<(String, Secret)>,
    /// Temporary database accounts.
    pub databases: Vec<DbLogin>,
    /// Temporary CMS accounts (a WordPress administrator).
    pub cms: Vec<CmsLogin>,
}

impl Credentials {
    /// Add a `label value` line; `value` may be a secret (the whole document is one).
    pub fn line(&mut self, label: &'static str, value: impl Into<String>) {
        self.lines.push((label, Secret::new(value.into())));
    }
}

/// A temporary database account.
pub struct DbLogin {
    pub engine: &'static str,
    pub database: Option<String>,
    /// The CMS config the database name was read from.
    pub database_from: Option<String>,
    pub user: String,
    pub password: Secret,
}

/// A temporary CMS account.
pub struct CmsLogin {
    /// `wordpress`.
    pub cms: &'static str,
    /// Where the vendor logs in.
    pub login_url: String,
    pub user: String,
    pub password: Secret,
}
